"""Metrics that matter clinically: per-class sensitivity and specificity, ROC curves and AUC, an operating
threshold chosen for sensitivity, and bootstrap confidence intervals (lecture 10, the chest X-ray case study).

Accuracy hides what a screening test is judged on. A missed disease (a false negative) costs more than a
false alarm, so a clinician asks for each class: of the patients who have it, how many does the model
find (*sensitivity*, the recall), and of those who don't, how many does it clear (*specificity*)? The
model's probabilities also let us move the operating point: :func:`threshold_for_sensitivity` picks the
threshold that finds, say, 95 % of the pneumonia cases, and :func:`decide` applies it. A test set of a
few hundred scans gives each figure a wide margin of error; :func:`bootstrap_ci` measures it.

Everything here is NumPy (and pandas for tables) and takes labels, scores or a confusion matrix as
:func:`confusion_matrix` counts it (rows = true classes; ``course.viz`` re-exports it beside its plot);
nothing depends on Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "Interval",
    "OperatingPoint",
    "bootstrap_ci",
    "confusion_matrix",
    "decide",
    "one_vs_rest_roc",
    "per_class_metrics",
    "roc_auc",
    "scorecard",
    "threshold_for_sensitivity",
]


def _ratio(num, den) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0 (and no warning)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def per_class_metrics(confusion, class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Each class's sensitivity, specificity, precision, F1 and support, one row per class (lecture 10).

    ``confusion[i, j]`` counts the cases of true class ``i`` predicted as ``j`` (as
    :func:`confusion_matrix` returns it). Each class is scored one-vs-rest: with ``TP`` its
    diagonal cell, ``FN`` the rest of its row, ``FP`` the rest of its column and ``TN`` everything else,

    - sensitivity (recall) = TP / (TP + FN): the fraction of this class's cases that are found;
    - specificity = TN / (TN + FP): the fraction of the other cases not labelled as this class;
    - precision = TP / (TP + FP) and F1 = 2 TP / (2 TP + FP + FN);
    - support = TP + FN, the number of cases of the class.

    A ratio with a zero denominator (a class with no cases, or never predicted) is NaN, not a warning.
    The table is indexed by ``class_names`` (default 0, 1, ...); ``table.attrs["accuracy"]`` holds
    the overall accuracy, and ``table[["sensitivity", "specificity"]].mean()`` the macro averages.
    """
    counts = np.asarray(confusion)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a confusion matrix is square (classes x classes), got shape {counts.shape}.")
    if np.any(counts < 0):
        raise ValueError("a confusion matrix holds counts, which cannot be negative.")
    k = counts.shape[0]
    names = list(range(k)) if class_names is None else list(class_names)
    if len(names) != k:
        raise ValueError(f"got {len(names)} class names for a {k}x{k} confusion matrix.")
    tp = np.diag(counts).astype(float)
    support = counts.sum(axis=1)
    fn = support - tp
    fp = counts.sum(axis=0) - tp
    tn = counts.sum() - tp - fn - fp
    table = pd.DataFrame(
        {
            "sensitivity": _ratio(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "precision": _ratio(tp, tp + fp),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "support": support.astype(np.int64) if np.all(support == np.round(support)) else support,
        },
        index=pd.Index(names, name="class"),
    )
    table.attrs["accuracy"] = float(_ratio(tp.sum(), counts.sum()))
    return table


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    ``y_pred`` may be class indices or a ``(n, classes)`` array of scores
    (its argmax is taken); so may ``y_true`` (one-hot rows).
    """
    y_true, y_pred = _labels(y_true), _labels(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}.")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def _labels(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    return y.reshape(-1).astype(np.int64)


def _scores(scores, n: int) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ValueError(f"expected scores shaped (n={n}, classes), one row per case; got {scores.shape}.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("the scores must be finite (no NaN or infinity).")
    return scores


def _roc(positive: np.ndarray, score: np.ndarray):
    """``fpr, tpr, thresholds`` of "positive when score >= threshold", thresholds falling from +inf."""
    order = np.argsort(-score, kind="mergesort")
    score, positive = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]  # the last case at each distinct score
    tps = np.cumsum(positive)[last]
    fps = last + 1 - tps
    return _ratio(np.r_[0, fps], fps[-1]), _ratio(np.r_[0, tps], tps[-1]), np.r_[np.inf, score[last]]


def one_vs_rest_roc(y_true, scores, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of class ``k`` against the rest: ``(fpr, tpr, thresholds)`` (lecture 10).

    ``scores`` is ``(n, classes)`` (the model's probabilities); a case counts as class ``k`` when
    ``scores[:, k] >= threshold``. ``thresholds`` fall from ``+inf`` (nothing positive, the point
    ``(0, 0)``) through each distinct score to the lowest (everything positive, ``(1, 1)``); ``tpr`` is
    the sensitivity and ``fpr`` is 1 - specificity at each. As scikit-learn's ``roc_curve`` with
    ``drop_intermediate=False``. ``ValueError`` if class ``k`` has no cases or is all there is.
    """
    y = _labels(y_true)
    scores = _scores(scores, y.size)
    if not 0 <= k < scores.shape[1]:
        raise ValueError(f"class {k} is out of range for scores of {scores.shape[1]} classes.")
    positive = y == k
    if positive.all() or not positive.any():
        raise ValueError(f"class {k} needs both cases and non-cases in y_true for a ROC curve.")
    return _roc(positive, scores[:, k])


def roc_auc(y_true, scores, class_names: Sequence[str] | None = None) -> pd.Series:
    """The area under each class's one-vs-rest ROC curve, and their mean (``"macro"``) (lecture 10).

    An AUC is the probability that a random case of the class scores higher than a random case of
    another class (ties count half): 1 separates them perfectly, 0.5 is chance. A class with no cases
    (or nothing else) in ``y_true`` gets NaN and is left out of the macro average. The Series is
    indexed by ``class_names`` (default 0, 1, ...) followed by ``"macro"``.
    """
    y = _labels(y_true)
    scores = _scores(scores, y.size)
    k = scores.shape[1]
    names = list(range(k)) if class_names is None else list(class_names)
    if len(names) != k:
        raise ValueError(f"got {len(names)} class names for scores of {k} classes.")
    areas = np.full(k, np.nan)
    for c in range(k):
        positive = y == c
        if positive.any() and not positive.all():
            fpr, tpr, _ = _roc(positive, scores[:, c])
            areas[c] = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    defined = areas[~np.isnan(areas)]
    macro = float(defined.mean()) if defined.size else np.nan
    return pd.Series([*areas, macro], index=[*names, "macro"], name="AUC")


@dataclass(frozen=True)
class OperatingPoint:
    """A decision threshold for one class and the sensitivity and specificity it gives on some data."""

    threshold: float
    sensitivity: float
    specificity: float

    def __str__(self) -> str:
        return f"threshold {self.threshold:.4g}: sensitivity {self.sensitivity:.1%}, specificity {self.specificity:.1%}"


def threshold_for_sensitivity(y_true, scores, positive_class: int, target: float = 0.95) -> OperatingPoint:
    """The highest threshold on ``scores[:, positive_class]`` that finds at least ``target`` of its cases.

    Calling a case positive when its score is at least the threshold, a lower threshold finds more
    cases (higher sensitivity) at the cost of more false alarms (lower specificity); the highest
    threshold that reaches the target sensitivity keeps specificity as high as possible. The result
    holds the threshold and the sensitivity and specificity it gives on *these* data: choose it on a
    validation set and report it on the test set. Lecture 10 sets pneumonia's to 95 %; pass the
    threshold to :func:`decide`.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target sensitivity must be in (0, 1], got {target}.")
    fpr, tpr, thresholds = one_vs_rest_roc(y_true, scores, positive_class)
    i = int(np.argmax(tpr >= target - 1e-12))  # tpr rises to 1, so the target is always reached
    return OperatingPoint(float(thresholds[i]), float(tpr[i]), float(1 - fpr[i]))


def decide(scores, positive_class: int, threshold: float) -> np.ndarray:
    """Class predictions: ``positive_class`` wherever its score is at least ``threshold``, else the argmax.

    With the threshold from :func:`threshold_for_sensitivity` this trades false alarms for fewer missed
    cases of ``positive_class`` (lecture 10); with a threshold above every score it is the plain argmax.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"expected scores shaped (n, classes), got {scores.shape}.")
    if not 0 <= positive_class < scores.shape[1]:
        raise ValueError(f"class {positive_class} is out of range for scores of {scores.shape[1]} classes.")
    predictions = scores.argmax(axis=1)
    predictions[scores[:, positive_class] >= threshold] = positive_class
    return predictions


class Interval(NamedTuple):
    """A metric's value on the data (``point``) and a confidence interval ``[low, high]`` around it."""

    point: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.point:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap_ci(
    y_true,
    y_pred_or_scores,
    metric: Callable[[np.ndarray, np.ndarray], float],
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
) -> Interval:
    """A percentile bootstrap confidence interval for ``metric(y_true, y_pred_or_scores)`` (lecture 10).

    Returns ``(point, low, high)``: the metric on the data, and the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the metric over ``n_boot`` resamples of the cases. Each resample
    draws cases with replacement *stratified by class*: as many cases of each true class as the data
    have, drawn from that class, so every resample holds every class in its original proportion and a
    per-class metric (a rare disease's sensitivity) is always defined. ``y_pred_or_scores`` is
    resampled with the same cases, so ``metric`` may take predicted classes or ``(n, classes)``
    scores, for example ``lambda y, s: roc_auc(y, s)["macro"]``. The same ``seed`` gives the same
    interval; it narrows as the number of cases grows, roughly as one over its square root.
    """
    y = _labels(y_true)
    predictions = np.asarray(y_pred_or_scores)
    if len(predictions) != y.size:
        raise ValueError(f"y_true has {y.size} cases but y_pred_or_scores has {len(predictions)}.")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(y == c) for c in np.unique(y)]
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(members, size=members.size, replace=True) for members in strata])
        values[b] = metric(y[idx], predictions[idx])
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(metric(y, predictions)), float(low), float(high))


def scorecard(y_true, scores, class_names: Sequence[str] | None = None) -> pd.Series:
    """The figures lecture 10 compares models by, as one row: accuracy, balanced accuracy (the mean
    sensitivity), macro AUC, and each class's AUC and sensitivity (at the plain argmax decision)."""
    y = _labels(y_true)
    scores = _scores(scores, y.size)
    k = scores.shape[1]
    names = [str(name) for name in (range(k) if class_names is None else class_names)]
    table = per_class_metrics(confusion_matrix(y, scores, k), names)
    auc = roc_auc(y, scores, names)
    row = {"accuracy": table.attrs["accuracy"], "balanced accuracy": float(table["sensitivity"].mean())}
    row["macro AUC"] = float(auc["macro"])
    row.update({f"{name} AUC": float(auc[name]) for name in names})
    row.update({f"{name} sensitivity": float(table.loc[name, "sensitivity"]) for name in names})
    return pd.Series(row)
