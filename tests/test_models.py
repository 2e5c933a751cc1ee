"""course.models: LeNet-5's layers, shapes and parameter counts, and the Q1 baselines' budgets."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course import models  # noqa: E402

# LeNet-5's layers and their outputs on a 32x32x1 image (batch dimension left out).
LENET5_SHAPES = {
    "C1": (28, 28, 6),
    "S2": (14, 14, 6),
    "C3": (10, 10, 16),
    "S4": (5, 5, 16),
    "C5": (1, 1, 120),
    "flatten": (120,),
    "F6": (84,),
    "output": (10,),
}
LENET5_PARAMS = {"C1": 156, "S2": 0, "C3": 2416, "S4": 0, "C5": 48120, "flatten": 0, "F6": 10164, "output": 850}


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("modern", [False, True])
def test_lenet5_has_61706_parameters_and_the_papers_shapes(modern):
    model = models.lenet5(modern=modern)
    assert model.name == ("lenet5_modern" if modern else "lenet5")
    assert trainable(model) == 61_706
    assert model.count_params() == 61_706
    assert model.input_shape == (None, 32, 32, 1)
    for name, shape in LENET5_SHAPES.items():
        layer = model.get_layer(name)
        assert tuple(layer.output.shape[1:]) == shape, name
        assert layer.count_params() == LENET5_PARAMS[name], name
    assert [layer.name for layer in model.layers[1:]] == list(LENET5_SHAPES)


def test_classic_and_modern_differ_in_activation_and_pooling():
    classic, modern = models.lenet5(), models.lenet5(modern=True)
    assert isinstance(classic.get_layer("S2"), keras.layers.AveragePooling2D)
    assert isinstance(modern.get_layer("S2"), keras.layers.MaxPooling2D)
    for name in ("C1", "C3", "C5", "F6"):
        assert classic.get_layer(name).activation.__name__ == "tanh"
        assert modern.get_layer(name).activation.__name__ == "relu"
    assert classic.get_layer("output").activation.__name__ == "softmax"


@pytest.mark.parametrize("modern", [False, True])
def test_lenet5_batch_norm_variant(modern):
    model = models.lenet5(modern=modern, batch_norm=True)
    assert model.name.endswith("_bn")
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert [layer.name for layer in bn] == ["S2_bn", "S4_bn", "C5_bn", "F6_bn"]
    assert all(layer.momentum == models.BN_MOMENTUM for layer in bn)
    for name, shape in LENET5_SHAPES.items():  # BN changes no shapes
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name
    # Conv/dense layers before a BN lose their bias (226 of them), BN adds gamma and beta (2 * 226) ...
    assert trainable(model) == 61_706 - 226 + 2 * 226
    # ... and 452 non-trainable moving statistics.
    assert model.count_params() - trainable(model) == 452
    assert not model.get_layer("C1").use_bias
    out = model(np.zeros((2, 32, 32, 1), "float32"), training=False)
    assert tuple(out.shape) == (2, 10)


def test_lenet5_outputs_probabilities_and_accepts_other_sizes():
    model = models.lenet5(modern=True)
    x = np.random.default_rng(0).random((3, 32, 32, 1)).astype("float32")
    p = keras.ops.convert_to_numpy(model(x))
    assert p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    wide = models.lenet5(input_shape=(48, 48, 1), num_classes=5)
    assert tuple(wide.get_layer("C5").output.shape[1:]) == (5, 5, 120)  # 48 -> 44 -> 22 -> 18 -> 9 -> 5
    assert wide.output_shape == (None, 5)
    with pytest.raises(ValueError):  # 16 -> 12 -> 6 -> 2 -> 1: too small for C5's 5x5 kernel
        models.lenet5(input_shape=(16, 16, 1))


def test_mlp_and_small_cnn_have_comparable_budgets():
    mlp, cnn = models.mlp(), models.small_cnn()
    n_mlp, n_cnn = mlp.count_params(), cnn.count_params()
    assert (n_mlp, n_cnn) == (34_990, 34_826)  # the counts their docstrings give
    assert abs(n_mlp - n_cnn) / n_cnn < 0.2
    for model in (mlp, cnn):
        assert model.input_shape == (None, 28, 28, 1)
        assert model.output_shape == (None, 10)
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in mlp.layers)
    assert models.mlp(hidden=(32, 16)).count_params() == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
