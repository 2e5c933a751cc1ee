"""Grad-CAM: gradients.activation_gradients and viz.grad_cam / plot_grad_cam on tiny models with known answers."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course import gradients, viz


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _fixed(layer, *weights):
    layer.set_weights([np.asarray(w, dtype="float32") for w in weights])
    return layer


def brightness_model(pool: bool = False, softmax: bool = True) -> keras.Model:
    """(8, 8, 1) -> 1x1 convolution that copies the image -> [2x2 max pool] -> mean -> class 0 = bright.

    The logits are (mean, -mean): class 0's score grows with every pixel's brightness, class 1's falls.
    """
    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, name="conv")
    x = conv(inputs)
    if pool:
        x = keras.layers.MaxPooling2D(2, name="pool")(x)
    dense = keras.layers.Dense(2, activation="softmax" if softmax else None, name="out")
    outputs = dense(keras.layers.GlobalAveragePooling2D(name="gap")(x))
    model = keras.Model(inputs, outputs)
    _fixed(conv, np.ones((1, 1, 1, 1)))
    _fixed(dense, [[1.0, -1.0]], [0.0, 0.0])
    return model


def bright_patch(row: int, col: int, value: float = 1.0, n: int = 1) -> np.ndarray:
    """``n`` dark 8x8 images with a 2x2 bright patch at (row, col) and a faint glow elsewhere."""
    image = np.full((8, 8, 1), 0.05, dtype="float32")
    image[row : row + 2, col : col + 2] = value
    return np.repeat(image[None], n, axis=0)


def test_activation_gradients_of_a_linear_model_match_the_formula():
    # score of class 0 = mean of the 64 activations (no softmax): each gradient is 1/64, class 1's -1/64
    model = brightness_model(softmax=False)
    images = np.concatenate([bright_patch(1, 1), bright_patch(5, 5)])
    acts, grads = gradients.activation_gradients(model, "conv", images, class_index=[0, 1])
    np.testing.assert_allclose(acts, images)  # the 1x1 convolution copies its input
    np.testing.assert_allclose(grads[0], np.full((8, 8, 1), 1 / 64), rtol=1e-6)
    np.testing.assert_allclose(grads[1], np.full((8, 8, 1), -1 / 64), rtol=1e-6)
    # with a softmax, p0 = sigmoid(2 mean) and dp0/dA = 2 p0 (1 - p0) / 64 (class None: the predicted one, 0)
    softmax = brightness_model()
    _, grads = gradients.activation_gradients(softmax, "conv", images[:1])
    p0 = softmax.predict(images[:1], verbose=0)[0, 0]
    assert p0 > 0.5
    np.testing.assert_allclose(grads, np.full((1, 8, 8, 1), 2 * p0 * (1 - p0) / 64), rtol=1e-5)


def test_activation_gradients_reach_a_layer_inside_a_residual_branch():
    # c1 = 2x, c2 = 3 * c1, add = c1 + c2 = 4 * c1, score = mean(add): d/d(c1) = 4/64, d/d(c2) = 1/64
    inputs = keras.Input((4, 4, 1))
    c1 = keras.layers.Conv2D(1, 1, use_bias=False, name="c1")
    c2 = keras.layers.Conv2D(1, 1, use_bias=False, name="c2")
    a = c1(inputs)
    added = keras.layers.Add(name="add")([a, c2(a)])
    out = keras.layers.Dense(1, use_bias=False, name="out")
    model = keras.Model(inputs, out(keras.layers.GlobalAveragePooling2D()(added)))
    _fixed(c1, [[[[2.0]]]]), _fixed(c2, [[[[3.0]]]]), _fixed(out, [[1.0]])
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 1)).astype("float32")
    acts, grads = gradients.activation_gradients(model, "c1", x, class_index=0)
    np.testing.assert_allclose(acts, 2 * x, rtol=1e-6)
    np.testing.assert_allclose(grads, np.full(x.shape, 4 / 16), rtol=1e-6)
    _, grads = gradients.activation_gradients(model, "c2", x, class_index=0)
    np.testing.assert_allclose(grads, np.full(x.shape, 1 / 16), rtol=1e-6)
    assert gradients.feature_map_layers(model) == ["c1", "c2", "add"]


def test_grad_cam_looks_at_a_frozen_nested_base_as_one_layer():
    # a transfer-learning shape: a frozen base model (here the copying convolution) under a new head
    base_inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, name="conv")
    base = keras.Model(base_inputs, conv(base_inputs), name="base")
    _fixed(conv, np.ones((1, 1, 1, 1)))
    base.trainable = False
    inputs = keras.Input((8, 8, 1))
    dense = keras.layers.Dense(2, activation="softmax", name="out")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))))
    _fixed(dense, [[1.0, -1.0]], [0.0, 0.0])
    images = np.concatenate([bright_patch(1, 1), bright_patch(5, 5)])
    assert gradients.feature_map_layers(model) == ["base"]
    np.testing.assert_allclose(viz.grad_cam(model, images), viz.grad_cam(brightness_model(), images), rtol=1e-5)
    with pytest.raises(ValueError, match=r"no layer 'conv'.*\['base'\]"):  # a layer inside the base: name the base
        viz.grad_cam(model, images, layer_name="conv")


def test_a_wrong_layer_name_lists_the_feature_map_layers():
    model = brightness_model(pool=True)
    with pytest.raises(ValueError, match=r"no layer 'conv5'.*\['conv', 'pool'\]"):
        gradients.activation_gradients(model, "conv5", bright_patch(0, 0), 0)
    with pytest.raises(ValueError, match=r"\['conv', 'pool'\]"):
        viz.grad_cam(model, bright_patch(0, 0), layer_name="conv5")
    with pytest.raises(ValueError, match="4-D output"):
        viz.grad_cam(model, bright_patch(0, 0), layer_name="gap")
    with pytest.raises(ValueError, match="out of range"):
        gradients.activation_gradients(model, "conv", bright_patch(0, 0), 2)


def test_grad_cam_peaks_where_the_bright_patch_is():
    model = brightness_model()
    images = np.concatenate([bright_patch(1, 1), bright_patch(1, 5), bright_patch(5, 1), bright_patch(5, 5)])
    heatmaps = viz.grad_cam(model, images)  # the default layer is "conv", the default class the predicted 0
    assert heatmaps.shape == (4, 8, 8)
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    # one channel, a positive weight: the map is the activation scaled to a peak of 1
    np.testing.assert_allclose(heatmaps, images[..., 0] / images.max(axis=(1, 2, 3))[:, None, None], rtol=1e-5)
    np.testing.assert_allclose(viz.grad_cam(model, images, layer_name="conv", class_index=0), heatmaps)
    for heatmap, (row, col) in zip(heatmaps, [(1, 1), (1, 5), (5, 1), (5, 5)], strict=True):
        peak = np.unravel_index(heatmap.argmax(), heatmap.shape)
        assert (peak[0] // 4, peak[1] // 4) == (row // 4, col // 4)
    # class 1 ("dark") finds no positive evidence in a bright image: the map stays zero, without NaNs
    dark = viz.grad_cam(model, images, class_index=1)
    assert np.all(dark == 0)


def test_grad_cam_of_a_coarser_layer_is_resized_to_the_input():
    model = brightness_model(pool=True)
    image = bright_patch(0, 4)[0]  # one image (8, 8, 1): top-right quadrant
    heatmaps = viz.grad_cam(model, image)  # default layer: "pool", 4x4
    assert heatmaps.shape == (1, 8, 8) and heatmaps.max() == pytest.approx(1.0)
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    quadrants = [heatmaps[0, r : r + 4, c : c + 4].sum() for r in (0, 4) for c in (0, 4)]
    assert int(np.argmax(quadrants)) == 1  # top-right
    peak = np.unravel_index(heatmaps[0].argmax(), (8, 8))
    assert peak[0] < 4 <= peak[1]


def test_plot_grad_cam_draws_one_overlaid_panel_per_image():
    model = brightness_model()
    images = np.concatenate([bright_patch(1, 1), bright_patch(5, 5), bright_patch(1, 5)])
    heatmaps = viz.grad_cam(model, images)
    fig = viz.plot_grad_cam(images, heatmaps, titles=["a", "b", "c"])
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"] and fig._suptitle.get_text()
    assert all(len(ax.images) == 2 for ax in fig.axes)  # the image and its heat map on top
    np.testing.assert_allclose(fig.axes[1].images[1].get_array(), heatmaps[1])
    assert fig.axes[0].images[1].get_alpha() == 0.4
    rgb = np.repeat(np.concatenate([images] * 3), 3, axis=-1) * 255  # 9 colour images, two rows of 6
    fig = viz.plot_grad_cam(rgb.astype("uint8"), np.concatenate([heatmaps] * 3), alpha=0.6)
    assert len(fig.axes) == 9 and fig.axes[0].images[0].get_array().shape == (8, 8, 3)
    with pytest.raises(ValueError, match="one \\(h, w\\) heat map per image"):
        viz.plot_grad_cam(images, heatmaps[:2])
