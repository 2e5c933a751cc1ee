"""The answer key of the ``xray`` assignment (Q10): the focal loss and Grad-CAM's maps, in NumPy.

No hidden test needs them (the hidden checks compare with ``course.losses.SparseFocalLoss`` and
``course.viz.grad_cam``, which the lectures teach); the test suite grades ``course.grading.xray``'s
checks against them."""

from __future__ import annotations

import numpy as np


def focal_loss(y_true, probabilities, gamma: float = 2.0, alpha=None) -> np.ndarray:
    """``-alpha_t (1 - p_t) ** gamma log p_t`` per example (Task 2's formula)."""
    y_true = np.asarray(y_true, dtype=int)
    p = np.asarray(probabilities, dtype=np.float64)
    p_t = np.clip(p[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    weight = 1.0 if alpha is None else np.asarray(alpha, dtype=np.float64)[y_true]
    return -weight * (1.0 - p_t) ** gamma * np.log(p_t)


def grad_cam_map(activations, gradients) -> np.ndarray:
    """Task 4's maps: channels weighted by their mean gradient, summed, ReLU, each divided by its max."""
    a, g = np.asarray(activations, dtype=np.float64), np.asarray(gradients, dtype=np.float64)
    cams = np.maximum(np.einsum("nhwc,nc->nhw", a, g.mean(axis=(1, 2))), 0.0)
    peaks = cams.max(axis=(1, 2), keepdims=True)
    return np.divide(cams, peaks, out=np.zeros_like(cams), where=peaks > 0)
