"""course.clinical: per-class metrics on a hand-worked example, ROC and AUC, thresholds, bootstrap intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from course import clinical, viz

# Rows are true classes, columns predictions (as viz.confusion_matrix gives); 20 cases.
#            pred: normal  bacterial  viral
CONFUSION = np.array(
    [
        [8, 1, 1],  # normal: 10 cases
        [1, 5, 0],  # bacterial: 6 cases
        [0, 2, 2],  # viral: 4 cases
    ]
)
# normal:    TP 8, FN 2, FP 1 (column 0 minus 8), TN 20 - 8 - 2 - 1 = 9
#            sensitivity 8/10 = 0.8, specificity 9/10 = 0.9, precision 8/9, F1 16/19
# bacterial: TP 5, FN 1, FP 3, TN 20 - 5 - 1 - 3 = 11
#            sensitivity 5/6, specificity 11/14, precision 5/8, F1 10/14
# viral:     TP 2, FN 2, FP 1, TN 20 - 2 - 2 - 1 = 15
#            sensitivity 2/4 = 0.5, specificity 15/16, precision 2/3, F1 4/7
NAMES = ["normal", "bacterial", "viral"]


def test_per_class_metrics_of_a_hand_worked_confusion_matrix():
    table = clinical.per_class_metrics(CONFUSION, class_names=NAMES)
    assert list(table.index) == NAMES and table.index.name == "class"
    assert list(table.columns) == ["sensitivity", "specificity", "precision", "f1", "support"]
    np.testing.assert_allclose(table["sensitivity"], [0.8, 5 / 6, 0.5])
    np.testing.assert_allclose(table["specificity"], [0.9, 11 / 14, 15 / 16])
    np.testing.assert_allclose(table["precision"], [8 / 9, 5 / 8, 2 / 3])
    np.testing.assert_allclose(table["f1"], [16 / 19, 10 / 14, 4 / 7])
    assert list(table["support"]) == [10, 6, 4]
    assert table.attrs["accuracy"] == pytest.approx(15 / 20)
    # the same from labels through viz.confusion_matrix, indexed 0..k-1 without names
    y_true = np.repeat([0, 0, 0, 1, 1, 2, 2, 2], [8, 1, 1, 1, 5, 0, 2, 2])
    y_pred = np.repeat([0, 1, 2, 0, 1, 0, 1, 2], [8, 1, 1, 1, 5, 0, 2, 2])
    from_labels = clinical.per_class_metrics(viz.confusion_matrix(y_true, y_pred, num_classes=3))
    assert list(from_labels.index) == [0, 1, 2]
    np.testing.assert_allclose(from_labels.to_numpy(float), table.to_numpy(float))


def test_a_class_without_cases_gets_nan_and_no_warning():
    confusion = np.array([[3, 1, 0], [0, 0, 0], [1, 0, 2]])  # class 1: no cases; predicted once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = clinical.per_class_metrics(confusion)
    assert table.loc[1, "support"] == 0
    assert np.isnan(table.loc[1, "sensitivity"])  # 0 / 0
    assert table.loc[1, "precision"] == 0.0 and table.loc[1, "f1"] == 0.0  # predicted once, wrongly
    assert table.loc[1, "specificity"] == pytest.approx(6 / 7)
    never_predicted = clinical.per_class_metrics(np.array([[2, 0], [1, 0]]))
    assert np.isnan(never_predicted.loc[1, "precision"]) and never_predicted.loc[1, "sensitivity"] == 0.0
    with pytest.raises(ValueError, match="square"):
        clinical.per_class_metrics(np.ones((2, 3)))


def _scores(y, k, separation, seed=0):
    """Softmax-like scores whose true class is raised by ``separation``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), k)) + separation * np.eye(k)[y]
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def test_auc_is_one_when_separated_and_one_half_for_constant_scores():
    y = np.arange(30) % 3
    perfect = np.eye(3)[y] * 0.8 + 0.1
    auc = clinical.roc_auc(y, perfect, class_names=NAMES)
    assert list(auc.index) == [*NAMES, "macro"] and auc.name == "AUC"
    np.testing.assert_allclose(auc, 1.0)
    np.testing.assert_allclose(clinical.roc_auc(y, np.full((30, 3), 1 / 3)), 0.5)
    reversed_scores = clinical.roc_auc(y, 1 - perfect)
    np.testing.assert_allclose(reversed_scores, 0.0)
    # a class with no cases gets NaN and is left out of the macro average
    partial = clinical.roc_auc(y[y != 2], perfect[y != 2])
    assert np.isnan(partial[2]) and partial["macro"] == 1.0


def test_roc_curve_and_auc_agree_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    y = np.random.default_rng(1).integers(0, 3, 200)
    scores = np.round(_scores(y, 3, 1.0), 2)  # rounding makes ties
    fpr, tpr, thresholds = clinical.one_vs_rest_roc(y, scores, 1)
    ref = metrics.roc_curve(y == 1, scores[:, 1], drop_intermediate=False)
    for ours, theirs in zip((fpr, tpr, thresholds), ref, strict=True):
        np.testing.assert_allclose(ours, theirs)
    auc = clinical.roc_auc(y, scores)
    expected = [metrics.roc_auc_score(y == c, scores[:, c]) for c in range(3)]
    np.testing.assert_allclose(auc[[0, 1, 2]], expected)
    assert auc["macro"] == pytest.approx(np.mean(expected))
    unrounded = _scores(y, 3, 1.0)
    assert clinical.roc_auc(y, unrounded)["macro"] == pytest.approx(
        metrics.roc_auc_score(y, unrounded, multi_class="ovr", average="macro")
    )
    with pytest.raises(ValueError, match="class 3"):
        clinical.one_vs_rest_roc(y, scores, 3)


def test_threshold_for_sensitivity_reaches_the_target_and_decide_applies_it():
    y = np.random.default_rng(2).integers(0, 3, 300)
    scores = _scores(y, 3, 1.5, seed=2)
    point = clinical.threshold_for_sensitivity(y, scores, positive_class=1, target=0.95)
    found = scores[y == 1, 1] >= point.threshold
    assert found.mean() == pytest.approx(point.sensitivity) and point.sensitivity >= 0.95
    assert point.specificity == pytest.approx(np.mean(scores[y != 1, 1] < point.threshold))
    # it is the highest such threshold: the next positive score up misses the target
    positives = scores[y == 1, 1]
    higher = np.sort(positives[positives > point.threshold])
    assert higher.size and np.mean(positives >= higher[0]) < 0.95
    with pytest.raises(AttributeError):
        point.threshold = 0.0  # frozen
    assert "sensitivity" in str(point)

    predictions = clinical.decide(scores, 1, point.threshold)
    assert np.all(predictions[scores[:, 1] >= point.threshold] == 1)
    rest = scores[:, 1] < point.threshold
    np.testing.assert_array_equal(predictions[rest], scores[rest].argmax(axis=1))
    table = clinical.per_class_metrics(viz.confusion_matrix(y, predictions, num_classes=3))
    assert table.loc[1, "sensitivity"] == pytest.approx(point.sensitivity)
    assert (
        table.loc[1, "sensitivity"] >= clinical.per_class_metrics(viz.confusion_matrix(y, scores)).loc[1, "sensitivity"]
    )
    np.testing.assert_array_equal(clinical.decide(scores, 1, 2.0), scores.argmax(axis=1))  # above every score


def _accuracy(y, pred):
    return float(np.mean(y == pred))


def _noisy_predictions(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.8, y, rng.integers(0, 3, n))
    return y, pred


def test_bootstrap_ci_contains_the_point_repeats_and_narrows_with_more_data():
    y, pred = _noisy_predictions(200, seed=3)
    ci = clinical.bootstrap_ci(y, pred, _accuracy, n_boot=300)
    point, low, high = ci
    assert point == pytest.approx(_accuracy(y, pred)) and low < point < high
    assert clinical.bootstrap_ci(y, pred, _accuracy, n_boot=300) == ci  # same seed, same interval
    assert clinical.bootstrap_ci(y, pred, _accuracy, n_boot=300, seed=1) != ci
    assert str(ci).startswith(f"{point:.3f} [")
    y_big, pred_big = _noisy_predictions(3200, seed=4)
    big = clinical.bootstrap_ci(y_big, pred_big, _accuracy, n_boot=300)
    assert big.high - big.low < 0.5 * (high - low)  # 16x the data: about a quarter as wide
    assert clinical.bootstrap_ci(y, pred, _accuracy, n_boot=300, level=0.5).high < high


def test_bootstrap_resamples_are_stratified_by_class():
    # class 2 has a single case; an unstratified resample would often lack it
    y = np.array([0] * 30 + [1] * 10 + [2])
    seen = []

    def counts(y_sample, pred_sample):
        seen.append(np.bincount(y_sample, minlength=3))
        np.testing.assert_array_equal(y_sample, pred_sample)  # the same cases from both arrays
        return clinical.per_class_metrics(viz.confusion_matrix(y_sample, pred_sample, 3)).loc[2, "sensitivity"]

    ci = clinical.bootstrap_ci(y, y.copy(), counts, n_boot=100)
    assert ci == (1.0, 1.0, 1.0)
    assert all(list(c) == [30, 10, 1] for c in seen)
    # scores are resampled row by row, so a metric may take them
    scores = _scores(y, 3, 3.0)
    auc = clinical.bootstrap_ci(y, scores, lambda yy, ss: clinical.roc_auc(yy, ss)["macro"], n_boot=50)
    assert 0.5 < auc.low <= auc.point <= auc.high <= 1.0
    assert isinstance(clinical.per_class_metrics(np.eye(2)), pd.DataFrame)


def test_scorecard_is_one_row_of_the_figures_models_are_compared_by():
    y = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array(
        [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.6, 0.3], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]]
    )
    row = clinical.scorecard(y, scores, ["normal", "pneumonia", "COVID-19"])
    # argmax: 0, 1, 1, 1, 2, 2 -> one normal missed (as pneumonia); sensitivities 1/2, 1, 1
    assert row["accuracy"] == pytest.approx(5 / 6)
    assert row["normal sensitivity"] == 0.5 and row["pneumonia sensitivity"] == 1 and row["COVID-19 sensitivity"] == 1
    assert row["balanced accuracy"] == pytest.approx(2.5 / 3)
    assert row["COVID-19 AUC"] == 1.0  # both COVID-19 cases outscore the other four
    assert row["macro AUC"] == pytest.approx(clinical.roc_auc(y, scores)["macro"])
