"""Convolutions written from scratch in NumPy, for lecture 01b (convolutions, step by step).

Every function here is the plain definition of an operation that Keras'
``Conv2D`` layer performs, written so that it can be read and checked against
Keras:

- :func:`corr2d`: the 2-D cross-correlation of one image with one kernel
  (what deep-learning libraries call "convolution"), with padding and stride;
- :func:`conv2d`: the convolution of signal processing (the kernel flipped);
- :func:`corr2d_multi_in` and :func:`corr2d_multi_in_out`: several input and
  output channels, in Keras' layouts (images ``(height, width, channels)``,
  kernels ``(height, width, in, out)``);
- :func:`output_size`: the side of the output for a given input side, kernel,
  padding and stride;
- :func:`dense_matrix`: the weight matrix of the fully connected layer that
  computes the same thing as :func:`corr2d` (weight sharing and locality made
  visible);
- :func:`kernel_gradient` and :func:`fit_kernel`: recover an unknown kernel from
  input/output pairs by gradient descent;
- :func:`relative_error`: how far a result is from a reference.

Only NumPy is used; nothing here imports Keras, so it runs on any backend.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "corr2d",
    "conv2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "output_size",
    "dense_matrix",
    "kernel_gradient",
    "fit_kernel",
    "relative_error",
]


def _pair(value, name: str) -> tuple[int, int]:
    """``value`` as (rows, columns): an int means the same for both."""
    if np.ndim(value) == 0:
        value = (value, value)
    rows, cols = (int(v) for v in value)
    if rows < 0 or cols < 0:
        raise ValueError(f"{name} must not be negative, got {value}.")
    return rows, cols


def output_size(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
    """The output side of a convolution: ``floor((n + 2 * padding - k) / stride) + 1``.

    ``n`` is the input side, ``k`` the kernel side, ``padding`` the rows (or
    columns) of zeros added on *each* side and ``stride`` the step between
    neighbouring windows. Lecture 01b checks it against Keras' output shapes.
    """
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}.")
    if n + 2 * padding < k:
        raise ValueError(f"a {k}-wide kernel does not fit in {n} pixels padded by {padding} on each side.")
    return (n + 2 * padding - k) // stride + 1


def corr2d(x, kernel, padding=0, stride=1) -> np.ndarray:
    """The 2-D cross-correlation of image ``x`` (h, w) with ``kernel`` (kh, kw) (lecture 01b).

    Output position ``(i, j)`` is the sum of the kernel times the window of
    ``x`` whose top-left corner is at ``(i * stride, j * stride)``::

        y[i, j] = sum over a, b of kernel[a, b] * x[i * stride + a, j * stride + b]

    after padding ``x`` with ``padding`` zeros on each side (an int, or a pair
    for rows and columns); ``stride`` is an int or a pair too. This is what
    Keras' ``Conv2D`` computes for one channel. The loop runs over the kernel's
    ``kh * kw`` entries, each adding one shifted, strided copy of the image, so
    it is fast enough for photos while staying the definition above.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if x.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"corr2d takes a 2-D image and a 2-D kernel, got shapes {x.shape} and {kernel.shape}.")
    (ph, pw), (sh, sw) = _pair(padding, "padding"), _pair(stride, "stride")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be at least 1, got {stride}.")
    x = np.pad(x, ((ph, ph), (pw, pw)))
    kh, kw = kernel.shape
    oh, ow = output_size(x.shape[0], kh, 0, sh), output_size(x.shape[1], kw, 0, sw)
    y = np.zeros((oh, ow))
    for a in range(kh):
        for b in range(kw):
            y += kernel[a, b] * x[a : a + sh * (oh - 1) + 1 : sh, b : b + sw * (ow - 1) + 1 : sw]
    return y


def conv2d(x, kernel, padding=0, stride=1) -> np.ndarray:
    """The convolution of signal processing: :func:`corr2d` with the kernel flipped in both axes.

    ``y[i, j] = sum over a, b of kernel[a, b] * x[i + kh - 1 - a, j + kw - 1 - b]``
    for a (kh, kw) kernel: the textbook ``x[i - a, j - b]``, shifted so that the
    output starts where the kernel fits. Deep-learning layers learn
    their kernels, so flipping makes no difference to what they can represent;
    lecture 01b shows where it does make a difference (a fixed kernel).
    """
    return corr2d(x, np.asarray(kernel)[::-1, ::-1], padding=padding, stride=stride)


def corr2d_multi_in(x, kernel, padding=0, stride=1) -> np.ndarray:
    """Cross-correlation of ``x`` (h, w, c_in) with ``kernel`` (kh, kw, c_in): one output channel.

    Each input channel has its own 2-D kernel; the results are added up.
    Lecture 01b.
    """
    x, kernel = np.asarray(x), np.asarray(kernel)
    if x.ndim != 3 or kernel.ndim != 3 or x.shape[-1] != kernel.shape[-1]:
        raise ValueError(f"expected x (h, w, c) and kernel (kh, kw, c), got {x.shape} and {kernel.shape}.")
    return sum(corr2d(x[..., c], kernel[..., c], padding, stride) for c in range(x.shape[-1]))


def corr2d_multi_in_out(x, kernel, bias=None, padding=0, stride=1) -> np.ndarray:
    """What ``keras.layers.Conv2D`` computes (no activation), from scratch (lecture 01b).

    ``x`` is one image (h, w, c_in), ``kernel`` has Keras' layout
    (kh, kw, c_in, c_out) and ``bias`` (optional) one value per output channel.
    Output channel ``o`` is :func:`corr2d_multi_in` with ``kernel[..., o]``,
    plus ``bias[o]``; the result is (h', w', c_out).
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"kernel must be (kh, kw, c_in, c_out), got shape {kernel.shape}.")
    y = np.stack([corr2d_multi_in(x, kernel[..., o], padding, stride) for o in range(kernel.shape[-1])], axis=-1)
    return y if bias is None else y + np.asarray(bias, dtype=np.float64)


def dense_matrix(kernel, height: int, width: int) -> np.ndarray:
    """The weight matrix ``W`` of the dense layer that equals :func:`corr2d` with ``kernel`` (lecture 01b).

    For an image ``x`` of ``height`` x ``width`` pixels,
    ``x.reshape(-1) @ W`` equals ``corr2d(x, kernel).reshape(-1)``. ``W`` has
    one row per input pixel and one column per output position; most of its
    entries are zero (locality) and every column holds the same kernel values,
    shifted (weight sharing).
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    oh, ow = output_size(height, kh), output_size(width, kw)
    w = np.zeros((height, width, oh, ow))
    for i in range(oh):
        for j in range(ow):
            w[i : i + kh, j : j + kw, i, j] = kernel
    return w.reshape(height * width, oh * ow)


def kernel_gradient(x, y, kernel) -> tuple[float, np.ndarray]:
    """The loss ``mean((corr2d(x, kernel) - y) ** 2)`` and its gradient with respect to ``kernel``.

    The gradient is itself a cross-correlation: of the input with the
    residual, ``2 / n * corr2d(x, corr2d(x, kernel) - y)``, where ``n`` is the
    number of output positions (lecture 01b derives it).
    """
    residual = corr2d(x, kernel) - np.asarray(y, dtype=np.float64)
    return float(np.mean(residual**2)), 2.0 / residual.size * corr2d(x, residual)


def fit_kernel(
    x, y, shape: tuple[int, int], steps: int = 200, learning_rate: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, list[float]]:
    """Recover a kernel from an input ``x`` and its output ``y`` by plain gradient descent (lecture 01b).

    Starts from a random kernel of ``shape`` (seeded by ``seed``) and takes
    ``steps`` steps of size ``learning_rate`` along :func:`kernel_gradient`.
    Returns the kernel and the loss before each step (plus the final one).
    """
    kernel = np.random.default_rng(seed).normal(scale=0.1, size=shape)
    losses = []
    for _ in range(int(steps)):
        loss, grad = kernel_gradient(x, y, kernel)
        losses.append(loss)
        kernel = kernel - learning_rate * grad
    losses.append(kernel_gradient(x, y, kernel)[0])
    return kernel, losses


def relative_error(value, reference) -> float:
    """``max |value - reference| / max |reference|``: 0 for a perfect match, about 1e-7 for float32 rounding."""
    value, reference = np.asarray(value, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if value.shape != reference.shape:
        raise ValueError(f"shapes differ: {value.shape} and {reference.shape}.")
    scale = np.abs(reference).max(initial=0.0)
    return float(np.abs(value - reference).max(initial=0.0) / (scale if scale > 0 else 1.0))
