"""Sample photos: :func:`sample_image` from the offline kit or the photos bundled with scikit-image."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np

from .sources import (
    CorruptDatasetError,
    DataSource,
    _cached,
    _file_key,
    _key,
    _kit_dir,
    _read_local,
    _remember,
    _Search,
)

# --------------------------------------------------------------------------- constants

# skimage.data photos that ship inside scikit-image (no download needed).
# Grayscale ones are returned with the grey channel repeated three times.
SAMPLE_IMAGES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "cat",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "colorwheel",
    "camera",
    "brick",
    "clock",
    "coins",
    "grass",
    "gravel",
    "moon",
    "page",
    "text",
)
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


# --------------------------------------------------------------------------- sample images


def sample_image(name: str = "astronaut") -> np.ndarray:
    """A photo as a uint8 RGB array (H, W, 3).

    Looks for ``$COURSE_DATA_DIR/images/<name>.png`` (or ``.jpg``/``.jpeg``)
    first, then the photos bundled with scikit-image (``SAMPLE_IMAGES``:
    "astronaut", "chelsea", "coffee", ...). Grayscale photos come back with the
    grey channel repeated three times.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"sample image names are plain words such as 'astronaut'; got {name!r}.")
    key = _key(name)
    search = _Search(f"Sample image {name!r}")
    found = _image_from_kit(name, search) or _image_from_skimage(key, search)
    if found is None:
        raise search.not_found(
            [
                f"put a PNG or JPEG photo at $COURSE_DATA_DIR/images/{name}.png",
                "pip install scikit-image, and use one of its bundled photos: " + ", ".join(SAMPLE_IMAGES),
            ]
        )
    source, image = found
    _remember(key, source)
    return image.copy()


def _image_source(name: str, origin: str, where: str, path, image: np.ndarray, extra: str = "") -> DataSource:
    h, w = image.shape[:2]
    note = f"Image {name!r}: {where}: {w}x{h} RGB{extra}."
    return DataSource(name, origin, None if path is None else str(path), None, None, False, note)


def _read_image_file(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise CorruptDatasetError(f"{path}: not a readable image ({type(e).__name__}: {e}).") from e


def _image_from_kit(name: str, search: _Search):
    kit = _kit_dir(search)
    if kit is None:
        return None
    for ext in _IMAGE_EXTENSIONS:
        path = kit / "images" / f"{name}{ext}"
        if path.is_file():
            (image,) = _read_local(("image",) + _file_key([path]), lambda path=path: (_read_image_file(path),), "kit")
            return _image_source(name, "kit", f"offline kit ({path})", path, image), image
    search.miss(f"offline kit {kit / 'images'}", f"file missing ({name}.png, .jpg or .jpeg)")
    return None


def _image_from_skimage(key: str, search: _Search):
    place = f"pip package scikit-image (skimage.data.{key}())"
    if key not in SAMPLE_IMAGES:
        search.miss(place, "not one of its bundled photos (" + ", ".join(SAMPLE_IMAGES) + ")")
        return None
    try:
        skimage_data = importlib.import_module("skimage.data")
    except ImportError:
        search.miss(place, "not installed (pip install scikit-image)")
        return None

    def read():
        image = np.asarray(getattr(skimage_data, key)())
        if image.ndim == 2:  # grayscale photo: repeat the grey channel
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise CorruptDatasetError(f"{place}: returned {image.dtype} {image.shape}, expected uint8 (H, W, 3).")
        return (image,)

    try:
        (image,) = _cached(("image", "skimage", key), read)
    except (ImportError, OSError) as e:  # scikit-image can defer some files to an optional download
        search.miss(place, f"could not be loaded ({type(e).__name__}: {e})")
        return None
    grey = bool(np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]))
    extra = " (a grayscale photo, its grey channel repeated three times)" if grey else ""
    return _image_source(key, "skimage", place, None, image, extra), image
