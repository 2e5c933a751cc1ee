"""course.train: timed fit, the recommended recipe, seeding, evaluation and the device summary."""

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course import models, train  # noqa: E402


def tiny_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 1), dtype=np.float32), rng.integers(0, 10, n).astype("uint8")


def tiny_model():
    model = keras.Sequential(
        [keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_set_seed_makes_initialisation_repeat():
    weights = []
    for _ in range(2):
        assert train.set_seed(7) == 7
        weights.append([w.copy() for w in models.lenet5().get_weights()])
    train.set_seed(8)
    other = models.lenet5().get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    assert not np.array_equal(weights[0][0], other[0])


def test_fit_returns_timings_consistent_with_history():
    x, y = tiny_data()
    result = train.fit(tiny_model(), x, y, epochs=2, batch_size=32, verbose=0)
    assert isinstance(result, train.TrainResult)
    assert result.epochs == 2 and result.n_train == 96
    assert set(result.history) == {"loss", "accuracy"}
    assert all(len(v) == 2 for v in result.history.values())
    assert len(result.epoch_times_s) == 2 and all(t > 0 for t in result.epoch_times_s)
    assert result.wall_time_s >= sum(result.epoch_times_s)
    assert result.samples_per_s == pytest.approx(96 * 2 / result.wall_time_s)
    text = str(result)
    assert "\n" not in text and "2 epochs on 96 samples" in text and "samples/s" in text


def test_fit_counts_only_the_training_part_of_a_validation_split():
    x, y = tiny_data(100)
    result = train.fit(tiny_model(), x, y, epochs=1, batch_size=32, validation_split=0.2, verbose=0)
    assert result.n_train == 80  # what Keras trains on: the first 80%
    assert {"val_loss", "val_accuracy"} <= set(result.history)
    assert len(result.epoch_times_s) == 1 and result.wall_time_s >= result.epoch_times_s[0]


def test_fit_refuses_an_uncompiled_model():
    x, y = tiny_data(8)
    with pytest.raises(ValueError, match="compile"):
        train.fit(models.lenet5(), x, y, epochs=1)


def test_one_cycle_schedule_shape():
    schedule = train.OneCycle(peak=0.2, total_steps=100, warmup=0.2)
    lr = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert lr(0) == pytest.approx(0.02)
    assert lr(10) == pytest.approx(0.11)
    assert lr(20) == pytest.approx(0.2)
    assert lr(60) == pytest.approx(0.1)
    assert lr(100) == pytest.approx(0.0, abs=1e-7) and lr(150) == pytest.approx(0.0, abs=1e-7)
    assert train.OneCycle.from_config(schedule.get_config()).get_config() == schedule.get_config()
    with pytest.raises(ValueError):
        train.OneCycle(0.1, total_steps=0)


def test_recipes_compile_what_they_say_and_train():
    assert train.count_steps(1000, 128) == 8 and train.count_steps(1024, 128) == 8 and train.count_steps(1, 128) == 1
    recipe = train.LENET5_BN
    train.set_seed(0)
    model = models.lenet5(modern=True, batch_norm=True)
    assert recipe.compile(model, epochs=1, steps_per_epoch=3) is model
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.SGD) and opt.nesterov and opt.momentum == pytest.approx(0.9)
    schedule = opt.get_config()["learning_rate"]
    assert schedule["class_name"] == "OneCycle"
    assert schedule["config"] == {"peak": recipe.peak_lr, "total_steps": 3, "warmup": recipe.warmup}
    assert opt.weight_decay == pytest.approx(recipe.decay_per_run / 3)
    # The same total decay however long the run: 3 epochs of the 10k kit -> 0.05.
    assert recipe.weight_decay_for(3 * train.count_steps(10_000)) == pytest.approx(0.0506, abs=1e-4)
    assert opt.global_clipnorm is None  # batch norm: no clipping
    classic = recipe.compile(models.lenet5(), epochs=1, steps_per_epoch=3)
    assert classic.optimizer.global_clipnorm == recipe.clip_without_batch_norm == 1.0
    x, y = tiny_data(96)
    result = train.fit(model, x, y, epochs=1, batch_size=32, verbose=0)
    assert math.isfinite(result.history["loss"][0])
    assert int(opt.iterations.numpy()) == 3
    with pytest.raises(ValueError):
        recipe.compile(models.lenet5(), epochs=0, steps_per_epoch=3)


def test_the_lenet5_recipe_has_a_fixed_decay_and_no_clipping():
    opt = train.LENET5.compile(models.lenet5(modern=True), epochs=2, steps_per_epoch=5).optimizer
    assert opt.get_config()["learning_rate"]["config"]["peak"] == train.LENET5.peak_lr == 0.07
    assert opt.weight_decay == pytest.approx(0.005) and opt.global_clipnorm is None
    assert "0.07" in str(train.LENET5) and "30 epochs" in str(train.LENET5)
    with pytest.raises(ValueError, match="exactly one"):
        train.Recipe("nothing", peak_lr=0.1, epochs=1)


def test_evaluate_accuracy_on_a_model_with_known_answers():
    # A dense layer with an identity kernel predicts the index of the largest input.
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(3, use_bias=False, kernel_initializer="identity")(inputs))
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype="float32")
    y = np.array([0, 1, 2, 2])
    assert train.evaluate_accuracy(model, x, y) == pytest.approx(0.75)
    assert train.evaluate_accuracy(model, x, np.eye(3)[y]) == pytest.approx(0.75)  # one-hot labels


def test_device_summary_on_this_machine():
    info = train.device_summary()
    assert info["backend"] == keras.backend.backend()
    assert info["keras"] == keras.__version__
    assert info["cpu_cores"] >= 1
    assert info["mixed_precision"] == keras.mixed_precision.global_policy().name
    text = train.describe_device()
    assert info["backend"] in text and "\n" not in text
    if info["gpus"]:
        assert info["device"] == "GPU"
    else:
        assert info["device"] == "CPU" and info["strategy"] == "single device" and info["replicas"] == 1
        assert "CPU only" in text


def test_strategy_scope_builds_models():
    strategy = train.strategy()
    assert train.strategy() is strategy  # one strategy per process
    with strategy.scope():
        model = models.lenet5()
    assert model.count_params() == 61_706
    if not train.device_summary()["gpus"]:
        assert strategy.num_replicas_in_sync == 1


def test_mixed_precision_only_on_a_gpu():
    before = keras.mixed_precision.global_policy().name
    try:
        switched = train.use_mixed_precision_on_gpu()
        assert switched == bool(train.device_summary()["gpus"])
        expected = "mixed_float16" if switched else before
        assert keras.mixed_precision.global_policy().name == expected
        if switched:  # the softmax output stays float32
            assert models.lenet5().get_layer("output").compute_dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy(before)


def test_augmented_distorts_in_training_only_and_trains_the_wrapped_model():
    x, y = tiny_data(64)
    inner = tiny_model()
    wrapper = train.augmented(inner)
    assert wrapper.name == f"{inner.name}_augmented" and wrapper.layers[-1] is inner
    distort = wrapper.get_layer("distort")
    assert [type(layer).__name__ for layer in distort.layers] == ["RandomTranslation", "RandomRotation"]
    assert distort.count_params() == 0 and wrapper.count_params() == inner.count_params()
    moved = keras.ops.convert_to_numpy(distort(x[:4], training=True))
    assert not np.allclose(moved, x[:4])
    assert np.allclose(keras.ops.convert_to_numpy(distort(x[:4], training=False)), x[:4])
    before = [w.copy() for w in inner.get_weights()]
    wrapper.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    wrapper.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, inner.get_weights(), strict=True))


def test_over_seeds_summarises_each_row():
    table = train.over_seeds({"a": [0.9, 0.92, 0.94], "b": [0.5]})
    assert list(table.columns) == ["mean", "std", "min", "max", "seeds"]
    assert table.loc["a", "mean"] == pytest.approx(0.92) and table.loc["a", "std"] == pytest.approx(0.02)
    assert table.loc["a", "seeds"] == 3 and math.isnan(table.loc["b", "std"])
    with pytest.raises(ValueError):
        train.over_seeds({"c": []})
