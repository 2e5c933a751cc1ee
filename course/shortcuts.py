"""Shortcut audits: how well can the class be told from a part of the image that shows no disease?
(lecture 10, the chest X-ray case study, and the assignment ``source/xray/``).

In the course's X-ray set the COVID-19 images come from other hospitals and another population than the
normal and pneumonia ones. A network can then score well by recognising where an image came from (its
borders, text markers, exposure, the way it was cropped) instead of the lungs: the lesson of DeGrave et
al. 2021 ("AI for radiographic COVID-19 detection selects shortcuts over signal", *Nature Machine
Intelligence*). An audit makes the risk visible: train a simple classifier on the image's **border
only**, where there is no lung, and score it patient-wise. An AUC well above 0.5 means the labels can be
read off the acquisition, so a high test score alone proves nothing about the disease.

NumPy and scikit-learn only (a logistic regression on a few hundred pixel values trains in a second).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import clinical

__all__ = ["ShortcutAudit", "border_mask", "border_only", "border_pixels", "shortcut_audit"]


def border_mask(size: int, width: int) -> np.ndarray:
    """A ``(size, size)`` boolean mask that is True on a frame ``width`` pixels wide (lecture 10)."""
    if not 0 < 2 * width < size:
        raise ValueError(f"a border {width} pixels wide does not fit inside a {size}x{size} image with a centre left.")
    mask = np.zeros((size, size), dtype=bool)
    mask[:width], mask[-width:], mask[:, :width], mask[:, -width:] = True, True, True, True
    return mask


def _square_gray(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"expected square grayscale images (n, s, s), got shape {images.shape}.")
    return images


def border_only(images, width: int = 8) -> np.ndarray:
    """The images with everything inside a ``width``-pixel frame replaced by each image's border mean:
    what a border-only classifier is allowed to see (lecture 10 shows them)."""
    images = _square_gray(images)
    mask = border_mask(images.shape[1], width)
    out = images.astype(np.float32)
    fill = out[:, mask].mean(axis=1)
    out[:, ~mask] = fill[:, None]
    return out.astype(images.dtype) if images.dtype == np.uint8 else out


def border_pixels(images, width: int = 8, pool: int = 4) -> np.ndarray:
    """Features for a border-only classifier: the images averaged over ``pool`` x ``pool`` blocks, then
    only the blocks within ``width`` pixels of the edge kept; uint8 images are scaled to [0, 1] (lecture 10).

    128x128 images with ``width=8, pool=4`` give 240 features per image."""
    images = _square_gray(images)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    images = images.astype(np.float32)
    n, size = images.shape[0], images.shape[1]
    if size % pool or width % pool:
        raise ValueError(f"pool={pool} must divide the image size ({size}) and the border width ({width}).")
    small = images.reshape(n, size // pool, pool, size // pool, pool).mean(axis=(2, 4))
    return small[:, border_mask(size // pool, width // pool)] / scale


@dataclass(frozen=True)
class ShortcutAudit:
    """What a classifier on the given features scores, patient-wise: out-of-fold ``probabilities``
    ``(n, classes)``, one-vs-rest ``auc`` per class and ``"macro"`` (a pandas Series), and the
    ``balanced_accuracy`` (the mean sensitivity over classes)."""

    probabilities: np.ndarray
    auc: pd.Series
    balanced_accuracy: float


def shortcut_audit(
    features, labels, patient_ids, k: int = 5, seed: int = 0, strength: float = 0.01, class_names=None
) -> ShortcutAudit:
    """Score a logistic regression on ``features`` (e.g. :func:`border_pixels`) by patient-wise
    stratified ``k``-fold cross-validation: each image is scored by a model that saw none of its
    patient's images (lecture 10). ``strength`` is the inverse regularisation (scikit-learn's ``C``);
    it is fixed, not tuned, since the audit asks whether the signal is there at all."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .data import patient_folds

    features, labels = np.asarray(features, dtype=np.float32), np.asarray(labels).astype(np.int64)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"expected features (n, m) for n={len(labels)} labels, got shape {features.shape}.")
    num_classes = int(labels.max()) + 1
    probabilities = np.zeros((len(labels), num_classes))
    for train, test in patient_folds(labels, patient_ids, k=k, seed=seed):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=strength, max_iter=2000))
        model.fit(features[train], labels[train])
        probabilities[np.ix_(test, model.classes_)] = model.predict_proba(features[test])
    confusion = clinical.confusion_matrix(labels, probabilities, num_classes)
    sensitivity = clinical.per_class_metrics(confusion)["sensitivity"]
    return ShortcutAudit(probabilities, clinical.roc_auc(labels, probabilities, class_names), float(sensitivity.mean()))
