"""The checks of the ``feature_maps`` assignment (Q8: the filters and feature maps of AlexNet's first layer).

The notebook imports this module as ``grading``. The student writes three functions
(``first_layer_extractor``, ``normalise_filters``, ``tile``) and computes the feature
maps of an example image; the checks call the functions on arrays and models and
compare with references computed here.
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
    "check_activations",
    "check_extractor",
    "check_flat_filter",
    "check_output_shape",
    "check_input_shape",
    "check_normalised_filters",
    "check_tile",
    "for_mode",
    "reference_tile",
    "require",
]

#: Calls an answer cell should not make (flagged for review as ``library-shortcut``): the checks' own
#: reference implementations of the student's tasks.
SHORTCUTS = {
    "course.grading.feature_maps.reference_tile": (),
    "course.grading.feature_maps._reference_extractor": (),
}

#: The AlexNet's training budget while grading and in smoke runs (the notebook passes them to
#: ``course.runtime.settings``): a few photos for one epoch, so the filters are nearly random and the
#: notebook grades in seconds; the tests check the code, not how well the filters were learned.
AUTOGRADE_BUDGET = {"alexnet_epochs": 1, "alexnet_samples": 128}
SMOKE_BUDGET = {"alexnet_epochs": 1, "alexnet_samples": 128}


def _reference_extractor(model, layer: str = "conv1"):
    import keras

    return keras.Model(model.input, model.get_layer(layer).output)


def _predict(model, x) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(x, dtype="float32"), verbose=0))


def check_extractor(build: Callable, model, image, layer: str = "conv1") -> None:
    """``build(model)`` returns a Keras model that maps images to ``layer``'s outputs (same shape and values)."""
    __tracebackhide__ = True
    extractor = build(model)
    if not core._is_keras_model(extractor):
        fail(f"first_layer_extractor returned a {type(extractor).__name__}; return a keras.Model.")
    check_input_shape(extractor, tuple(model.input_shape[1:]), "the same input as the AlexNet")
    expected = _reference_extractor(model, layer)
    got, want = _predict(extractor, image), _predict(expected, image)
    if got.shape != want.shape:
        fail(
            f"The extractor outputs shape {got.shape[1:]} per image, but {layer!r} outputs {want.shape[1:]}: "
            f"end the model at model.get_layer({layer!r}).output."
        )
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        fail(f"The extractor's outputs differ from the outputs of the AlexNet's {layer!r} layer.")


def check_output_shape(extractor, image, expected: tuple) -> None:
    """``extractor`` maps ``image`` (a batch of one) to feature maps of shape ``expected`` (batch axis left out)."""
    __tracebackhide__ = True
    if not core._is_keras_model(extractor):
        fail(f"Expected a keras.Model, got {type(extractor).__name__}. Does first_layer_extractor `return` it?")
    got = _predict(extractor, image).shape[1:]
    if tuple(got) != tuple(expected):
        fail(f"The extractor outputs feature maps of shape {tuple(got)}, expected {tuple(expected)}.")


def check_activations(activations, model, image, layer: str = "conv1") -> None:
    """``activations`` are ``layer``'s outputs for ``image``, one channel per filter."""
    __tracebackhide__ = True
    want = _predict(_reference_extractor(model, layer), image)
    got = np.asarray(activations)
    if got.shape != want.shape:
        fail(f"`activations` has shape {got.shape}, expected {want.shape} (batch, height, width, channels).")
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        fail(
            f"`activations` are not the {layer!r} outputs of the AlexNet for `image`: compute them with your extractor."
        )


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


def reference_tile(images, columns: int, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """The layout ``tile`` must produce (see the assignment's Task 3)."""
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    rows = -(-n // columns)
    out = np.full((rows * h + (rows - 1) * pad, columns * w + (columns - 1) * pad, c), pad_value, dtype="float32")
    for k in range(n):
        r, q = divmod(k, columns)
        out[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = images[k]
    return out


def check_tile(tile: Callable, n: int = 10, columns: int = 4, pad: int = 1, channels: int = 3) -> None:
    """``tile(images, columns, pad)`` lays ``images`` (n, h, w, c) out row by row with ``pad`` pixels of 1.0."""
    __tracebackhide__ = True
    rng = np.random.default_rng(n)
    shape = (n, 5, 7, channels) if channels else (n, 5, 7)
    images = rng.random(shape, dtype=np.float32) * 0.9  # below 1.0, so the padding can be told apart
    out = np.asarray(tile(images, columns, pad))
    expected = reference_tile(images, columns, pad)
    if channels == 0:
        expected = expected[..., 0]
    if out.shape != expected.shape:
        fail(
            f"tile(images of shape {images.shape}, columns={columns}, pad={pad}) returned shape {out.shape}, "
            f"expected {expected.shape}: {-(-n // columns)} rows of {columns}, {pad} pixel(s) between tiles."
        )
    if not np.allclose(out, expected, atol=1e-6):
        fail(
            "The tiles are not where they should be: image k goes to row k // columns and column k % columns, "
            "and the padding between tiles (and any empty tile at the end) is 1.0."
        )
