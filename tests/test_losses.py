"""course.losses: the focal loss against hand-computed values and cross-entropy, and balanced class weights."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from course.losses import SparseFocalLoss, class_weights

# Three examples, three classes; the true classes' probabilities are 0.9, 0.5 and 0.2.
PROBS = np.array([[0.9, 0.05, 0.05], [0.3, 0.5, 0.2], [0.5, 0.3, 0.2]], dtype="float32")
LABELS = np.array([0, 1, 2])
P_T = np.array([0.9, 0.5, 0.2])


def per_example(loss, y=LABELS, p=PROBS):
    return keras.ops.convert_to_numpy(loss.call(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p)))


def test_focal_loss_matches_hand_computed_values():
    # p_t = 0.9, gamma 2: -(1 - 0.9)^2 log 0.9 = -0.01 * (-0.10536) = 0.0010536
    one = SparseFocalLoss(gamma=2.0)(np.array([0]), PROBS[:1])
    assert float(one) == pytest.approx(-(0.1**2) * math.log(0.9), rel=1e-5)
    expected = -((1 - P_T) ** 2) * np.log(P_T)  # 0.0010536, 0.1733, 1.0300
    np.testing.assert_allclose(per_example(SparseFocalLoss()), expected, rtol=1e-5)
    assert float(SparseFocalLoss()(LABELS, PROBS)) == pytest.approx(expected.mean(), rel=1e-5)
    # gamma 1 on the middle example: -(0.5) log 0.5
    assert per_example(SparseFocalLoss(gamma=1.0))[1] == pytest.approx(0.5 * math.log(2), rel=1e-5)


def test_at_gamma_zero_it_is_sparse_categorical_cross_entropy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(32, 5)).astype("float32")
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    y = rng.integers(0, 5, 32)
    ce = keras.losses.SparseCategoricalCrossentropy()
    assert float(SparseFocalLoss(gamma=0.0)(y, probs)) == pytest.approx(float(ce(y, probs)), rel=1e-5)
    from_logits = SparseFocalLoss(gamma=0.0, from_logits=True)(y, logits)
    assert float(from_logits) == pytest.approx(float(ce(y, probs)), rel=1e-5)
    # labels shaped (n, 1), as Keras passes them sometimes, give the same value
    assert float(SparseFocalLoss(gamma=0.0)(y[:, None], probs)) == pytest.approx(float(ce(y, probs)), rel=1e-5)


def test_alpha_weights_each_example_by_its_true_class():
    alpha = [0.25, 1.0, 4.0]
    plain, weighted = per_example(SparseFocalLoss()), per_example(SparseFocalLoss(alpha=alpha))
    np.testing.assert_allclose(weighted, plain * np.array(alpha)[LABELS], rtol=1e-6)
    # an alpha dict (what class_weights returns) works the same
    np.testing.assert_allclose(per_example(SparseFocalLoss(alpha={0: 0.25, 1: 1.0, 2: 4.0})), weighted, rtol=1e-6)
    # at gamma 0 it is the class-weighted cross-entropy
    np.testing.assert_allclose(per_example(SparseFocalLoss(gamma=0, alpha=alpha)), -np.log(P_T) * alpha, rtol=1e-5)
    with pytest.raises(ValueError, match="alpha has 2 weights"):
        SparseFocalLoss(alpha=[1.0, 2.0])(LABELS, PROBS)
    with pytest.raises(ValueError, match="non-negative"):
        SparseFocalLoss(alpha=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="gamma"):
        SparseFocalLoss(gamma=-1)


def test_focal_loss_down_weights_easy_examples_relative_to_cross_entropy():
    focal, ce = per_example(SparseFocalLoss(gamma=2.0)), per_example(SparseFocalLoss(gamma=0.0))
    ratio = focal / ce  # (1 - p_t)^2: 0.01 for the easy example, 0.64 for the hard one
    np.testing.assert_allclose(ratio, (1 - P_T) ** 2, rtol=1e-5)
    assert ratio[0] < ratio[1] < ratio[2] < 1
    # a certain, correct prediction stays finite (clipping) and costs almost nothing
    certain = per_example(SparseFocalLoss(), np.array([0]), np.array([[1.0, 0.0, 0.0]], dtype="float32"))
    wrong = per_example(SparseFocalLoss(), np.array([1]), np.array([[1.0, 0.0, 0.0]], dtype="float32"))
    assert np.isfinite(certain).all() and np.isfinite(wrong).all() and certain[0] < 1e-10 < 10 < wrong[0]


def test_a_model_compiled_with_the_focal_loss_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    loss = SparseFocalLoss(gamma=1.5, alpha=[1.0, 2.0, 0.5])
    model.compile(optimizer="sgd", loss=loss)
    x, y = np.random.default_rng(0).normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "focal.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.loss, SparseFocalLoss)
    assert (loaded.loss.gamma, loaded.loss.alpha) == (1.5, [1.0, 2.0, 0.5])
    assert SparseFocalLoss.from_config(loss.get_config()).get_config() == loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def test_class_weights_are_balanced():
    # 6 labels, 3 classes with 3, 2 and 1 examples: 6 / (3 * n_c) = 2/3, 1, 2
    weights = class_weights([0, 0, 0, 1, 1, 2])
    assert weights == pytest.approx({0: 2 / 3, 1: 1.0, 2: 2.0})
    assert list(weights) == [0, 1, 2]
    # each class adds the same total weight: n_c * w_c = n / k
    assert {c: w * n for (c, w), n in zip(weights.items(), [3, 2, 1], strict=True)} == pytest.approx(
        {0: 2.0, 1: 2.0, 2: 2.0}
    )
    assert class_weights(np.eye(2)[[0, 1, 1, 1]]) == pytest.approx({0: 2.0, 1: 2 / 3})  # one-hot rows
    with pytest.raises(ValueError, match=r"\[1\] has no examples"):
        class_weights([0, 0, 2])
    with pytest.raises(ValueError, match=r"\[3\] has no examples"):
        class_weights([0, 1, 2], num_classes=4)
