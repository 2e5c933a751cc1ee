"""Image sets stored as JPEG bytes in one ``.npz`` archive (the offline kit's CIFAR-10 and flowers).

Layout, for each split ``S`` (``train``/``test``, or ``all``): ``S_jpeg`` holds
every image's JPEG file concatenated (uint8), ``S_offsets`` (n + 1 int64
entries) marks where image ``i`` starts and ends, ``S_labels`` (uint8) its
class; ``class_names`` names the classes. Other keys (``filename``,
``attribution``) are per-image text.

:func:`read` checks the layout and decodes every image with Pillow, refusing a
truncated or corrupt archive with :class:`CorruptDatasetError`. Decoding 60,000
images takes seconds, so :func:`decoded` keeps the decoded arrays in a cache
file beside the Keras cache (``.../datasets/course-decoded/``), keyed by the
SHA-256 of the archive: a second call, in this process or a later one, reads
the arrays back instead of decoding. The cache is derived data: one that
cannot be read is decoded again, and a cache folder that cannot be written
(a read-only Keras cache while grading) only means decoding each time.
Lectures 03 and 05 and the assignments load CIFAR-10 and the flowers this way.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .sources import CorruptDatasetError, _keras_cache_dirs

CACHE_FOLDER = "course-decoded"
_HASHES: dict[tuple, str] = {}  # (path, mtime, size) -> SHA-256, so a file is hashed once per process


def sha256(path: Path) -> str:
    """The SHA-256 of a file (remembered while its size and modification time stay the same)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _decode_one(data: bytes, where: str, shape: tuple | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise CorruptDatasetError(f"{where}: not a readable JPEG ({type(e).__name__}: {e}).") from e
    if shape is not None and array.shape != shape:
        raise CorruptDatasetError(f"{where}: decodes to shape {array.shape}, expected {shape}.")
    return array


def _split(archive, path: Path, split: str, n_classes: int, shape: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    keys = [f"{split}_jpeg", f"{split}_offsets", f"{split}_labels"]
    missing = [key for key in keys if key not in archive.files]
    if missing:
        found = ", ".join(archive.files) or "none"
        raise CorruptDatasetError(f"{path}: missing key(s) {', '.join(missing)} (found: {found}).")
    blob, offsets, labels = (np.asarray(archive[key]) for key in keys)
    n = len(labels)
    if offsets.ndim != 1 or len(offsets) != n + 1:
        raise CorruptDatasetError(f"{path}: {split}_offsets has {len(offsets)} entries for {n:,} labels (need n + 1).")
    if offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) <= 0):
        raise CorruptDatasetError(
            f"{path}: {split}_offsets do not cut {split}_jpeg ({len(blob):,} bytes) into {n:,} images: "
            "the archive is truncated or was written wrongly."
        )
    if n and (labels.min() < 0 or labels.max() >= n_classes):
        raise CorruptDatasetError(
            f"{path}: {split}_labels run from {labels.min()} to {labels.max()}, but there are {n_classes} classes."
        )
    first = _decode_one(blob[offsets[0] : offsets[1]].tobytes(), f"{path} ({split} image 0)", shape) if n else None
    images = np.empty((n, *first.shape) if n else (0, *(shape or (0, 0, 3))), dtype=np.uint8)
    for i in range(n):
        start, end = int(offsets[i]), int(offsets[i + 1])
        images[i] = _decode_one(blob[start:end].tobytes(), f"{path} ({split} image {i})", first.shape)
    return images, labels.astype(np.uint8)


def read(path: Path, splits: tuple[str, ...], shape: tuple | None = None, text_keys: tuple[str, ...] = ()) -> dict:
    """Decode an archive: ``{"S_images": ..., "S_labels": ..., "class_names": ..., key: ...}`` for each split
    ``S`` and each of ``text_keys`` (one string per image, in archive order); every image must be ``shape``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise CorruptDatasetError(f"{path}: not an .npz archive (it holds a single array).")
            if "class_names" not in archive.files:
                raise CorruptDatasetError(f"{path}: missing key class_names (found: {', '.join(archive.files)}).")
            names = tuple(str(name) for name in archive["class_names"])
            out: dict = {"class_names": np.array(names)}
            for split in splits:
                out[f"{split}_images"], out[f"{split}_labels"] = _split(archive, path, split, len(names), shape)
            total = sum(len(out[f"{split}_labels"]) for split in splits)
            for key in text_keys:
                if key not in archive.files:
                    raise CorruptDatasetError(f"{path}: missing key {key} (found: {', '.join(archive.files)}).")
                values = np.asarray(archive[key]).astype(str)
                if values.shape != (total,):
                    raise CorruptDatasetError(f"{path}: {key} holds {values.size:,} entries for {total:,} images.")
                out[key] = values
    except CorruptDatasetError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, zlib.error) as e:
        raise CorruptDatasetError(f"{path}: not a readable .npz file ({type(e).__name__}: {e}).") from e
    return out


def cache_path(name: str, digest: str) -> Path:
    """Where the decoded arrays of archive ``name`` with SHA-256 ``digest`` are kept."""
    return _keras_cache_dirs()[1] / CACHE_FOLDER / f"{name}-{digest[:16]}.npz"


def decoded(path: Path, name: str, splits: tuple[str, ...], shape=None, text_keys=()) -> tuple[dict, str]:
    """:func:`read`, through the decoded-arrays cache; returns ``(arrays, how)`` with ``how`` saying
    whether they were ``"decoded"`` now or read from the ``"cache"``."""
    target = cache_path(name, sha256(path))
    wanted = {"class_names", *text_keys, *(f"{s}_{k}" for s in splits for k in ("images", "labels"))}
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as cached:
                if wanted <= set(cached.files):
                    return {key: cached[key] for key in wanted}, "cache"
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):
            pass  # derived data: decode again and replace it
    arrays = read(path, splits, shape, text_keys)
    _store(target, arrays)
    return arrays, "decoded"


def _store(target: Path, arrays: dict) -> None:
    """Write the cache file atomically; quietly skip it where the folder cannot be written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".npz", dir=target.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
