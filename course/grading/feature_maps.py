"""The checks of the ``feature_maps`` assignment (Q8: the filters and feature maps of AlexNet's first layer).

The notebook imports this module as ``grading``. The student writes three functions
(``first_layer_extractor``, ``normalise_filters``, ``tile``) and computes the feature
maps of an example image; the checks call the functions on arrays and models and test
properties every correct answer has (shapes, values in range, where each tile lies). The
hidden checks that compare with a reference answer live in the grader's answer key
(``autograder.answer_key.feature_maps``), which students never receive.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import core
from .core import check_input_shape, fail, for_mode, require

__all__ = [
    "AUTOGRADE_BUDGET",
    "SHORTCUTS",
    "SMOKE_BUDGET",
    "check_flat_filter",
    "check_output_shape",
    "check_input_shape",
    "check_normalised_filters",
    "check_tile",
    "for_mode",
    "require",
]

#: Library calls an answer cell should not make (flagged for review as ``library-shortcut``): none, since
#: the course library has no function that extracts a layer or tiles images.
SHORTCUTS: dict[str, tuple[str, ...]] = {}

#: The AlexNet's training budget while grading and in smoke runs (the notebook passes them to
#: ``course.runtime.settings``): a few photos for one epoch, so the filters are nearly random and the
#: notebook grades in seconds; the tests check the code, not how well the filters were learned.
AUTOGRADE_BUDGET = {"alexnet_epochs": 1, "alexnet_samples": 128}
SMOKE_BUDGET = {"alexnet_epochs": 1, "alexnet_samples": 128}


def _predict(model, x) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(x, dtype="float32"), verbose=0))


def check_output_shape(extractor, image, expected: tuple) -> None:
    """``extractor`` maps ``image`` (a batch of one) to feature maps of shape ``expected`` (batch axis left out)."""
    __tracebackhide__ = True
    if not core._is_keras_model(extractor):
        fail(f"Expected a keras.Model, got {type(extractor).__name__}. Does first_layer_extractor `return` it?")
    got = _predict(extractor, image).shape[1:]
    if tuple(got) != tuple(expected):
        fail(f"The extractor outputs feature maps of shape {tuple(got)}, expected {tuple(expected)}.")


def check_normalised_filters(normalise: Callable, filters: int = 6, size: int = 5, seed: int = 0) -> None:
    """``normalise(kernels)`` scales each filter (n, h, w, c) on its own into [0, 1], leaving its input alone."""
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    kernels = rng.normal(scale=rng.uniform(0.01, 2.0, size=(filters, 1, 1, 1)), size=(filters, size, size, 3))
    kernels = kernels.astype("float32")
    before = kernels.copy()
    out = np.asarray(normalise(kernels))
    if not np.array_equal(kernels, before):
        fail("normalise_filters changed its input; return a new array.")
    if out.shape != kernels.shape:
        fail(f"normalise_filters returned shape {out.shape} for kernels of shape {kernels.shape}.")
    low, high = out.reshape(filters, -1).min(axis=1), out.reshape(filters, -1).max(axis=1)
    if not (np.allclose(low, 0, atol=1e-6) and np.allclose(high, 1, atol=1e-6)):
        fail(
            "Each filter must be scaled on its own so that its smallest value becomes 0 and its largest 1 "
            f"(got minima {np.round(low, 3).tolist()} and maxima {np.round(high, 3).tolist()})."
        )
    expected = (kernels - kernels.min(axis=(1, 2, 3), keepdims=True)) / np.ptp(kernels, axis=(1, 2, 3), keepdims=True)
    if not np.allclose(out, expected, atol=1e-5):
        fail("normalise_filters must shift and scale each filter linearly (x - min) / (max - min), nothing else.")


def check_flat_filter(normalise: Callable) -> None:
    """A filter whose weights are all equal (max = min) comes back as zeros, without NaNs."""
    __tracebackhide__ = True
    kernels = np.zeros((2, 3, 3, 3), "float32")
    kernels[1] = np.arange(27, dtype="float32").reshape(3, 3, 3)
    kernels[0] = 0.5
    out = np.asarray(normalise(kernels))
    if not np.all(np.isfinite(out)):
        fail("normalise_filters returned NaN or infinity for a filter whose weights are all equal.")
    if not np.allclose(out[0], 0):
        fail("A filter whose weights are all equal should come back as zeros.")


def check_tile(tile: Callable, n: int = 10, columns: int = 4, pad: int = 1, channels: int = 3) -> None:
    """``tile(images, columns, pad)`` lays ``images`` (n, h, w, c) out row by row with ``pad`` pixels of 1.0:
    the output's shape, each image in its place, and 1.0 everywhere else."""
    __tracebackhide__ = True
    rng = np.random.default_rng(n)
    h, w = 5, 7
    shape = (n, h, w, channels) if channels else (n, h, w)
    images = rng.random(shape, dtype=np.float32) * 0.9  # below 1.0, so the padding can be told apart
    out = np.asarray(tile(images, columns, pad))
    rows = -(-n // columns)
    expected = (rows * h + (rows - 1) * pad, columns * w + (columns - 1) * pad) + ((channels,) if channels else ())
    if out.shape != expected:
        fail(
            f"tile(images of shape {images.shape}, columns={columns}, pad={pad}) returned shape {out.shape}, "
            f"expected {expected}: {rows} rows of {columns}, {pad} pixel(s) between tiles."
        )
    covered = np.zeros(out.shape[:2], dtype=bool)
    for k in range(n):
        r, q = divmod(k, columns)
        top, left = r * (h + pad), q * (w + pad)
        if not np.allclose(out[top : top + h, left : left + w], images[k], atol=1e-6):
            fail(
                f"Image {k} is not at row {r}, column {q} (pixels {top}:{top + h}, {left}:{left + w}): image k goes "
                "to row k // columns and column k % columns, with the padding between tiles."
            )
        covered[top : top + h, left : left + w] = True
    if not np.allclose(out[~covered], 1.0):
        fail("The padding between tiles, and any empty tile at the end, must be 1.0.")
