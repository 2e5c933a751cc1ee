"""course.grading.lenet5: the checks the assignment's tests call accept a correct
LeNet-5 and reject each typical mistake with an AssertionError (not a crash)."""

import os

import keras
import numpy as np
import pytest

from course import models, runtime
from course.grading import core
from course.grading import lenet5 as grading

L = keras.layers


def reference(input_shape=(32, 32, 1), act="tanh", pool=L.AveragePooling2D, c5=120):
    return keras.Sequential(
        [
            keras.Input(input_shape),
            L.Conv2D(6, 5, activation=act, name="C1"),
            pool(2, name="S2"),
            L.Conv2D(16, 5, activation=act, name="C3"),
            pool(2, name="S4"),
            L.Conv2D(c5, 5, activation=act, name="C5"),
            L.Flatten(),
            L.Dense(84, activation=act, name="F6"),
            L.Dense(10, activation="softmax", name="output"),
        ]
    )


def pad(x):
    return np.pad(np.asarray(x, np.float32) / 255, ((0, 0), (2, 2), (2, 2)))[..., None]


@pytest.fixture(scope="module")
def model():
    return reference()


@pytest.mark.parametrize(
    "check",
    [
        grading.check_layer_shapes,
        grading.check_parameter_counts,
        grading.check_layer_types,
        grading.check_kernel_shapes,
        grading.check_outputs_probabilities,
    ],
)
def test_reference_model_passes_every_structural_check(model, check):
    check(model)


def test_library_lenet5_matches_the_assignment_spec():
    grading.check_layer_types(models.lenet5())
    grading.check_parameter_counts(models.lenet5())
    grading.check_modern_variant(models.lenet5(modern=True))
    assert grading.LENET5_TOTAL_PARAMETERS == 61_706


def test_correct_padding_passes():
    grading.check_padding(pad)
    grading.check_padding(pad, n=1)


@pytest.mark.skipif(not os.environ.get("COURSE_DATA_DIR"), reason="needs the offline data kit (COURSE_DATA_DIR)")
def test_correct_padding_passes_on_real_digits():
    grading.check_padding_on_mnist(pad)


def test_new_model_each_call_passes_for_a_builder():
    grading.check_new_model_each_call(reference)


@pytest.mark.parametrize(
    "check, bad",
    [
        (grading.check_layer_types, lambda: reference(act="relu")),
        (grading.check_layer_types, lambda: reference(pool=L.MaxPooling2D)),
        (grading.check_layer_shapes, lambda: reference(input_shape=(36, 36, 1))),
        (grading.check_parameter_counts, lambda: reference(c5=100)),
        (grading.check_modern_variant, reference),
    ],
    ids=["relu-in-classic", "max-pool-in-classic", "wrong-input", "wrong-c5", "classic-as-modern"],
)
def test_wrong_models_are_rejected(check, bad):
    with pytest.raises(AssertionError):
        check(bad())


@pytest.mark.parametrize(
    "bad_pad",
    [
        lambda x: pad(x).astype("float64"),
        lambda x: np.pad(np.asarray(x, np.float32) / 255, ((0, 0), (4, 0), (4, 0)))[..., None],
        lambda x: np.pad(np.asarray(x, np.float32), ((0, 0), (2, 2), (2, 2)))[..., None],
        lambda x: np.pad(np.asarray(x, np.float32) / 255, ((0, 0), (2, 2), (2, 2))),
    ],
    ids=["float64", "off-centre", "not-scaled", "no-channel-axis"],
)
def test_wrong_padding_is_rejected(bad_pad):
    with pytest.raises(AssertionError):
        grading.check_padding(bad_pad)


def test_missing_names_and_layers_give_assertion_errors(model):
    with pytest.raises(AssertionError, match="model"):
        grading.require({"a": 1}, "a", "model")
    with pytest.raises(AssertionError):
        grading.get_layer(model, "C7")


def test_reported_figures_must_be_the_measured_ones():
    result = type("Result", (), {"wall_time_s": 3.0})()
    grading.check_reported_time(result, 3.0)
    with pytest.raises(AssertionError):
        grading.check_reported_time(result, 3.1)
    with pytest.raises(AssertionError):
        grading.check_accuracy_at_least(0.5, 0.9, "Your LeNet-5")


def test_new_model_each_call_rejects_a_cached_model_and_a_seeded_builder():
    cached = reference()
    with pytest.raises(AssertionError, match="same weights"):
        grading.check_new_model_each_call(lambda: cached)

    def seeded():
        keras.utils.set_random_seed(1)
        return reference()

    with pytest.raises(AssertionError, match="random seed"):
        grading.check_new_model_each_call(seeded)


def test_the_reference_test_set_cannot_be_changed_in_place():
    pytest.importorskip("course.data")
    if not os.environ.get("COURSE_DATA_DIR"):
        pytest.skip("needs the offline data kit (COURSE_DATA_DIR)")
    x, y = grading.reference_test_set()
    with pytest.raises(ValueError):
        x[0, 0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        y[0] = 3
    assert x.shape == (10_000, 32, 32, 1) and float(x.max()) == 1.0


def test_the_mode_picks_the_assignment_budget(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    full = {"epochs": 40, "train_samples": None, "batch_size": 128, "augment": True}

    def pick():
        return runtime.settings(
            False, full=full, smoke=grading.SMOKE_BUDGET, autograde=grading.AUTOGRADE_BUDGET, quiet=True
        )

    assert (pick().mode, pick().epochs, pick().train_samples) == ("full", 40, None)
    assert grading.min_test_accuracy() == grading.MIN_TEST_ACCURACY["full"]
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    graded = pick()
    assert graded.mode == "autograde" and graded.epochs == grading.AUTOGRADE_BUDGET["epochs"] < 40
    assert graded.augment is False and set(graded.replaced) == {"epochs", "train_samples", "augment"}
    assert grading.min_test_accuracy() < grading.MIN_TEST_ACCURACY["full"]
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert grading.min_test_accuracy(True) == core.for_mode(grading.MIN_TEST_ACCURACY, True) == 0.5


def test_check_epochs_wants_the_whole_budget():
    result = type("Result", (), {"epochs": 3})()
    core.check_epochs(result, 3)
    with pytest.raises(AssertionError, match="without early stopping"):
        core.check_epochs(result, 5)
