"""The X-ray assignment's checks (course.grading.xray): each passes a correct answer and fails the mistakes
it exists to catch."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.answer_key import xray as key
from course import data, shortcuts
from course.grading import xray as grading

# --------------------------------------------------------------------------- Part 1: the split


def good_split(labels, patient_ids, test_fraction=0.25, seed=0):
    parts = data.patient_split(labels, patient_ids, test_fraction=test_fraction, val_fraction=0.0, seed=seed)
    return parts["train"], parts["test"]


def image_split(labels, patient_ids, test_fraction=0.25, seed=0):
    labels = np.asarray(labels)
    in_test = np.zeros(len(labels), dtype=bool)
    rng = np.random.default_rng(seed)
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        in_test[members[: round(test_fraction * len(members))]] = True
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def test_split_check_passes_a_patient_wise_split():
    labels, patients = grading.synthetic_patients(80, seed=1)
    grading.check_patient_split(good_split, labels, patients, tolerance=0.08)
    grading.check_patient_split_synthetic(good_split)


def test_split_check_catches_a_split_of_images():
    labels, patients = grading.synthetic_patients(80, seed=1)
    with pytest.raises(AssertionError, match="both"):
        grading.check_patient_split(image_split, labels, patients, tolerance=0.08)


def test_split_check_catches_randomness_a_fixed_split_a_missing_class_and_a_wrong_fraction():
    labels, patients = grading.synthetic_patients(80, seed=1)
    calls = iter(range(100))

    def unseeded(labels, patient_ids, test_fraction=0.25, seed=0):
        return good_split(labels, patient_ids, test_fraction, seed=next(calls))

    with pytest.raises(AssertionError, match="same seed"):
        grading.check_patient_split(unseeded, labels, patients, tolerance=0.08)
    with pytest.raises(AssertionError, match="same split for seeds"):
        grading.check_patient_split_synthetic(
            lambda lab, pid, test_fraction=0.25, seed=0: good_split(lab, pid, test_fraction)
        )

    def no_covid_in_test(labels, patient_ids, test_fraction=0.25, seed=0):
        train, test = good_split(labels, patient_ids, test_fraction, seed)
        moved = test[np.asarray(labels)[test] == 2]
        return np.sort(np.concatenate([train, moved])), np.setdiff1d(test, moved)

    with pytest.raises(AssertionError, match="no image of class"):
        grading.check_patient_split(no_covid_in_test, labels, patients, tolerance=0.08)
    with pytest.raises(AssertionError, match="test part, expected"):
        grading.check_patient_split(
            lambda lab, pid, test_fraction=0.25, seed=0: good_split(lab, pid, 0.5, seed), labels, patients
        )
    with pytest.raises(AssertionError, match="sorted"):
        grading.check_patient_split(
            lambda *a, **k: tuple(part[::-1] for part in good_split(*a, **k)), labels, patients, tolerance=0.08
        )


# --------------------------------------------------------------------------- Part 2: the focal loss


def good_focal(y_true, probabilities, gamma=2.0, alpha=None):
    return key.focal_loss(y_true, probabilities, gamma, alpha)


def test_focal_check_passes_the_formula_and_matches_the_library():
    grading.check_focal_loss(good_focal)
    grading.check_focal_loss_against_keras(good_focal)


def test_focal_check_catches_the_usual_mistakes():
    def easy_weighted(y, p, gamma=2.0, alpha=None):  # p_t ** gamma: right at gamma 0 only
        p_t = np.asarray(p)[np.arange(len(y)), y]
        return -(p_t**gamma) * np.log(p_t) * (1.0 if alpha is None else np.asarray(alpha)[y])

    def no_alpha(y, p, gamma=2.0, alpha=None):
        return good_focal(y, p, gamma)

    def mean(y, p, gamma=2.0, alpha=None):
        return good_focal(y, p, gamma, alpha).mean()

    def unclipped(y, p, gamma=2.0, alpha=None):
        p_t = np.asarray(p)[np.arange(len(y)), y]
        weight = 1.0 if alpha is None else np.asarray(alpha)[y]
        with np.errstate(all="ignore"):
            return -weight * (1 - p_t) ** gamma * np.log(p_t) / (1 - p_t) * (1 - p_t)  # 0 / 0 at p_t = 1

    with pytest.raises(AssertionError, match=r"\(1 - p_t\) \*\* gamma"):
        grading.check_focal_loss(easy_weighted)
    with pytest.raises(AssertionError, match="alpha"):
        grading.check_focal_loss(no_alpha)
    with pytest.raises(AssertionError, match="one loss per example"):
        grading.check_focal_loss(mean)
    with pytest.raises(AssertionError, match="NaN"):
        grading.check_focal_loss(unclipped)
    with pytest.raises(AssertionError, match="SparseFocalLoss"):
        grading.check_focal_loss_against_keras(lambda y, p, gamma=2.0, alpha=None: good_focal(y, p, gamma / 2, alpha))


# --------------------------------------------------------------------------- Part 3: sensitivity, specificity


def good_measure(confusion):
    c = np.asarray(confusion, dtype=float)
    tp = np.diag(c)
    fn, fp = c.sum(axis=1) - tp, c.sum(axis=0) - tp
    return tp / (tp + fn), (c.sum() - tp - fn - fp) / (c.sum() - tp - fn)


def test_sensitivity_check_passes_and_catches_swaps_precision_and_wrong_specificity():
    grading.check_sensitivity_specificity(good_measure, trials=20, seed=1)
    with pytest.raises(AssertionError, match="swapped"):
        grading.check_sensitivity_specificity(lambda c: good_measure(c)[::-1])
    with pytest.raises(AssertionError, match="precision"):
        grading.check_sensitivity_specificity(lambda c: (np.diag(c) / np.asarray(c).sum(axis=0), good_measure(c)[1]))
    with pytest.raises(AssertionError, match="specificity of the hand-worked"):
        grading.check_sensitivity_specificity(lambda c: (good_measure(c)[0], 1 - good_measure(c)[0]))

    def only_three(c):  # right on the hand-worked 3x3 matrix, wrong elsewhere
        sens, spec = good_measure(c)
        return (sens, spec) if len(c) == 3 else (sens, spec * 0.9)

    grading.check_sensitivity_specificity(only_three)
    with pytest.raises(AssertionError, match="per_class_metrics"):
        grading.check_sensitivity_specificity(only_three, trials=20, seed=1)


# --------------------------------------------------------------------------- Part 4: Grad-CAM


def test_grad_cam_check_passes_the_formula_and_matches_viz():
    grading.check_grad_cam_map(key.grad_cam_map)
    grading.check_grad_cam_against_viz(key.grad_cam_map)


def test_grad_cam_check_catches_the_usual_mistakes():
    def no_relu(a, g):
        cams = np.einsum("nhwc,nc->nhw", a, np.asarray(g).mean(axis=(1, 2)))
        return cams / np.abs(cams).max(axis=(1, 2), keepdims=True)

    def unscaled(a, g):
        return np.maximum(np.einsum("nhwc,nc->nhw", a, np.asarray(g).mean(axis=(1, 2))), 0)

    def divide_by_zero(a, g):
        cams = unscaled(a, g)
        with np.errstate(all="ignore"):
            return cams / cams.max(axis=(1, 2), keepdims=True)

    def weights_per_pixel(a, g):  # gradient times activation, summed: not Grad-CAM's channel weights
        cams = np.maximum((np.asarray(a) * np.asarray(g)).sum(axis=-1), 0)
        peaks = cams.max(axis=(1, 2), keepdims=True)
        return np.divide(cams, peaks, out=np.zeros_like(cams), where=peaks > 0)

    def squared(a, g):  # peaks in the right place and at 1, but not linear in the activations
        return key.grad_cam_map(a, g) ** 2

    with pytest.raises(AssertionError):
        grading.check_grad_cam_map(no_relu)
    with pytest.raises(AssertionError, match="copies of the image"):
        grading.check_grad_cam_map(squared)
    with pytest.raises(AssertionError, match="its own maximum"):
        grading.check_grad_cam_map(unscaled)
    with pytest.raises(AssertionError, match="NaN"):
        grading.check_grad_cam_map(divide_by_zero)
    with pytest.raises(AssertionError, match="shape"):
        grading.check_grad_cam_map(lambda a, g: key.grad_cam_map(a, g)[..., None])
    with pytest.raises(AssertionError, match="viz.grad_cam"):
        grading.check_grad_cam_against_viz(weights_per_pixel)


# --------------------------------------------------------------------------- Part 5: the border


def test_border_check_passes_the_library_and_catches_raw_pixels_and_missing_scaling():
    grading.check_border_features(lambda images, width=8: shortcuts.border_pixels(images, width))
    grading.check_border_features(lambda images, width=8: shortcuts.border_pixels(images, width), n=3, size=64, width=4)
    with pytest.raises(AssertionError, match="shape"):
        grading.check_border_features(
            lambda images, width=8: images[:, shortcuts.border_mask(images.shape[1], width)] / 255
        )
    with pytest.raises(AssertionError, match="255"):
        grading.check_border_features(lambda images, width=8: shortcuts.border_pixels(images, width) * 255)
    with pytest.raises(AssertionError, match="4x4 block means"):
        grading.check_border_features(lambda images, width=8: shortcuts.border_pixels(images[:, ::-1], width))


class FakeAudit:
    def __init__(self, covid):
        import pandas as pd

        self.auc = pd.Series({"normal": 0.9, "pneumonia": 0.9, "COVID-19": covid, "macro": 0.9})


def test_border_auc_check():
    grading.check_border_auc(0.97, FakeAudit(0.97))
    grading.check_border_auc(np.float64(0.97), FakeAudit(0.97))
    with pytest.raises(AssertionError, match="read audit.auc"):
        grading.check_border_auc(0.9, FakeAudit(0.97))
    with pytest.raises(AssertionError, match="a number"):
        grading.check_border_auc("0.97", FakeAudit(0.97))
    with pytest.raises(AssertionError, match="only"):
        grading.check_border_auc(0.6, FakeAudit(0.6))


# --------------------------------------------------------------------------- Part 6: the model


def test_probability_and_auc_checks():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    grading.check_test_probabilities(good, 60)
    assert grading.check_macro_auc(y, good, 0.85) == pytest.approx(1.0)
    with pytest.raises(AssertionError, match="shape"):
        grading.check_test_probabilities(good[:, :2], 60)
    with pytest.raises(AssertionError, match="sum to 1"):
        grading.check_test_probabilities(good * 2, 60)
    chance = rng.dirichlet(np.ones(3), size=60)
    with pytest.raises(AssertionError, match="macro AUC"):
        grading.check_macro_auc(y, chance, 0.85)
    assert grading.MIN_MACRO_AUC["autograde"] < grading.MIN_MACRO_AUC["full"]


def test_probabilities_must_be_the_models():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).random((10, 4)).astype("float32")
    p = model.predict(x, verbose=0)
    grading.check_probabilities_of_model(p, model, x)
    with pytest.raises(AssertionError, match="model.predict"):
        grading.check_probabilities_of_model(p[::-1], model, x)
    with pytest.raises(AssertionError, match="keras.Model"):
        grading.check_probabilities_of_model(p, "model", x)
