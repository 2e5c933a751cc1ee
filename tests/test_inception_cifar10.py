"""The GoogLeNet assignment's checks (course.grading.inception_cifar10): each passes the course's own
builders and fails the mistakes it exists to catch, with a message that names them."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from course import models, train, viz
from course.grading import inception_cifar10 as grading


def module(filters=grading.INCEPTION_3A, order=(0, 1, 2, 3), activation="relu", five=5, batch_norm=False):
    """Inception 3a on 32x32x192, built by hand so that each test can get one thing wrong."""
    f1, r3, f3, r5, f5, fp = filters
    x = keras.Input(grading.INCEPTION_3A_INPUT)

    def conv(y, n, k):
        y = layers.Conv2D(n, k, padding="same", activation=None if batch_norm else activation)(y)
        return layers.ReLU()(layers.BatchNormalization()(y)) if batch_norm else y

    branches = [
        conv(x, f1, 1),
        conv(conv(x, r3, 1), f3, 3),
        conv(conv(x, r5, 1), f5, five),
        conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), fp, 1),
    ]
    return keras.Model(x, layers.Concatenate()([branches[i] for i in order]))


def test_the_course_module_passes_both_module_checks():
    x = keras.Input(grading.INCEPTION_3A_INPUT)
    built = keras.Model(x, models.inception(x, "3a", grading.INCEPTION_3A))
    assert built.count_params() == grading.INCEPTION_3A_PARAMETERS == 163_696
    grading.check_module_output(built)
    grading.check_module_branches(built)
    grading.check_module_branches(module())


def test_branches_in_another_order_are_caught_though_channels_and_parameters_agree():
    swapped = module(order=(1, 0, 2, 3))
    grading.check_module_output(swapped)  # 256 channels, ReLUs: this check cannot see the order
    with pytest.raises(AssertionError, match="the 1x1 branch"):
        grading.check_module_branches(swapped)


def test_a_missing_relu_is_caught_by_the_outputs():
    with pytest.raises(AssertionError, match="negative"):
        grading.check_module_output(module(activation=None))


def test_a_wrong_kernel_and_batch_norm_are_caught():
    with pytest.raises(AssertionError, match="5x5 convolution of 32 filters"):
        grading.check_module_branches(module(five=3))
    with pytest.raises(AssertionError, match="parameters"):
        grading.check_module_branches(module(batch_norm=True))


def test_a_module_without_its_reduction_is_caught():
    f1, r3, f3, r5, f5, fp = grading.INCEPTION_3A
    x = keras.Input(grading.INCEPTION_3A_INPUT)
    b3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(x)  # no 1x1 reduction before the 3x3
    others = [
        layers.Conv2D(f1, 1, padding="same", activation="relu")(x),
        layers.Conv2D(f5, 5, padding="same", activation="relu")(layers.Conv2D(r5, 1, activation="relu")(x)),
        layers.Conv2D(fp, 1, activation="relu")(layers.MaxPooling2D(3, strides=1, padding="same")(x)),
    ]
    built = keras.Model(x, layers.Concatenate()([others[0], b3, others[1], others[2]]))
    with pytest.raises(AssertionError, match="the 3x3 branch .* should have 2 layer"):
        grading.check_module_branches(built)


@pytest.mark.parametrize("width", [0.5, 0.25])
def test_the_course_compact_googlenet_is_the_specified_network(width):
    grading.check_network(models.compact_googlenet(width=width), width=width)


def test_compact_googlenet_defaults_match_the_documented_size():
    from course import complexity

    net = models.compact_googlenet()
    assert net.count_params() == 349_658 == grading.compact_parameters(0.5)
    assert round(complexity.multiply_adds(net) / 1e6, 1) == 49.4


def test_the_network_check_catches_another_width_and_a_missing_pool():
    with pytest.raises(AssertionError):
        grading.check_network(models.compact_googlenet(width=0.25), width=0.5)
    with pytest.raises(AssertionError, match="works on"):
        grading.check_network(models.compact_googlenet(stages=(("3a", "3b", "4a", "4b"),)), width=0.5)
    with pytest.raises(AssertionError, match="Inception modules"):
        grading.check_network(models.compact_googlenet(stages=(("3a", "3b"), ("4a",))), width=0.5)


def test_validation_curves_are_required():
    with pytest.raises(AssertionError, match="validation_data"):
        grading.check_validation_curves(train.TrainResult(history={"loss": [1.0], "accuracy": [0.5]}, wall_time_s=1))
    with pytest.raises(AssertionError, match="TrainResult"):
        grading.check_validation_curves({"loss": [1.0]})
    grading.check_validation_curves(grading_result())


def grading_result():
    curves = grading.history([0.5], [0.4])
    return train.TrainResult(history=curves, wall_time_s=1.0)


def test_history_mirrors_accuracies_into_losses_and_checks_lengths():
    curves = grading.history([0.5, 0.75], [0.25, 0.5])
    assert curves == {
        "loss": [0.5, 0.25],
        "accuracy": [0.5, 0.75],
        "val_loss": [0.75, 0.5],
        "val_accuracy": [0.25, 0.5],
    }
    with pytest.raises(ValueError):
        grading.history([0.5, 0.6], [0.5])


def always(verdict, reasons=("a reason",)):
    return lambda history: (verdict, list(reasons))


def test_check_diagnosis_accepts_the_right_verdict_and_refuses_the_wrong_one():
    curves = grading.history([0.5, 0.99], [0.5, 0.6])
    grading.check_diagnosis(always("overfitting"), curves, "overfitting")
    with pytest.raises(AssertionError, match="expected 'overfitting'"):
        grading.check_diagnosis(always("good fit"), curves, "overfitting", "why")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda h: "overfitting", "pair"),
        (lambda h: ("overfit", ["x"]), "one of"),
        (lambda h: ("overfitting", []), "non-empty"),
        (lambda h: ("overfitting", "one string"), "non-empty"),
        (lambda h: ("overfitting", [""]), "non-empty"),
    ],
)
def test_check_diagnosis_refuses_malformed_answers(answer, message):
    with pytest.raises(AssertionError, match=message):
        grading.check_diagnosis(answer, grading.history([0.5], [0.5]), "overfitting")


def test_check_diagnosis_hands_the_function_a_copy():
    curves = grading.history([0.5, 0.9], [0.5, 0.6])

    def vandal(history):
        history["accuracy"].clear()
        return "overfitting", ["x"]

    grading.check_diagnosis(vandal, curves, "overfitting")
    assert curves["accuracy"] == [0.5, 0.9]


def test_flip_and_shift_has_no_weights_and_leaves_inference_alone():
    net = models.compact_googlenet(width=0.125)
    wrapped = train.flip_and_shift(net)
    assert wrapped.count_params() == net.count_params()
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(wrapped.predict(x, verbose=0), net.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    distort = wrapped.get_layer("flip_and_shift")
    assert not np.allclose(np.asarray(distort(x, training=True)), x)


def test_plot_runs_and_the_time_frontier_draw_every_run():
    runs = {
        "a": train.TrainResult(history=grading.history([0.3, 0.5], [0.3, 0.4]), wall_time_s=2, epoch_times_s=[60, 60]),
        "b": train.TrainResult(history=grading.history([0.2, 0.6], [0.2, 0.5]), wall_time_s=2, epoch_times_s=[30, 90]),
    }
    fig = viz.plot_runs(runs)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    frontier = viz.plot_accuracy_against_time(runs, target=0.8, budget_s=1200)
    line = frontier.axes[0].lines[1]
    np.testing.assert_allclose(line.get_xdata(), [0.5, 2.0])  # minutes: cumulative epoch times
    np.testing.assert_allclose(line.get_ydata(), [0.2, 0.5])
    with pytest.raises(ValueError, match="epoch_times_s"):
        viz.plot_accuracy_against_time({"dict": grading.history([0.5], [0.5])})
    with pytest.raises(KeyError):
        viz.plot_runs(runs, metric="top5")
