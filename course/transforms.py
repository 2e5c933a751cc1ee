"""Image transforms for the course's invariance experiments.

Two small, exact operations on batches of images, used by the lecture on CNNs
versus fully connected networks:

- :func:`shift_images` moves every image by a whole number of pixels and fills
  the uncovered border with a constant (no wrap-around), which is what a
  camera that moved a little would see;
- :func:`pixel_permutation` and :func:`permute_pixels` shuffle pixel positions
  with one fixed permutation, the same for every image. The shuffle keeps all
  the information in an image but destroys which pixels are neighbours.

Both work on NumPy arrays shaped ``(n, height, width)`` or
``(n, height, width, channels)`` and return a new array of the same shape and
dtype; they never change their input.

For the chest X-ray case study (lecture 10):

- :func:`xray_augmentation`, the Keras preprocessing layers that distort an
  X-ray the way another exposure or positioning would (small rotations,
  shifts, zooms, contrast changes, cut-out patches), and no mirroring;
- :func:`equalize`, a contrast-limited adaptive histogram equalisation (CLAHE)
  of grayscale uint8 images.

Keras and scikit-image are imported only when these are called, so importing
this module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "shift_images",
    "pixel_permutation",
    "permute_pixels",
    "inverse_permutation",
    "xray_augmentation",
    "equalize",
]


def _check_batch(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            "expected a batch of images shaped (n, height, width) or (n, height, width, channels), "
            f"got shape {images.shape}"
        )
    return images


def shift_images(images: np.ndarray, dx: int = 0, dy: int = 0, fill: float = 0) -> np.ndarray:
    """Translate every image by ``dx`` pixels right and ``dy`` pixels down.

    Negative values move left or up. Pixels pushed past the border are lost and
    the uncovered strip is set to ``fill`` (0, black, suits MNIST), so a shift
    of the image's full width or more leaves only ``fill``.

    Args:
        images: array shaped ``(n, height, width)`` or ``(n, height, width, channels)``.
        dx: horizontal shift in pixels, positive to the right.
        dy: vertical shift in pixels, positive downwards.
        fill: value for the uncovered pixels.

    Returns:
        A new array with the same shape and dtype as ``images``.
    """
    images = _check_batch(images)
    dx, dy = int(dx), int(dy)
    height, width = images.shape[1], images.shape[2]
    out = np.full_like(images, fill)
    if abs(dx) >= width or abs(dy) >= height:
        return out

    # Source and destination windows along one axis for a shift s.
    def window(s: int, size: int) -> tuple[slice, slice]:
        return (slice(0, size - s), slice(s, size)) if s >= 0 else (slice(-s, size), slice(0, size + s))

    src_y, dst_y = window(dy, height)
    src_x, dst_x = window(dx, width)
    out[:, dst_y, dst_x] = images[:, src_y, src_x]
    return out


def pixel_permutation(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A random permutation of the ``height * width`` pixel positions (reproducible by seed)."""
    return np.random.default_rng(seed).permutation(height * width)


def permute_pixels(images: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Reorder the pixels of every image with the same ``permutation``.

    Position ``i`` of the flattened output image takes the pixel at flattened
    position ``permutation[i]`` of the input; channels move together.

    Args:
        images: array shaped ``(n, height, width)`` or ``(n, height, width, channels)``.
        permutation: a permutation of ``range(height * width)``, e.g. from
            :func:`pixel_permutation`.

    Returns:
        A new array with the same shape and dtype as ``images``.
    """
    images = _check_batch(images)
    n, height, width = images.shape[:3]
    permutation = np.asarray(permutation)
    if permutation.shape != (height * width,) or not np.array_equal(np.sort(permutation), np.arange(height * width)):
        raise ValueError(f"permutation must be a permutation of range({height * width}) for {height}x{width} images")
    flat = images.reshape(n, height * width, *images.shape[3:])
    return flat[:, permutation].reshape(images.shape)


def inverse_permutation(permutation: np.ndarray) -> np.ndarray:
    """The permutation that undoes ``permutation`` in :func:`permute_pixels`."""
    permutation = np.asarray(permutation)
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(permutation.size)
    return inverse


def xray_augmentation(
    rotation_degrees: float = 5,
    shift: float = 0.05,
    zoom: float = 0.1,
    contrast: float = 0.2,
    erasing: bool = True,
    seed: int | None = None,
) -> keras.Sequential:
    """Random distortions fit for chest X-rays, as a ``keras.Sequential`` of preprocessing layers (lecture 10).

    The layers take a batch of grayscale images ``(n, height, width, 1)`` of grey levels 0-255 (float;
    the course's X-ray models scale them themselves) and return float32 of the same shape. They act only
    in training (``training=True``, as inside ``model.fit``); at inference they pass the images through
    unchanged, so put them first in the model, as :func:`course.train.augmented` does. In order:

    - ``RandomRotation``: up to ``rotation_degrees`` either way (a patient not quite straight);
    - ``RandomTranslation``: up to ``shift`` of the height and of the width either way;
    - ``RandomZoom``: zooming *in* by up to ``zoom`` (0.1: the central 90-100 %, scaled back up), which
      acts as a random crop; zooming out would shrink the anatomy instead;
    - ``RandomContrast``: contrast scaled by a factor in ``[1 - contrast, 1 + contrast]`` around each
      image's mean (another exposure), clipped to 0-255;
    - ``RandomErasing`` (cut-out; Zhong et al. 2017), when ``erasing``: on about a quarter of the images
      (each image's probability is drawn from 0 to 0.5) a rectangle with sides 14-32 % of the image's
      (2-10 % of its area) is filled with noise, so no single small region (a marker, a tube) can carry
      the decision. ``value_range=(0, 255)`` tells it the grey levels' range: its noise (a normal draw
      times 255) is clipped to it, so about half the erased pixels are black and the rest bright.

    The geometric layers fill the uncovered border with black (0), as beyond the edge of a film.

    **No flips.** A mirrored cat is still a cat (:func:`course.train.flip_and_shift`), but a mirrored chest
    X-ray is not a chest that occurs: the heart lies on the left, and a heart on the right (dextrocardia) is
    rare (about 1 in 10,000 people), so a flip teaches the model an anatomy it will almost never see; and
    the L/R marker and any text would read backwards. ``seed`` (an int) makes the sequence of distortions
    reproducible; each layer gets ``seed + i``.
    """
    import keras

    def layer_seed(i: int) -> int | None:
        return None if seed is None else int(seed) + i

    layers = [
        keras.layers.RandomRotation(rotation_degrees / 360.0, fill_mode="constant", fill_value=0.0, seed=layer_seed(0)),
        keras.layers.RandomTranslation(shift, shift, fill_mode="constant", fill_value=0.0, seed=layer_seed(1)),
        keras.layers.RandomZoom((-zoom, 0.0), fill_mode="constant", fill_value=0.0, seed=layer_seed(2)),
        keras.layers.RandomContrast(contrast, value_range=(0, 255), seed=layer_seed(3)),
    ]
    if erasing:
        layers.append(
            keras.layers.RandomErasing(factor=0.5, scale=(0.02, 0.1), value_range=(0, 255), seed=layer_seed(4))
        )
    return keras.Sequential(layers, name="xray_augmentation")


def equalize(images: np.ndarray, clip_limit: float = 0.01) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (CLAHE) of grayscale uint8 images (lecture 10).

    Each image's grey levels are equalised tile by tile (tiles an eighth of the image's side), with each
    tile's histogram clipped at ``clip_limit`` (a fraction of its pixels, 0-1: higher means stronger
    contrast) so noise in flat regions is not blown up. A dim or washed-out X-ray gets the same spread of
    grey levels as a well-exposed one, so the model sees the lungs rather than the exposure.

    Uses scikit-image's ``skimage.exposure.equalize_adapthist`` on each image, which is plain,
    deterministic NumPy; it also stretches each image's darkest and brightest grey levels to 0 and 255.
    A blank image (a single grey level) is returned unchanged. (Keras'
    ``ContrastLimitedAdaptiveHistogramEqualization`` layer also works on grayscale uint8, but its
    ``clip_limit`` is on another scale and it runs on the Keras backend.)

    Args:
        images: uint8 array shaped ``(n, height, width)`` (or ``(n, height, width, 1)``).
        clip_limit: the histogram clip limit, in (0, 1].

    Returns:
        A new uint8 array of the same shape.
    """
    from skimage.exposure import equalize_adapthist

    images = _check_batch(images)
    if images.dtype != np.uint8:
        raise ValueError(f"equalize expects uint8 grey levels 0-255, got dtype {images.dtype}")
    if images.ndim == 4 and images.shape[-1] != 1:
        raise ValueError(f"equalize expects grayscale images (one channel), got shape {images.shape}")
    if not 0 < clip_limit <= 1:
        raise ValueError(f"clip_limit must be in (0, 1], got {clip_limit}")
    out = np.empty_like(images)
    for i, image in enumerate(images):
        flat = image.reshape(image.shape[:2])
        if flat.min() == flat.max():  # nothing to equalise (scikit-image would turn it white)
            out[i] = image
            continue
        equalized = equalize_adapthist(flat, clip_limit=clip_limit)  # float64 in [0, 1]
        out[i] = np.clip(np.rint(equalized * 255), 0, 255).astype(np.uint8).reshape(image.shape)
    return out
