"""CIFAR-10 (Krizhevsky 2009): :func:`load_cifar10`, offline-first.

Lectures 03 and 05 and the GoogLeNet assignment train on it. Sources, in order:

1. the offline kit's ``cifar10/cifar10-jpeg.npz``: the complete official split
   (50,000 / 10,000), stored as JPEG (quality 75), so its pixels differ from the
   official binaries by about 6 grey levels on average; the report says so. The
   kit stores each split sorted by class: the loader shuffles it with a fixed
   seed (``KIT_SHUFFLE_SEED``), so the first ``n`` images hold every class;
2. the Keras cache (``cifar-10-batches-py``, from an earlier download), then
   ``keras.datasets.cifar10`` itself, but only after the download host answered
   within ``download.CONNECT_TIMEOUT_S``, so a machine without network never waits
   on Keras' own download.
"""

from __future__ import annotations

import numpy as np

from . import download, jpeg_archives
from .sources import (
    CorruptDatasetError,
    _cached,
    _copies,
    _dataset_source,
    _file_key,
    _keras_cache_dirs,
    _kit_file,
    _read_local,
    _remember,
    _Search,
)

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_KIT_FILE = "cifar10/cifar10-jpeg.npz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"  # what keras.datasets.cifar10 fetches
KERAS_CACHE_FOLDER = "cifar-10-batches-py"
_SHAPE = (32, 32, 3)
#: The kit stores each split sorted by class; the loader puts it in a fixed shuffled order (this seed),
#: so that ``x_train[:n]`` holds every class, as it does in the official files.
KIT_SHUFFLE_SEED = 0


def load_cifar10():
    """CIFAR-10 as ``((x_train, y_train), (x_test, y_test))``: uint8 images (n, 32, 32, 3), uint8 labels (n,).

    Unlike ``keras.datasets.cifar10.load_data()``, whose labels are (n, 1), the
    labels are flat. Class names: ``CIFAR10_CLASSES``. Prints one line saying
    where the data came from.
    """
    search = _Search("CIFAR-10")
    found = _from_kit(search) or _from_keras(search)
    if found is None:
        raise search.not_found(
            [
                f"point COURSE_DATA_DIR at the course's offline data kit (the folder that holds {CIFAR10_KIT_FILE}), "
                "e.g. export COURSE_DATA_DIR=/path/to/shared/data",
                f"run once with internet access (and without COURSE_OFFLINE=1): keras.datasets.cifar10 then saves "
                f"{CIFAR10_URL} in the Keras cache",
            ]
        )
    source, arrays = found
    _remember("cifar10", source)
    return _copies(arrays)


def _check(path, x, y, split: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y).reshape(-1)
    if x.ndim != 4 or x.shape[1:] != _SHAPE or x.dtype != np.uint8:
        raise CorruptDatasetError(f"{path}: {split} images are {x.dtype} {x.shape}, expected uint8 (n, 32, 32, 3).")
    if len(y) != len(x) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise CorruptDatasetError(f"{path}: {split} labels do not match the images (or are not 0..9).")
    return x, y.astype(np.uint8)


def _read_kit(path):
    arrays, _ = jpeg_archives.decoded(path, "cifar10", ("train", "test"), _SHAPE)
    names = tuple(str(name) for name in arrays["class_names"])
    if names != CIFAR10_CLASSES:
        raise CorruptDatasetError(f"{path}: class_names are {names}, expected CIFAR-10's {CIFAR10_CLASSES}.")
    x_train, y_train = _check(path, arrays["train_images"], arrays["train_labels"], "train")
    x_test, y_test = _check(path, arrays["test_images"], arrays["test_labels"], "test")
    rng = np.random.default_rng(KIT_SHUFFLE_SEED)
    train, test = rng.permutation(len(y_train)), rng.permutation(len(y_test))
    return x_train[train], y_train[train], x_test[test], y_test[test]


def _from_kit(search: _Search):
    path = _kit_file(search, CIFAR10_KIT_FILE)
    if path is None:
        return None
    arrays = _read_local(("cifar10",) + _file_key([path]), lambda: _read_kit(path), "kit")
    extra = (
        f"{len(arrays[0]):,} training images, {len(arrays[2]):,} test images (the complete official split, "
        "stored as JPEG: pixels differ slightly from the official binaries, so accuracies differ slightly "
        "from the papers'; shuffled with a fixed seed)."
    )
    where = f"offline kit ({path})"
    source = _dataset_source("cifar10", "CIFAR-10", "kit", where, path, len(arrays[0]), len(arrays[2]), extra=extra)
    return source, arrays


def _from_keras(search: _Search):
    look, _ = _keras_cache_dirs()
    cached = next((folder / KERAS_CACHE_FOLDER for folder in look if (folder / KERAS_CACHE_FOLDER).is_dir()), None)
    if cached is None:
        for folder in look:
            search.miss(f"Keras cache {folder / KERAS_CACHE_FOLDER}", "folder missing")
        if download._offline():
            search.miss(f"download {CIFAR10_URL}", "skipped: offline (COURSE_OFFLINE=1)")
            return None
        problem = download.reachable(CIFAR10_URL)
        if problem:
            search.miss(f"download {CIFAR10_URL}", problem)
            return None
    origin = "keras-cache" if cached is not None else "download"
    arrays = _cached(("cifar10", "keras"), _read_with_keras)
    where = f"Keras cache ({cached})" if cached is not None else f"downloaded from {CIFAR10_URL} by Keras"
    source = _dataset_source("cifar10", "CIFAR-10", origin, where, cached, len(arrays[0]), len(arrays[2]))
    return source, arrays


def _read_with_keras():
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    x_train, y_train = _check("keras.datasets.cifar10", x_train, y_train, "train")
    x_test, y_test = _check("keras.datasets.cifar10", x_test, y_test, "test")
    return x_train, y_train, x_test, y_test
