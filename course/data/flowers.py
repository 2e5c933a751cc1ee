"""TensorFlow's flower photos (daisy, dandelion, roses, sunflowers, tulips): :func:`load_flowers`.

The transfer-learning lecture and the VGG16 and AlexNet assignments use them.
Every photo is CC-BY 2.0 and keeps its credit line, so a notebook can show the
attribution of each photo it displays (:meth:`ImageSplit.credit`). Sources, in
order:

1. the offline kit's ``flowers/flowers-128-jpeg.npz``: 3,310 of the set's 3,670
   photos, 128x128 RGB (already squashed to squares, so proportions are
   distorted); the report says it is a subset;
2. TensorFlow's ``flower_photos`` (``FLOWERS_URL``), from the Keras cache, or
   downloaded with ``keras.utils.get_file`` once the host answered within
   ``download.CONNECT_TIMEOUT_S``; each photo squashed to 128x128 the same way,
   the credit lines read from its ``LICENSE.txt``.

The set has no official split. :func:`load_flowers` makes a fixed stratified
one: within each class, the photos sorted by file name are shuffled with a
fixed seed and cut into train, validation and test parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import download, jpeg_archives
from .sources import (
    CorruptDatasetError,
    DataSource,
    _cached,
    _file_key,
    _keras_cache_dirs,
    _kit_file,
    _read_local,
    _remember,
    _Search,
)

FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
FLOWERS_KIT_FILE = "flowers/flowers-128-jpeg.npz"
FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
FLOWERS_OFFICIAL_COUNT = 3_670
FLOWERS_SIZE = 128
SPLIT_SEED = 0


@dataclass(frozen=True)
class ImageSplit:
    """One part of a photo set: uint8 ``images`` (n, h, w, 3), uint8 ``labels`` (n,), and per photo its
    ``filenames`` (``"daisy/100080576_f52e8ee070_n.jpg"``) and ``credits`` (its CC-BY line)."""

    images: np.ndarray
    labels: np.ndarray
    filenames: tuple[str, ...]
    credits: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def credit(self, index: int) -> str:
        """The attribution of photo ``index``: ``"daisy/...jpg: CC-BY by mario - https://..."``."""
        return f"{self.filenames[index]}: {self.credits[index]}"


@dataclass(frozen=True)
class FlowerPhotos:
    """The flowers, split: ``train``, ``val`` and ``test`` (:class:`ImageSplit`), and ``class_names``."""

    train: ImageSplit
    val: ImageSplit
    test: ImageSplit
    class_names: tuple[str, ...]

    def counts(self) -> dict[str, list[int]]:
        """Photos per class in each part: ``{"train": [...], "val": [...], "test": [...]}``."""
        n = len(self.class_names)
        return {
            part: np.bincount(getattr(self, part).labels, minlength=n).tolist() for part in ("train", "val", "test")
        }


def load_flowers(val_fraction: float = 0.15, test_fraction: float = 0.15) -> FlowerPhotos:
    """The flower photos with the course's fixed stratified split (see the module docstring).

    ``val_fraction`` and ``test_fraction`` of each class go to validation and
    test (rounded to whole photos); the rest is for training. Prints one line
    saying where the photos came from.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction and test_fraction must be in [0, 1) and leave photos to train on; "
            f"got {val_fraction} and {test_fraction}."
        )
    search = _Search("The flower photos")
    found = _from_kit(search) or _from_keras(search)
    if found is None:
        raise search.not_found(
            [
                f"point COURSE_DATA_DIR at the course's offline data kit (the folder that holds {FLOWERS_KIT_FILE}), "
                "e.g. export COURSE_DATA_DIR=/path/to/shared/data",
                f"run once with internet access (and without COURSE_OFFLINE=1): {FLOWERS_URL} is then saved "
                "in the Keras cache",
            ]
        )
    source, (images, labels, filenames, credits) = found
    _remember("flowers", source)
    parts = split_indices(labels, filenames, val_fraction, test_fraction)

    def part(indices: np.ndarray) -> ImageSplit:
        return ImageSplit(
            images[indices].copy(), labels[indices].copy(), tuple(filenames[indices]), tuple(credits[indices])
        )

    return FlowerPhotos(*(part(parts[name]) for name in ("train", "val", "test")), FLOWER_CLASSES)


def split_indices(labels, filenames, val_fraction: float, test_fraction: float) -> dict[str, np.ndarray]:
    """The fixed stratified split: for each class, its photos sorted by file name, shuffled with
    ``SPLIT_SEED``, then cut into test, validation and train parts. Returns indices per part."""
    labels, filenames = np.asarray(labels), np.asarray(filenames)
    rng = np.random.default_rng(SPLIT_SEED)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in range(len(FLOWER_CLASSES)):
        members = np.flatnonzero(labels == label)
        members = rng.permutation(members[np.argsort(filenames[members], kind="stable")])
        n_test, n_val = round(len(members) * test_fraction), round(len(members) * val_fraction)
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def _credit_of(line: str, filename: str) -> str:
    """A LICENSE.txt line without the file name it starts with."""
    return line[len(filename) :].strip() if line.startswith(filename) else line.strip()


def _check(path, images, labels, filenames, credits) -> tuple:
    n = len(labels)
    if images.ndim != 4 or images.shape[1:] != (FLOWERS_SIZE, FLOWERS_SIZE, 3) or images.dtype != np.uint8:
        raise CorruptDatasetError(f"{path}: photos are {images.dtype} {images.shape}, expected uint8 (n, 128, 128, 3).")
    if not (len(images) == n == len(filenames) == len(credits)):
        raise CorruptDatasetError(
            f"{path}: {len(images)} photos, {n} labels, {len(filenames)} names, "
            f"{len(credits)} credit lines: they must match."
        )
    for label, name in zip(labels, filenames, strict=True):
        if not str(name).startswith(f"{FLOWER_CLASSES[int(label)]}/"):
            raise CorruptDatasetError(f"{path}: photo {name} is labelled {FLOWER_CLASSES[int(label)]}.")
    return images, labels.astype(np.uint8), np.asarray(filenames).astype(str), np.asarray(credits).astype(str)


def _read_kit(path: Path) -> tuple:
    arrays, _ = jpeg_archives.decoded(
        path, "flowers", ("all",), (FLOWERS_SIZE, FLOWERS_SIZE, 3), ("filename", "attribution")
    )
    names = tuple(str(name) for name in arrays["class_names"])
    if names != FLOWER_CLASSES:
        raise CorruptDatasetError(f"{path}: class_names are {names}, expected {FLOWER_CLASSES}.")
    filenames = arrays["filename"]
    credits = [_credit_of(str(line), str(name)) for line, name in zip(arrays["attribution"], filenames, strict=True)]
    return _check(path, arrays["all_images"], arrays["all_labels"], filenames, np.array(credits))


def _report(origin: str, where: str, path, n: int) -> DataSource:
    subset = n < FLOWERS_OFFICIAL_COUNT
    size = f"{n:,} photos" + (f" (a subset of the set's {FLOWERS_OFFICIAL_COUNT:,})" if subset else " (the whole set)")
    note = f"Flower photos: {where}: {size}, 5 classes, {FLOWERS_SIZE}x{FLOWERS_SIZE}, each with its CC-BY credit."
    return DataSource("Flower photos", origin, None if path is None else str(path), n, None, subset, note)


def _from_kit(search: _Search):
    path = _kit_file(search, FLOWERS_KIT_FILE)
    if path is None:
        return None
    arrays = _read_local(("flowers",) + _file_key([path]), lambda: _read_kit(path), "kit")
    return _report("kit", f"offline kit ({path})", path, len(arrays[1])), arrays


def photo_folder(base: Path) -> Path | None:
    """The folder holding ``daisy/``, ``roses/``... under what ``keras.utils.get_file`` extracted."""
    for candidate in (base / "flower_photos", base / "flower_photos" / "flower_photos"):
        if all((candidate / name).is_dir() for name in FLOWER_CLASSES):
            return candidate
    return None


def read_photo_folder(folder: Path) -> tuple:
    """Photos from an extracted ``flower_photos`` folder, squashed to 128x128, with their credit lines
    (from ``LICENSE.txt``; a photo it does not list gets an empty credit)."""
    from PIL import Image, UnidentifiedImageError

    credits: dict[str, str] = {}
    license_file = folder / "LICENSE.txt"
    if license_file.is_file():
        for line in license_file.read_text(encoding="utf-8", errors="replace").splitlines():
            name = line.split(" ", 1)[0]
            if name.count("/") == 1 and name.lower().endswith(".jpg"):
                credits[name] = _credit_of(line, name)
    images, labels, names = [], [], []
    for label, cls in enumerate(FLOWER_CLASSES):
        for file in sorted((folder / cls).glob("*.jpg")):
            try:
                with Image.open(file) as photo:
                    square = photo.convert("RGB").resize((FLOWERS_SIZE, FLOWERS_SIZE), Image.Resampling.BILINEAR)
                    images.append(np.asarray(square, dtype=np.uint8))
            except (UnidentifiedImageError, OSError) as e:
                raise CorruptDatasetError(f"{file}: not a readable photo ({type(e).__name__}: {e}).") from e
            labels.append(label)
            names.append(f"{cls}/{file.name}")
    if not images:
        raise CorruptDatasetError(f"{folder}: holds no photos in {', '.join(FLOWER_CLASSES)}.")
    return _check(
        folder,
        np.stack(images),
        np.array(labels, dtype=np.uint8),
        np.array(names),
        np.array([credits.get(name, "") for name in names]),
    )


def _from_keras(search: _Search):
    look, target = _keras_cache_dirs()
    for base in look:
        folder = photo_folder(base)
        if folder is not None:
            arrays = _read_local(
                ("flowers", str(folder)), lambda folder=folder: read_photo_folder(folder), "keras-cache"
            )
            return _report("keras-cache", f"Keras cache ({folder})", folder, len(arrays[1])), arrays
        search.miss(f"Keras cache {base / 'flower_photos'}", "folder missing")
    if download._offline():
        search.miss(f"download {FLOWERS_URL}", "skipped: offline (COURSE_OFFLINE=1)")
        return None
    problem = download.reachable(FLOWERS_URL)
    if problem:
        search.miss(f"download {FLOWERS_URL}", problem)
        return None
    import keras

    keras.utils.get_file("flower_photos", origin=FLOWERS_URL, extract=True, cache_dir=str(target.parent))
    folder = photo_folder(target)
    if folder is None:
        search.miss(f"download {FLOWERS_URL}", f"the archive did not extract into {target / 'flower_photos'}")
        return None
    arrays = _cached(("flowers", str(folder)), lambda: read_photo_folder(folder))
    return _report("download", f"downloaded from {FLOWERS_URL} into the Keras cache", folder, len(arrays[1])), arrays
