"""course.data's photo sets: load_cifar10 and load_flowers (the kit's JPEG archives), the decoded cache,
corrupt archives, missing data, the flowers' split and credits.

As in test_data.py: HOME and KERAS_HOME are temporary, COURSE_OFFLINE=1 and the
network fails the test if used. The real-kit tests share one Keras cache, so
CIFAR-10 is decoded once for all of them; they are skipped without the kit.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import isolate_data

import course.data as data
from course.data import jpeg_archives

REAL_KIT = os.environ.get("COURSE_DATA_DIR", "")


def _kit() -> Path:
    kit = Path(REAL_KIT) if REAL_KIT else None
    if kit is None or not (kit / "cifar10" / "cifar10-jpeg.npz").is_file():
        pytest.skip("needs the offline data kit with cifar10/ and flowers/ (COURSE_DATA_DIR)")
    return kit


@pytest.fixture(scope="module")
def shared_keras_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("keras-home")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    isolate_data(monkeypatch, tmp_path)
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def real_kit(monkeypatch, shared_keras_home):
    monkeypatch.setenv("COURSE_DATA_DIR", str(_kit()))
    monkeypatch.setenv("KERAS_HOME", str(shared_keras_home))


# -- a small archive in the kit's layout ---------------------------------------------------------------


def _jpeg(rng, shape) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_archive(path: Path, splits: dict[str, list[int]], class_names, shape=(32, 32, 3), **text) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"class_names": np.array(class_names)}
    for split, labels in splits.items():
        blobs = [_jpeg(rng, shape) for _ in labels]
        arrays[f"{split}_jpeg"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
        arrays[f"{split}_labels"] = np.array(labels, dtype=np.uint8)
    arrays.update({key: np.array(values) for key, values in text.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def _small_cifar(kit: Path) -> Path:
    labels = list(range(10)) * 2
    return write_archive(
        kit / "cifar10" / "cifar10-jpeg.npz", {"train": labels, "test": labels[:10]}, data.CIFAR10_CLASSES
    )


def _small_flowers(kit: Path, per_class: int = 10) -> Path:
    labels = [label for label in range(5) for _ in range(per_class)]
    names = [f"{data.FLOWER_CLASSES[label]}/{i:03d}_photo.jpg" for i, label in enumerate(labels)]
    credits = [f"{name} CC-BY by Photographer {i} - https://example.org/{i}/" for i, name in enumerate(names)]
    return write_archive(
        kit / "flowers" / "flowers-128-jpeg.npz",
        {"all": labels},
        data.FLOWER_CLASSES,
        shape=(128, 128, 3),
        filename=names,
        attribution=credits,
    )


# -- the real kit -------------------------------------------------------------------------------------


def test_real_cifar10_layout_counts_and_report(real_kit, capsys):
    (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert x_train.dtype == y_train.dtype == np.uint8 and y_train.shape == (50_000,)
    assert np.bincount(y_train).tolist() == [5000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert len(set(y_train[:100].tolist())) == 10 and len(set(y_test[:100].tolist())) == 10  # not sorted by class
    report = capsys.readouterr().out
    assert "CIFAR-10: offline kit" in report and "stored as JPEG" in report and "complete official split" in report
    assert data.source_info("cifar10").origin == "kit" and not data.source_info("cifar10").is_subset


def test_real_cifar10_second_load_reads_the_decoded_cache(real_kit, monkeypatch):
    data.load_cifar10()  # decodes (or finds the cache the previous test left)
    cached = list((Path(os.environ["KERAS_HOME"]) / "datasets" / jpeg_archives.CACHE_FOLDER).glob("cifar10-*.npz"))
    assert len(cached) == 1
    data.clear_cache()  # as in a new process
    monkeypatch.setattr(jpeg_archives, "read", lambda *a, **k: pytest.fail("decoded again"))
    started = time.perf_counter()
    (x_train, _), _ = data.load_cifar10()
    assert time.perf_counter() - started < 5 and x_train.shape == (50_000, 32, 32, 3)


def test_real_flowers_split_counts_and_credits(real_kit, capsys):
    photos = data.load_flowers()
    total = [603, 866, 527, 646, 668]
    counts = photos.counts()
    assert [sum(parts) for parts in zip(*counts.values(), strict=True)] == total
    assert counts["test"] == [round(n * 0.15) for n in total] == counts["val"]
    assert photos.train.images.shape[1:] == (128, 128, 3) and photos.train.images.dtype == np.uint8
    names = [set(getattr(photos, part).filenames) for part in ("train", "val", "test")]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    assert all(credit.startswith("CC-BY ") and len(credit) > 20 for credit in photos.test.credits)
    assert photos.test.credit(0).startswith(photos.test.filenames[0] + ": CC-BY ")
    assert "a subset of the set's 3,670" in capsys.readouterr().out
    again = data.load_flowers()
    assert again.test.filenames == photos.test.filenames  # the split is fixed


# -- small archives -----------------------------------------------------------------------------------


def test_cifar10_from_a_small_kit_and_fresh_copies(monkeypatch, tmp_path):
    _small_cifar(tmp_path / "kit")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    (x_train, y_train), (x_test, _) = data.load_cifar10()
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (10, 32, 32, 3)
    x_train[:] = 0  # a caller's edit does not reach the next load
    assert data.load_cifar10()[0][0].any()


def test_flowers_split_is_stratified_and_fractions_are_checked(monkeypatch, tmp_path):
    _small_flowers(tmp_path / "kit", per_class=20)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    photos = data.load_flowers(val_fraction=0.25, test_fraction=0.25)
    assert photos.counts() == {"train": [10] * 5, "val": [5] * 5, "test": [5] * 5}
    assert photos.train.credits[0].startswith("CC-BY by Photographer")
    with pytest.raises(ValueError, match="fraction"):
        data.load_flowers(val_fraction=0.6, test_fraction=0.5)


@pytest.mark.parametrize("damage", ["truncated", "offsets", "labels", "not-jpeg", "keys"])
def test_a_damaged_archive_is_refused(monkeypatch, tmp_path, damage):
    path = _small_cifar(tmp_path / "kit")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        with np.load(path) as archive:
            arrays = dict(archive)
        if damage == "offsets":
            arrays["train_offsets"] = arrays["train_offsets"][:-3]
        elif damage == "labels":
            arrays["test_labels"][0] = 12
        elif damage == "not-jpeg":
            arrays["train_jpeg"] = arrays["train_jpeg"].copy()
            arrays["train_jpeg"][:64] = 7
        else:
            del arrays["test_jpeg"]
        np.savez(path, **arrays)
    with pytest.raises(data.CorruptDatasetError, match=str(path)) as error:
        data.load_cifar10()
    assert "COURSE_DATA_DIR" in str(error.value)  # the advice: replace the kit file, or unset the kit


def test_a_corrupt_decoded_cache_is_decoded_again(monkeypatch, tmp_path):
    path = _small_cifar(tmp_path / "kit")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    data.load_cifar10()
    cache = jpeg_archives.cache_path("cifar10", jpeg_archives.sha256(path))
    assert cache.is_file()
    cache.write_bytes(b"not an npz")
    data.clear_cache()
    assert data.load_cifar10()[0][0].shape == (20, 32, 32, 3)
    with np.load(cache) as repaired:
        assert "train_images" in repaired.files


@pytest.mark.parametrize(
    "loader, dataset, kit_file",
    [
        (data.load_cifar10, "CIFAR-10", "cifar10/cifar10-jpeg.npz"),
        (data.load_flowers, "The flower photos", "flowers/flowers-128-jpeg.npz"),
    ],
)
def test_missing_data_names_the_dataset_the_places_and_the_fix(monkeypatch, tmp_path, loader, dataset, kit_file):
    (tmp_path / "kit").mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.DatasetNotFoundError) as error:
        loader()
    message = str(error.value)
    assert message.startswith(f"{dataset} was not found")
    assert str(tmp_path / "kit" / kit_file) in message and "file missing" in message
    assert "Keras cache" in message and "skipped: offline (COURSE_OFFLINE=1)" in message
    assert "How to fix it" in message and "COURSE_DATA_DIR" in message


def test_an_unreachable_download_host_is_reported_quickly(monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    monkeypatch.setattr(data.download, "_urlopen", lambda url, timeout: (_ for _ in ()).throw(OSError("no route")))
    with pytest.raises(data.DatasetNotFoundError, match="network error"):
        data.load_cifar10()


def test_flowers_from_an_extracted_photo_folder(tmp_path):
    """The layout keras.utils.get_file extracts TensorFlow's flower_photos.tgz into."""
    from PIL import Image

    folder = tmp_path / "flower_photos" / "flower_photos"
    lines = ["All images in this archive are licensed under the Creative Commons By-Attribution License."]
    for i, cls in enumerate(data.FLOWER_CLASSES):
        (folder / cls).mkdir(parents=True)
        Image.new("RGB", (320, 240), (40 * i, 10, 200)).save(folder / cls / f"{i}_a.jpg")
        lines.append(f"{cls}/{i}_a.jpg CC-BY by Someone {i} - https://www.flickr.com/photos/{i}/")
    (folder / "LICENSE.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert data.flowers.photo_folder(tmp_path) == folder
    images, labels, names, credits = data.flowers.read_photo_folder(folder)
    assert images.shape == (5, 128, 128, 3) and labels.tolist() == [0, 1, 2, 3, 4]
    assert names[1] == "dandelion/1_a.jpg" and credits[1] == "CC-BY by Someone 1 - https://www.flickr.com/photos/1/"
