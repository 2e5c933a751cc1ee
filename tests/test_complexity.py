"""Tests for course.complexity: multiply-add and weight-layer counts checked by hand."""

import keras
import pytest
from keras import layers

from course.complexity import layer_multiply_adds, multiply_adds, weight_layers


def _model(input_shape, *stack):
    return keras.Sequential([keras.Input(input_shape), *stack])


def test_conv_multiply_adds():
    m = _model((28, 28, 1), layers.Conv2D(6, 5))
    assert multiply_adds(m) == 24 * 24 * (5 * 5 * 1) * 6


def test_same_padding_and_strides_use_output_positions():
    m = _model((32, 32, 3), layers.Conv2D(8, 3, strides=2, padding="same"))
    assert multiply_adds(m) == 16 * 16 * (3 * 3 * 3) * 8


def test_grouped_conv_costs_groups_times_less():
    full = _model((13, 13, 256), layers.Conv2D(384, 3, padding="same"))
    grouped = _model((13, 13, 256), layers.Conv2D(384, 3, padding="same", groups=2))
    assert multiply_adds(full) == 13 * 13 * 9 * 256 * 384
    assert multiply_adds(grouped) * 2 == multiply_adds(full)


def test_depthwise_conv():
    m = _model((10, 10, 4), layers.DepthwiseConv2D(3, depth_multiplier=2))
    assert multiply_adds(m) == 8 * 8 * 9 * 4 * 2


def test_dense_on_vectors_and_on_sequences():
    assert multiply_adds(_model((100,), layers.Dense(10))) == 100 * 10
    assert multiply_adds(_model((5, 8), layers.Dense(3))) == 5 * 8 * 3


def test_layers_without_weights_cost_nothing():
    m = _model((8, 8, 2), layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5), layers.Activation("relu"))
    assert multiply_adds(m) == 0
    assert weight_layers(m) == []
    assert layer_multiply_adds(m.layers[0]) == 0


def test_lenet5_by_hand():
    lenet = _model(
        (32, 32, 1),
        layers.Conv2D(6, 5, name="C1"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, name="C3"),
        layers.AveragePooling2D(2),
        layers.Conv2D(120, 5, name="C5"),
        layers.Flatten(),
        layers.Dense(84, name="F6"),
        layers.Dense(10, name="output"),
    )
    assert [layer.name for layer in weight_layers(lenet)] == ["C1", "C3", "C5", "F6", "output"]
    expected = 28 * 28 * 150 + 10 * 10 * 2400 + 1 * 1 * 48000 + 120 * 84 + 84 * 10
    assert multiply_adds(lenet) == expected


def test_nested_models_are_entered():
    inner = _model((8, 8, 1), layers.Conv2D(2, 3, name="inner_conv"))
    outer = keras.Sequential([keras.Input((8, 8, 1)), inner, layers.Flatten(), layers.Dense(4, name="head")])
    assert [layer.name for layer in weight_layers(outer)] == ["inner_conv", "head"]
    assert multiply_adds(outer) == 6 * 6 * 9 * 2 + 72 * 4


@pytest.mark.parametrize("bad", [None, "model"])
def test_rejects_non_models(bad):
    with pytest.raises(AttributeError):
        multiply_adds(bad)
