"""course.gradients, course.stepwise, course.pretrained and data.centre_pixels."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from course import data, gradients, models, pretrained, stepwise, train

REAL_KIT = os.environ.get("COURSE_DATA_DIR", "")


def _blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 8, 8, 3)).astype("float32") + y[:, None, None, None]
    return x, y


# -- gradients ---------------------------------------------------------------------------------------


def test_gradient_of_a_softmax_layer_matches_the_formula():
    """For softmax regression, d(mean cross-entropy)/dW = X^T (P - Y) / n."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 5)).astype("float32"), rng.integers(0, 4, 16)
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="out")(inputs))
    p = model.predict(x, verbose=0)
    expected = x.T @ (p - np.eye(4)[y]) / len(x)
    got = gradients.kernel_gradients(model, x, y)["out"]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert gradients.gradient_norms(model, x, y)["out"] == pytest.approx(np.linalg.norm(expected), rel=1e-4)


def test_gradient_norms_of_plain_and_residual_nets_cover_every_convolution():
    x, y = np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32"), np.arange(8) % 10
    for plain in (True, False):
        norms = gradients.gradient_norms(models.cifar_resnet(1, width=0.5, plain=plain), x, y)
        assert len(norms) == 6 * 1 + 2 and list(norms)[0] == "conv1_conv" and list(norms)[-1] == "predictions"
        assert all(math.isfinite(v) and v > 0 for v in norms.values())


# -- stepwise ----------------------------------------------------------------------------------------


def _small_model(seed=0):
    train.set_seed(seed)
    model = models.cifar_resnet(1, (8, 8, 3), 3, width=0.5, bn_momentum=0.5)
    return train.CIFAR_RESNET.compile(model, epochs=1, steps_per_epoch=12)


def test_fit_steps_measures_at_every_checkpoint_and_repeats_with_a_seed():
    x, y = _blobs()
    measure = {"train": (x[:64], y[:64]), "test": (x[64:128], y[64:128])}
    first = stepwise.fit_steps(_small_model(), x, y, steps=12, batch_size=32, every=5, measure=measure, seed=3)
    assert first.steps == [0, 5, 10, 12] and len(first.errors["test"]) == 4
    assert all(0 <= e <= 1 for e in first.errors["train"]) and first.seconds == sorted(first.seconds)
    assert first.wall_time_s == first.seconds[-1] > 0
    assert first.final("train") < first.errors["train"][0]  # it learned the blobs
    again = stepwise.fit_steps(_small_model(), x, y, steps=12, batch_size=32, every=5, measure=measure, seed=3)
    assert again.errors == first.errors
    assert "12 steps" in str(first)


def test_fit_steps_stops_at_a_time_budget():
    x, y = _blobs()
    result = stepwise.fit_steps(_small_model(), x, y, steps=1000, batch_size=32, every=2, max_seconds=0.5)
    assert result.steps[-1] < 1000 and result.wall_time_s >= 0.5


def test_summarise_and_plot_errors():
    runs = {
        "a": [
            stepwise.StepResult("a", [0, 5], [0, 1.0], {"train": [0.9, 0.3]}, 1.0),
            stepwise.StepResult("a", [0, 5], [0, 1.2], {"train": [0.9, 0.5]}, 1.2),
        ],
        "b": [stepwise.StepResult("b", [0, 5], [0, 2.0], {"train": [0.9, 0.6]}, 2.0)],
    }
    table = stepwise.summarise(runs, "train")
    assert table.loc["a", "train error (mean)"] == 0.4 and table.loc["a", "std"] == pytest.approx(0.1414, abs=1e-4)
    assert table.loc["a", "runs"] == 2 and math.isnan(table.loc["b", "std"])
    assert len(stepwise.plot_errors(runs).lines) == 2
    assert stepwise.plot_errors(runs, against="seconds").get_xlabel() == "training time (s)"
    runs["a"].append(stepwise.StepResult("a", [0, 5, 10], [0, 1.1, 2.0], {"train": [0.9, 0.4, 0.2]}, 2.0))
    ax = stepwise.plot_errors(runs, against="steps")  # a run with one more checkpoint than the others
    assert list(ax.lines[0].get_xdata()) == [0, 5]
    assert stepwise.summarise(runs, "train").loc["a", "runs"] == 3


def test_centre_pixels_uses_the_training_mean():
    x = np.random.default_rng(0).integers(0, 256, size=(50, 4, 4, 3), dtype=np.uint8)
    centred, other = data.centre_pixels(x, x[:5])
    assert centred.dtype == np.float32 and np.allclose(centred.reshape(-1, 3).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(other, centred[:5])


# -- pretrained --------------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    data.clear_cache()
    yield tmp_path
    data.clear_cache()


def test_vgg16_base_offline_uses_the_kit_and_says_so(offline, capsys):
    if not REAL_KIT:
        pytest.skip("needs the offline data kit (COURSE_DATA_DIR)")
    model, weights = pretrained.vgg16_base((64, 64, 3))
    assert weights.origin == "kit" and model.count_params() == 14_714_688
    assert "edge-detection (HED) fine-tune" in capsys.readouterr().out
    filters = pretrained.first_layer_filters(model)
    assert filters.shape == (64, 3, 3, 3) and filters.std() > 0.01  # learned, not zeros


def test_vgg16_on_grayscale_is_the_base_and_head_on_copied_grey_channels(tmp_path):
    import keras

    from course import transfer

    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    head = transfer.head(base.output_shape[1:], 3)
    model = pretrained.vgg16_on_grayscale(base, head)
    grey = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 1)).astype("float32")
    expected = head(base(keras.applications.vgg16.preprocess_input(np.repeat(grey, 3, axis=-1))))
    as_array = keras.ops.convert_to_numpy  # a backend tensor (PyTorch's may carry gradients) as NumPy
    np.testing.assert_allclose(as_array(model(grey)), as_array(expected), rtol=1e-5, atol=1e-6)
    assert model.get_layer("block5_conv3") is base.get_layer("block5_conv3")  # shared, so fine-tuning carries over
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(as_array(again(grey)), as_array(expected), rtol=1e-5, atol=1e-6)


def test_vgg16_base_without_any_source_names_both(offline, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    with pytest.raises(data.DatasetNotFoundError, match="(?s)ImageNet weights.*offline kit.*How to fix"):
        pretrained.vgg16_base()


def test_flowers_alexnet_is_trained_once_then_loaded(offline, capsys):
    if not REAL_KIT:
        pytest.skip("needs the offline data kit (COURSE_DATA_DIR)")
    first, w1 = pretrained.flowers_alexnet(epochs=1, samples=64)
    assert w1.origin == "trained" and w1.path and os.path.isfile(w1.path)
    again, w2 = pretrained.flowers_alexnet(epochs=1, samples=64)
    assert w2.origin == "cache" and w2.path == w1.path
    np.testing.assert_array_equal(pretrained.first_layer_filters(first), pretrained.first_layer_filters(again))
    assert pretrained.first_layer_filters(first).shape == (48, 11, 11, 3)
    other, w3 = pretrained.flowers_alexnet(epochs=2, samples=64)
    assert w3.origin == "trained" and w3.path != w1.path  # another budget, another key
    assert "trained now" in capsys.readouterr().out
