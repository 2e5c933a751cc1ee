"""The answer key of the ``feature_maps`` assignment (Q8): the conv1 extractor and the tiling, and the
hidden checks that compare a student's extractor and feature maps with the reference extractor's."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course.grading.core import _is_keras_model, check_input_shape, fail
from course.grading.feature_maps import _predict


def first_layer_extractor(model, layer: str = "conv1"):
    """A model from ``model``'s input to ``layer``'s output (Task 1)."""
    import keras

    return keras.Model(model.input, model.get_layer(layer).output)


def tile(images, columns: int, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Images (n, h, w[, c]) row by row, ``columns`` per row, ``pad`` pixels of ``pad_value`` between (Task 3)."""
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


def check_extractor(build: Callable, model, image, layer: str = "conv1") -> None:
    """``build(model)`` returns a Keras model that maps images to ``layer``'s outputs (same shape and values)."""
    __tracebackhide__ = True
    extractor = build(model)
    if not _is_keras_model(extractor):
        fail(f"first_layer_extractor returned a {type(extractor).__name__}; return a keras.Model.")
    check_input_shape(extractor, tuple(model.input_shape[1:]), "the same input as the AlexNet")
    got, want = _predict(extractor, image), _predict(first_layer_extractor(model, layer), image)
    if got.shape != want.shape:
        fail(
            f"The extractor outputs shape {got.shape[1:]} per image, but {layer!r} outputs {want.shape[1:]}: "
            f"end the model at model.get_layer({layer!r}).output."
        )
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        fail(f"The extractor's outputs differ from the outputs of the AlexNet's {layer!r} layer.")


def check_activations(activations, model, image, layer: str = "conv1") -> None:
    """``activations`` are ``layer``'s outputs for ``image``, one channel per filter."""
    __tracebackhide__ = True
    want = _predict(first_layer_extractor(model, layer), image)
    got = np.asarray(activations)
    if got.shape != want.shape:
        fail(f"`activations` has shape {got.shape}, expected {want.shape} (batch, height, width, channels).")
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        fail(
            f"`activations` are not the {layer!r} outputs of the AlexNet for `image`: compute them with your extractor."
        )
