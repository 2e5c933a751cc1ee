"""The feature_maps assignment's checks: the visible ones (course.grading.feature_maps) test properties
and pass the answer key's answers; the hidden ones (autograder.answer_key.feature_maps) compare with the
reference extractor. Each fails the mistakes it exists to catch."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.answer_key import feature_maps as key
from course.grading import feature_maps as grading


@pytest.mark.parametrize("n, columns, pad, channels", [(10, 4, 1, 3), (12, 4, 1, 3), (7, 3, 0, 3), (5, 2, 2, 0)])
def test_tile_check_passes_the_answer_key(n, columns, pad, channels):
    def tile(images, columns, pad=1):
        out = key.tile(images, columns, pad)
        return out[..., 0] if np.ndim(images) == 3 else out

    grading.check_tile(tile, n=n, columns=columns, pad=pad, channels=channels)


def test_tile_check_catches_a_column_major_layout_a_zero_padding_and_a_wrong_shape():
    def column_major(images, columns, pad=1):  # image k at row k % rows: the tiles in the wrong places
        n = len(images)
        rows = -(-n // columns)
        order = [r * columns + q for q in range(columns) for r in range(rows)]
        return key.tile(np.asarray(images)[[k for k in order if k < n]], columns, pad)

    def zero_padding(images, columns, pad=1):
        return key.tile(images, columns, pad, pad_value=0.0)

    def no_padding(images, columns, pad=1):
        return key.tile(images, columns, 0)

    with pytest.raises(AssertionError, match="Image 1 is not at row 0, column 1"):
        grading.check_tile(column_major)
    with pytest.raises(AssertionError, match="must be 1.0"):
        grading.check_tile(zero_padding)
    with pytest.raises(AssertionError, match="returned shape"):
        grading.check_tile(no_padding)


def test_the_visible_checks_hold_no_reference_answer():
    """Students receive course.grading; the reference answers live only in the answer key."""
    names = set(dir(grading))
    assert not {"tile", "first_layer_extractor", "check_extractor", "check_activations"} & names
    assert not [name for name in names if "reference" in name]


def _alexnet_like():
    import keras

    inputs = keras.Input((16, 16, 3))
    conv1 = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(conv1))
    return keras.Model(inputs, outputs)


def test_hidden_extractor_and_activation_checks_compare_with_the_reference():
    import keras

    model = _alexnet_like()
    image = np.random.default_rng(0).random((1, 16, 16, 3), dtype=np.float32)
    key.check_extractor(key.first_layer_extractor, model, image)
    key.check_activations(key.first_layer_extractor(model).predict(image, verbose=0), model, image)
    with pytest.raises(AssertionError, match="outputs shape"):
        key.check_extractor(lambda m: keras.Model(m.input, m.output), model, image)
    with pytest.raises(AssertionError, match="are not the 'conv1' outputs"):
        key.check_activations(np.zeros((1, 14, 14, 4), "float32"), model, image)
