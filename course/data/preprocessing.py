"""Preprocessing of loaded images for the models (no file or network access)."""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- preprocessing


def pad_and_scale(x, size: int = 32) -> np.ndarray:
    """Images (n, h, w) or (n, h, w, 1) -> float32 (n, size, size, 1) in [0, 1], zero-padded and centred.

    Integer images are divided by 255; floating-point images must already be in
    [0, 1]. 28 -> 32 adds 2 pixels on each side (LeNet-5's 32 x 32 input); an
    odd difference puts the extra pixel at the bottom / right.
    """
    a = np.asarray(x)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 3:
        raise ValueError(f"expected images shaped (n, h, w) or (n, h, w, 1); got {np.shape(x)}.")
    n, h, w = a.shape
    if size < h or size < w:
        raise ValueError(f"size={size} is smaller than the images ({h}x{w}); this function only pads.")
    if np.issubdtype(a.dtype, np.integer):
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError(f"integer pixels must be in 0..255; got {a.min()}..{a.max()}.")
        scaled = a.astype(np.float32) / np.float32(255)
    elif np.issubdtype(a.dtype, np.floating):
        if a.size and (not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1):
            raise ValueError(
                "floating-point pixels must already be in [0, 1]; pass the uint8 images to have them divided by 255."
            )
        scaled = a.astype(np.float32)
    else:
        raise TypeError(f"expected integer or floating-point pixels; got dtype {a.dtype}.")
    out = np.zeros((n, size, size, 1), dtype=np.float32)
    top, left = (size - h) // 2, (size - w) // 2
    out[:, top : top + h, left : left + w, 0] = scaled
    return out


def centre_pixels(x_train, *others) -> tuple[np.ndarray, ...]:
    """uint8 RGB images -> float32 in [0, 1] minus the per-channel mean of ``x_train`` (He et al. 2016 and
    VGG subtract the training set's mean); returns ``x_train`` and each of ``others`` so transformed.
    Lectures 03 and 05 prepare CIFAR-10 this way."""
    mean = np.asarray(x_train, dtype=np.float64).reshape(-1, np.shape(x_train)[-1]).mean(axis=0) / 255.0
    return tuple(
        (np.asarray(x, dtype=np.float32) / np.float32(255) - mean.astype(np.float32)) for x in (x_train, *others)
    )


def square_image(photo, size: int) -> np.ndarray:
    """A photo (h, w, 3) uint8 -> float32 (size, size, 3) in [0, 1]: the centre square, resized (Pillow,
    bilinear). The feature-maps assignment feeds its example photo to the flower AlexNet this way."""
    from PIL import Image

    a = np.asarray(photo)
    h, w = a.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(a[top : top + side, left : left + side].astype(np.uint8))
    return np.asarray(square.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32) / np.float32(255)
