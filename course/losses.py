"""Losses for imbalanced classes: :class:`SparseFocalLoss` and :func:`class_weights` (lecture 10, the chest
X-ray case study, where normal scans far outnumber some of the diseases).

Two standard remedies for a class that is rare in the training set:

- weight each example by its class (``model.fit(..., class_weight=class_weights(y_train))``), so that every
  class contributes as much to the loss as if the classes were balanced;
- the focal loss (Lin et al., 2017, "Focal loss for dense object detection", ICCV), which scales the
  cross-entropy of each example by ``(1 - p_t) ** gamma``: examples the model already gets right with
  confidence (``p_t`` near 1) count for little, so training concentrates on the hard ones.

Both use ``keras`` and ``keras.ops`` only and run on every Keras backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from keras import ops

__all__ = ["SparseFocalLoss", "class_weights"]


@keras.saving.register_keras_serializable(package="course")
class SparseFocalLoss(keras.losses.Loss):
    """The multi-class focal loss for integer labels: ``FL = -alpha_t (1 - p_t) ** gamma log(p_t)``.

    ``p_t`` is the probability the model gives the true class (``y_pred`` holds softmax probabilities,
    one row per example; with ``from_logits=True``, logits) and ``alpha_t`` that class's weight. With
    ``gamma=0`` and no ``alpha`` it is the sparse categorical cross-entropy; a larger ``gamma``
    down-weights the easy, well-classified examples: at ``p_t = 0.9`` and ``gamma = 2`` an example counts
    ``0.1 ** 2 = 1 %`` as much as in the cross-entropy. Lin et al. (2017) found ``gamma = 2`` best. Lecture
    10 compares it with class weights on the chest X-rays::

        model.compile(optimizer="adam", loss=SparseFocalLoss(gamma=2.0), metrics=["accuracy"])

    Args:
        gamma: the focusing parameter, at least 0.
        alpha: ``None`` (every class weighs 1) or one non-negative weight per class: a sequence, or a
            dict ``{class: weight}`` such as :func:`class_weights` returns.
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        epsilon: probabilities are clipped to ``[epsilon, 1 - epsilon]`` so that ``log`` stays finite
            (Keras' cross-entropy clips the same way).

    It is registered with Keras (package ``"course"``), so a model compiled with it saves and loads.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: Sequence[float] | Mapping[int, float] | None = None,
        from_logits: bool = False,
        epsilon: float = 1e-7,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_focal_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if gamma < 0:
            raise ValueError(f"gamma must be at least 0, got {gamma}.")
        if isinstance(alpha, Mapping):  # what class_weights returns
            if sorted(alpha) != list(range(len(alpha))):
                raise ValueError(f"an alpha dict needs the classes 0..k-1 as keys, got {sorted(alpha)}.")
            alpha = [alpha[c] for c in range(len(alpha))]
        if alpha is not None:
            alpha = [float(a) for a in np.asarray(alpha, dtype=float).reshape(-1)]
            if not alpha or min(alpha) < 0:
                raise ValueError(f"alpha must be None or one non-negative weight per class, got {alpha}.")
        if not 0 < epsilon < 0.5:
            raise ValueError(f"epsilon must be in (0, 0.5), got {epsilon}.")
        self.gamma = float(gamma)
        self.alpha = alpha
        self.from_logits = bool(from_logits)
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        """The focal loss of each example (the base class averages them)."""
        num_classes = y_pred.shape[-1]
        if self.alpha is not None and num_classes is not None and len(self.alpha) != num_classes:
            raise ValueError(f"alpha has {len(self.alpha)} weights but the model predicts {num_classes} classes.")
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        true_class = ops.one_hot(ops.cast(y_true, "int32"), num_classes, dtype=y_pred.dtype)
        if self.from_logits:
            log_p_t = ops.sum(true_class * ops.log_softmax(y_pred, axis=-1), axis=-1)
            p_t = ops.clip(ops.exp(log_p_t), self.epsilon, 1.0 - self.epsilon)
        else:
            p_t = ops.clip(ops.sum(true_class * y_pred, axis=-1), self.epsilon, 1.0 - self.epsilon)
            log_p_t = ops.log(p_t)
        loss = -ops.power(1.0 - p_t, self.gamma) * log_p_t
        if self.alpha is not None:
            alpha = ops.convert_to_tensor(np.asarray(self.alpha), dtype=y_pred.dtype)
            loss = loss * ops.sum(true_class * alpha, axis=-1)
        return loss

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha": self.alpha,
            "from_logits": self.from_logits,
            "epsilon": self.epsilon,
        }


def class_weights(labels, num_classes: int | None = None) -> dict[int, float]:
    """Balanced class weights ``{class: n / (k * n_class)}`` for ``model.fit(class_weight=...)`` (lecture 10).

    ``n`` is the number of labels and ``k`` the number of classes (``num_classes``, or the largest label
    plus one), so a class with the average count weighs 1, a rarer one more, and every class adds the
    same total weight to the loss (scikit-learn's "balanced" heuristic). ``labels`` are integer classes,
    or one-hot rows. A class with no examples has no finite weight: ``ValueError``.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if labels.size == 0:
        raise ValueError("class_weights needs at least one label.")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(labels == np.round(labels)):
            raise ValueError("class_weights expects integer class labels.")
        labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise ValueError(f"class labels must be non-negative, got {labels.min()}.")
    k = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.max() >= k:
        raise ValueError(f"label {labels.max()} is out of range for {k} classes.")
    counts = np.bincount(labels, minlength=k)
    missing = [c for c in range(k) if counts[c] == 0]
    if missing:
        raise ValueError(
            f"class{'es' if len(missing) > 1 else ''} {missing} ha{'ve' if len(missing) > 1 else 's'} no examples, "
            "so no balanced weight; check the split (or num_classes)."
        )
    return {c: float(labels.size / (k * counts[c])) for c in range(k)}
