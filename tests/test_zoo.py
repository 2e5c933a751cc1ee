"""The architecture zoo (course.models) against the papers' and keras.applications' figures, and
course.complexity.profile against the papers' costs."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from course import complexity, models


def _trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _output_channels(model, name) -> int:
    return int(model.get_layer(name).output.shape[-1])


# -- AlexNet -----------------------------------------------------------------------------------------


def test_alexnet_as_on_two_gpus_has_the_papers_sixty_million_parameters():
    model = models.alexnet()
    assert model.count_params() == 60_965_224
    assert tuple(model.get_layer("conv1").output.shape[1:]) == (55, 55, 96)
    assert tuple(model.get_layer("pool5").output.shape[1:]) == (6, 6, 256)
    macs = complexity.multiply_adds(model)
    assert 0.65e9 < macs < 0.75e9, macs  # "about 0.7 G multiply-adds"


def test_alexnet_on_one_tower_without_groups():
    model = models.alexnet(grouped=False, lrn=False)
    assert model.count_params() == 62_378_344
    assert not any(isinstance(layer, models.LocalResponseNorm) for layer in model.layers)
    assert 1.1e9 < complexity.multiply_adds(model) < 1.2e9


def test_local_response_norm_matches_tensorflows():
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 12)).astype("float32") * 30
    ours = keras.ops.convert_to_numpy(models.LocalResponseNorm()(x))
    theirs = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    layer = models.LocalResponseNorm.from_config(models.LocalResponseNorm(radius=3).get_config())
    assert layer.radius == 3


# -- VGG ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth, expected, reference", [(16, 138_357_544, "VGG16"), (19, 143_667_240, "VGG19")])
def test_vgg_matches_the_paper_and_keras_applications(depth, expected, reference):
    model = models.vgg(depth)
    assert model.count_params() == expected
    theirs = getattr(keras.applications, reference)(weights=None)
    assert theirs.count_params() == expected
    assert [layer.name for layer in model.layers if layer.weights] == [
        layer.name for layer in theirs.layers if layer.weights
    ]


def test_vgg16_costs_about_15_5_g_multiply_adds_at_224():
    table = complexity.profile(models.vgg(16))
    assert table.loc["total", "multiply-adds"] == pytest.approx(15.5e9, rel=0.01)
    assert table.loc["total", "parameters"] == 138_357_544
    fc_share = table.loc[["fc1", "fc2", "predictions"], "parameters"].sum() / table.loc["total", "parameters"]
    assert 0.85 < fc_share < 0.91  # most of VGG's weights sit in its dense layers
    assert table.loc["block5_conv3", "receptive field"] == 196  # the well-known figure for conv5_3


def test_vgg_configurations_and_the_convolutional_base():
    counts = {depth: models.vgg(depth, include_top=False).count_params() for depth in (11, 13, 16, 19)}
    assert counts[16] == 14_714_688  # = the kit's VGG16 weights without the top
    assert counts[11] < counts[13] < counts[16] < counts[19]
    c = models.vgg(config="C", include_top=False)
    assert c.get_layer("block3_conv3").kernel_size == (1, 1)
    assert c.count_params() < counts[16]
    with pytest.raises(ValueError, match="depth"):
        models.vgg(12)


# -- GoogLeNet ---------------------------------------------------------------------------------------


def test_googlenet_follows_table_1():
    model = models.googlenet()
    assert model.count_params() == 6_998_552
    outputs = {
        "inception3a": 256,
        "inception3b": 480,
        "inception4a": 512,
        "inception4d": 528,
        "inception4e": 832,
        "inception5b": 1024,
    }
    assert {name: _output_channels(model, name) for name in outputs} == outputs
    assert tuple(model.get_layer("inception3a").output.shape[1:3]) == (28, 28)
    assert tuple(model.get_layer("inception5b").output.shape[1:3]) == (7, 7)
    weight_layers = complexity.weight_layers(model)
    depth = 3 + 2 * 9 + 1  # the stem's 3 convolutions, 2 layers deep per module, the classifier
    assert len(weight_layers) == 3 + 6 * 9 + 1 and depth == 22  # the paper's "22 layers deep"
    assert 1.4e9 < complexity.multiply_adds(model) < 1.65e9  # the paper: about 1.5 G multiply-adds


def test_googlenet_for_cifar():
    model = models.googlenet((32, 32, 3), 10, width=0.25, stem="cifar")
    assert tuple(model.get_layer("inception3a").output.shape[1:]) == (32, 32, 64)
    assert model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).shape == (2, 10)


# -- ResNet ------------------------------------------------------------------------------------------


def test_resnet50_matches_keras_applications():
    model = models.resnet(50)
    assert model.count_params() == 25_636_712 == keras.applications.ResNet50(weights=None).count_params()
    assert len(complexity.weight_layers(model)) == 50 + 4  # 49 convolutions + classifier, and 4 projections
    assert 3.8e9 < complexity.multiply_adds(model) < 4.2e9  # He et al. Table 1: 3.8 x 10^9 FLOPs


@pytest.mark.parametrize("depth, paper", [(18, 11_689_512), (34, 21_797_672)])
def test_resnet18_and_34_against_their_published_sizes(depth, paper):
    model = models.resnet(depth)
    assert _trainable(model) == pytest.approx(paper, rel=0.002)  # ours add conv biases
    assert len([la for la in complexity.weight_layers(model) if "_0_conv" not in la.name]) == depth


@pytest.mark.parametrize("n, paper_m", [(3, 0.27), (5, 0.46), (7, 0.66), (9, 0.85)])
def test_cifar_resnets_have_table_6s_sizes(n, paper_m):
    model = models.cifar_resnet(n)
    assert model.name == f"resnet{6 * n + 2}"
    assert model.count_params() / 1e6 == pytest.approx(paper_m, abs=0.01)
    if n in (3, 9):
        assert model.count_params() == {3: 271_098, 9: 857_082}[n]  # the figures course.models' docstring gives
    assert len(complexity.weight_layers(model)) == 6 * n + 2


def test_plain_nets_are_the_same_stacks_without_shortcuts():
    residual, plain = models.cifar_resnet(3), models.cifar_resnet(3, plain=True)
    assert plain.name == "plain20" and plain.count_params() == residual.count_params()  # option A adds no weights
    assert not [la for la in plain.layers if isinstance(la, keras.layers.Add)]
    assert len([la for la in residual.layers if isinstance(la, keras.layers.Add)]) == 9
    assert not [la for la in models.resnet(18, plain=True).layers if isinstance(la, keras.layers.Add)]


def test_option_a_shortcut_pads_zero_channels():
    model = models.cifar_resnet(1, width=1.0)
    x = np.random.default_rng(0).normal(size=(1, 32, 32, 3)).astype("float32")
    pad = keras.Model(model.input, model.get_layer("stage2_block1_pad").output)
    out = keras.ops.convert_to_numpy(pad(x))
    assert out.shape == (1, 16, 16, 32) and np.all(out[..., 16:] == 0) and np.any(out[..., :16] != 0)


# -- every builder -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.alexnet((32, 32, 3), 10, width=0.25, conv1_kernel=5, conv1_stride=1),
        lambda: models.vgg(11, (32, 32, 3), 10, width=0.125, fc_units=512),
        lambda: models.googlenet((32, 32, 3), 10, width=0.125, stem="cifar"),
        lambda: models.resnet(18, (32, 32, 3), 10, width=0.25),
        lambda: models.cifar_resnet(2, (32, 32, 3), 7, width=0.5),
    ],
    ids=["alexnet", "vgg", "googlenet", "resnet", "cifar_resnet"],
)
def test_cpu_sized_variants_build_and_predict(build):
    model = build()
    p = model.predict(np.zeros((3, 32, 32, 3), "float32"), verbose=0)
    assert p.shape[0] == 3 and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert model.count_params() < 3_000_000


def test_width_scales_every_layer():
    half, full = models.vgg(11, (32, 32, 3), 10, width=0.5), models.vgg(11, (32, 32, 3), 10)
    assert _output_channels(half, "block1_conv1") == 32 and _output_channels(full, "block1_conv1") == 64
    with pytest.raises(ValueError, match="width"):
        models.vgg(11, width=0)


# -- profile -----------------------------------------------------------------------------------------


def test_profile_counts_parameters_cost_memory_and_receptive_fields():
    inputs = keras.Input((32, 32, 8))
    x = inputs
    for i in range(3):
        x = keras.layers.Conv2D(8, 3, padding="same", name=f"c{i}")(x)
    stack = keras.Model(inputs, keras.layers.Conv2D(8, 7, padding="same", name="c7")(inputs))
    three = keras.Model(inputs, x)
    t3, t7 = complexity.profile(three), complexity.profile(stack)
    assert t3.loc["c2", "receptive field"] == t7.loc["c7", "receptive field"] == 7  # three 3x3 see what one 7x7 sees
    assert t3.loc["total", "parameters"] == 3 * (9 * 8 * 8 + 8) < t7.loc["total", "parameters"] == 49 * 8 * 8 + 8
    assert t3.loc["c0", "multiply-adds"] == 32 * 32 * 9 * 8 * 8
    assert t3.loc["c0", "activation MB"] == pytest.approx(32 * 32 * 8 * 4 / 2**20)
    assert t3.loc["total", "activation MB"] == pytest.approx(4 * 32 * 32 * 8 * 4 / 2**20)  # 3 outputs + the input


def test_profile_totals_agree_with_keras_and_multiply_adds():
    model = models.googlenet()
    table = complexity.profile(model)
    assert table.loc["total", "parameters"] == model.count_params()
    assert table.loc["total", "multiply-adds"] == complexity.multiply_adds(model)
    assert table.loc["avg_pool", "receptive field"] >= 224  # global pooling sees the whole image (and more: padding)
    assert table.loc["conv1_7x7", "receptive field"] == 7
    alex = complexity.profile(models.alexnet())
    assert alex.loc["conv1", "receptive field"] == 11 and alex.loc["pool1", "receptive field"] == 19
