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
"""

from __future__ import annotations

import numpy as np

__all__ = ["shift_images", "pixel_permutation", "permute_pixels", "inverse_permutation"]


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
