"""The checks of the ``xray`` assignment (Q10: chest X-ray triage, from a patient-wise split to a model card).

The notebook imports this module as ``grading``. The student writes a patient-wise split, the focal loss
in NumPy, per-class sensitivity and specificity, Grad-CAM's combination of activations and gradients, and
the features of a border-only shortcut check, then trains a network and hands in its test probabilities.
The checks call the student's functions on arrays (synthetic ones and the kit's): hand-worked values,
properties every correct answer has, and (in the hidden tests) the course library's own implementations,
which the lectures teach. The grader's answer key (``autograder.answer_key.xray``) holds the task's
answers; students never receive it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import core
from .core import fail, for_mode, require

__all__ = [
    "AUTOGRADE_BUDGET",
    "MIN_BORDER_COVID_AUC",
    "MIN_MACRO_AUC",
    "SHORTCUTS",
    "SMOKE_BUDGET",
    "check_border_auc",
    "check_border_features",
    "check_focal_loss",
    "check_focal_loss_against_keras",
    "check_grad_cam_against_viz",
    "check_grad_cam_map",
    "check_macro_auc",
    "check_patient_split",
    "check_patient_split_synthetic",
    "check_probabilities_of_model",
    "check_sensitivity_specificity",
    "check_test_probabilities",
    "for_mode",
    "min_macro_auc",
    "require",
    "synthetic_patients",
]

#: The training budget while grading and in smoke runs (``course.runtime.settings``): the X-rays at
#: 64x64 and at most 6 epochs (early stopping with patience 2), so a solution grades in well under a
#: minute (bench/README.md). Full runs: 128x128, up to 30 epochs, patience 5.
AUTOGRADE_BUDGET = {"image_size": 64, "max_epochs": 6, "patience": 2, "bootstrap": 100}
SMOKE_BUDGET = AUTOGRADE_BUDGET

#: Macro one-vs-rest AUC on the patient-wise test part (202 X-rays) the tests require, per run mode. The
#: reference solution reaches about 0.99 at 64x64 in 6 epochs (autograde) and at 128x128 (full); 0.85
#: and 0.9 leave room for other seeds and other reasonable networks. Chance is 0.5.
MIN_MACRO_AUC = {"full": 0.9, "autograde": 0.85, "smoke": 0.85}

#: The COVID-19 AUC a logistic regression on the border alone must reach on the kit (it reaches about
#: 0.97 with 4x4 blocks of an 8-pixel frame): the check that the features carry the source's signal.
MIN_BORDER_COVID_AUC = 0.85

#: Library code that does a task the student is asked to write (``autograder.scan`` flags a call outside
#: the answer cells named).
SHORTCUTS = {
    "course.data.patient_split": ("model",),
    "course.data.chest_xray.patient_split": ("model",),
    "course.losses.SparseFocalLoss": ("model",),
    "course.clinical.per_class_metrics": (),
    "course.viz.grad_cam": (),
    "course.shortcuts.border_pixels": (),
}


def min_macro_auc(smoke_flag: bool = False) -> float:
    """The macro AUC the tests require in the current mode (:data:`MIN_MACRO_AUC`)."""
    return core.for_mode(MIN_MACRO_AUC, smoke_flag)


# --------------------------------------------------------------------------
# Part 1: the patient-wise split
# --------------------------------------------------------------------------


def synthetic_patients(n_patients: int = 60, seed: int = 0, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, patient_ids)`` of made-up X-rays: patients with 1 to 8 images each (one class per
    patient, the last class rare), the images in a shuffled order; patient ids are strings."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 9, size=n_patients)
    label_of = rng.choice(classes, size=n_patients, p=[0.35, 0.5, 0.15][:classes] if classes == 3 else None)
    label_of[: classes * 3] = np.repeat(np.arange(classes), 3)  # at least three patients per class
    labels = np.repeat(label_of, counts)
    patients = np.repeat(np.array([f"p{k:03d}" for k in range(n_patients)]), counts)
    order = rng.permutation(len(labels))
    return labels[order].astype(np.int64), patients[order]


def _as_split(result, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(f"{what} should return two arrays (train_idx, test_idx), got {type(result).__name__}.")
    parts = []
    for name, part in zip(("train_idx", "test_idx"), result, strict=True):
        part = np.asarray(part)
        if part.ndim != 1 or (part.size and part.dtype.kind not in "iu"):
            fail(f"{what}: {name} should be a 1-D array of integer indices, got {part.dtype} {part.shape}.")
        if part.size and (part.min() < 0 or part.max() >= n):
            fail(f"{what}: {name} holds indices outside 0..{n - 1}.")
        if np.any(np.diff(part) <= 0):
            fail(f"{what}: {name} should be sorted, without repeats (np.sort, np.flatnonzero).")
        parts.append(part.astype(np.int64))
    return parts[0], parts[1]


def check_patient_split(
    split: Callable,
    labels,
    patient_ids,
    test_fraction: float = 0.25,
    seed: int = 0,
    tolerance: float = 0.06,
    classes: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """``split(labels, patient_ids, test_fraction, seed)`` returns sorted ``(train_idx, test_idx)`` that
    cover every image once, keep each patient in one part, have every class in both parts, put about
    ``test_fraction`` of the images in the test part, and come out the same for the same seed."""
    __tracebackhide__ = True
    from course import data

    labels, patient_ids = np.asarray(labels), np.asarray(patient_ids)
    n, what = len(labels), f"patient_split(..., test_fraction={test_fraction}, seed={seed})"
    train_idx, test_idx = _as_split(split(labels, patient_ids, test_fraction=test_fraction, seed=seed), n, what)
    if len(np.intersect1d(train_idx, test_idx)) or len(train_idx) + len(test_idx) != n:
        fail(f"{what}: every image must be in exactly one part (train or test).")
    try:
        data.check_no_leak({"train": train_idx, "test": test_idx}, patient_ids)
    except ValueError as leak:
        fail(f"{what}: {leak} Split the patients, then take all of each patient's images.")
    for name, part in (("train", train_idx), ("test", test_idx)):
        missing = sorted(set(range(classes)) - set(labels[part].tolist()))
        if missing:
            fail(f"{what}: the {name} part has no image of class(es) {missing}; split each class's patients.")
    share = len(test_idx) / n
    if abs(share - test_fraction) > tolerance:
        fail(f"{what}: {share:.3f} of the images are in the test part, expected {test_fraction} ± {tolerance}.")
    again = _as_split(split(labels, patient_ids, test_fraction=test_fraction, seed=seed), n, what)
    if not (np.array_equal(again[0], train_idx) and np.array_equal(again[1], test_idx)):
        fail(f"{what} gave two different splits for the same seed: use np.random.default_rng(seed).")
    return train_idx, test_idx


def check_patient_split_synthetic(split: Callable, n_patients: int = 80, seed: int = 1) -> None:
    """The split's checks on made-up patients with several images each, at two test fractions; and
    another seed gives another split."""
    __tracebackhide__ = True
    labels, patients = synthetic_patients(n_patients, seed)
    check_patient_split(split, labels, patients, test_fraction=0.25, seed=0, tolerance=0.08)
    check_patient_split(split, labels, patients, test_fraction=0.4, seed=3, tolerance=0.08)
    first = check_patient_split(split, labels, patients, test_fraction=0.25, seed=5, tolerance=0.08)
    second = check_patient_split(split, labels, patients, test_fraction=0.25, seed=6, tolerance=0.08)
    if np.array_equal(first[1], second[1]):
        fail("patient_split gave the same split for seeds 5 and 6: shuffle the patients with the seed.")


# --------------------------------------------------------------------------
# Part 2: the focal loss
# --------------------------------------------------------------------------


def _losses(focal: Callable, y, p, **kwargs) -> np.ndarray:
    out = np.asarray(focal(np.asarray(y), np.asarray(p), **kwargs), dtype=np.float64)
    if out.shape != (len(y),):
        fail(f"focal_loss returned shape {out.shape} for {len(y)} examples; return one loss per example.")
    return out


def check_focal_loss(focal: Callable) -> None:
    """Hand-computed values: ``p_t = 0.9, gamma = 2`` gives ``-(0.1 ** 2) log 0.9``; ``gamma = 0`` is the
    cross-entropy; ``alpha`` weighs each example by its true class's weight."""
    __tracebackhide__ = True
    y = np.array([0, 1, 2, 1])
    p = np.array([[0.9, 0.05, 0.05], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]])
    p_t = np.array([0.9, 0.5, 0.8, 0.2])
    got = _losses(focal, y, p, gamma=2.0)
    if not np.isclose(got[0], -(0.1**2) * np.log(0.9), rtol=1e-4):
        fail(
            f"focal_loss gives {got[0]:.6f} for p_t = 0.9 at gamma = 2, expected -(0.1 ** 2) log 0.9 = "
            f"{-(0.1**2) * np.log(0.9):.6f}: the factor is (1 - p_t) ** gamma."
        )
    if not np.allclose(got, -((1 - p_t) ** 2) * np.log(p_t), rtol=1e-4):
        fail("focal_loss at gamma = 2 differs from -(1 - p_t) ** 2 log p_t (p_t: each row's true-class probability).")
    ce = _losses(focal, y, p, gamma=0.0)
    if not np.allclose(ce, -np.log(p_t), rtol=1e-4):
        fail("At gamma = 0 (and no alpha) the focal loss must be the cross-entropy -log p_t.")
    alpha = [0.25, 1.0, 3.0]
    weighted = _losses(focal, y, p, gamma=2.0, alpha=alpha)
    if not np.allclose(weighted, np.array(alpha)[y] * -((1 - p_t) ** 2) * np.log(p_t), rtol=1e-4):
        fail("With alpha, each example's loss is multiplied by alpha[its true class].")
    p_one = np.array([[1.0, 0.0, 0.0]])
    edge = _losses(focal, np.array([0]), p_one, gamma=2.0)
    if not np.all(np.isfinite(edge)) or abs(edge[0]) > 1e-6:
        fail("focal_loss should give 0 (not NaN) for an example whose true class has probability 1.")


def check_focal_loss_against_keras(focal: Callable, n: int = 50, seed: int = 0) -> None:
    """On random softmax outputs, the per-example losses equal ``course.losses.SparseFocalLoss``'s
    (``reduction=None``), for several ``gamma`` and with ``alpha``."""
    __tracebackhide__ = True
    import keras

    from course import losses

    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 3, size=n)
    for gamma, alpha in ((0.5, None), (2.0, None), (3.0, [0.5, 1.0, 4.0])):
        loss = losses.SparseFocalLoss(gamma=gamma, alpha=alpha, reduction=None)
        want = keras.ops.convert_to_numpy(loss(y, p.astype("float32"))).astype(np.float64)
        got = _losses(focal, y, p, gamma=gamma, alpha=alpha)
        if not np.allclose(got, want, rtol=1e-3, atol=1e-6):
            fail(f"focal_loss differs from course.losses.SparseFocalLoss at gamma={gamma}, alpha={alpha}.")


# --------------------------------------------------------------------------
# Part 3: sensitivity and specificity
# --------------------------------------------------------------------------

#: A hand-worked confusion matrix (rows: true class, columns: predicted) and its answers.
HAND_CONFUSION = np.array([[50, 8, 2], [5, 100, 15], [0, 1, 9]])
HAND_SENSITIVITY = np.array([50 / 60, 100 / 120, 9 / 10])
HAND_SPECIFICITY = np.array([125 / 130, 61 / 70, 163 / 180])


def _two_arrays(result, classes: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(f"sensitivity_specificity should return (sensitivity, specificity), got {type(result).__name__}.")
    out = tuple(np.asarray(r, dtype=np.float64) for r in result)
    for name, values in zip(("sensitivity", "specificity"), out, strict=True):
        if values.shape != (classes,):
            fail(f"{name} has shape {values.shape}; return one value per class ({classes},).")
    return out


def check_sensitivity_specificity(measure: Callable, trials: int = 0, seed: int = 0) -> None:
    """The hand-worked 3x3 matrix; with ``trials``, also random matrices against
    ``course.clinical.per_class_metrics``."""
    __tracebackhide__ = True
    from course import clinical

    sens, spec = _two_arrays(measure(HAND_CONFUSION.copy()), 3)
    if np.allclose(sens, HAND_SPECIFICITY) and np.allclose(spec, HAND_SENSITIVITY):
        fail("sensitivity and specificity are swapped: return (sensitivity, specificity).")
    if np.allclose(sens, HAND_CONFUSION.diagonal() / HAND_CONFUSION.sum(axis=0)):
        fail("sensitivity is divided by the column sums (that is precision); a class's cases are its row.")
    if not np.allclose(sens, HAND_SENSITIVITY, atol=1e-6):
        fail(
            f"sensitivity of the hand-worked matrix: got {np.round(sens, 4).tolist()}, expected "
            f"{np.round(HAND_SENSITIVITY, 4).tolist()} (TP / (TP + FN), row by row)."
        )
    if not np.allclose(spec, HAND_SPECIFICITY, atol=1e-6):
        fail(
            f"specificity of the hand-worked matrix: got {np.round(spec, 4).tolist()}, expected "
            f"{np.round(HAND_SPECIFICITY, 4).tolist()} (TN / (TN + FP))."
        )
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        k = int(rng.integers(2, 6))
        confusion = rng.integers(1, 40, size=(k, k))
        sens, spec = _two_arrays(measure(confusion.copy()), k)
        table = clinical.per_class_metrics(confusion)
        if not (np.allclose(sens, table["sensitivity"]) and np.allclose(spec, table["specificity"])):
            fail(f"sensitivity_specificity differs from course.clinical.per_class_metrics on a random {k}x{k} matrix.")


# --------------------------------------------------------------------------
# Part 4: Grad-CAM
# --------------------------------------------------------------------------


def _maps(combine: Callable, activations, gradients) -> np.ndarray:
    out = np.asarray(combine(np.asarray(activations), np.asarray(gradients)), dtype=np.float64)
    want = np.shape(activations)[:3]
    if out.shape != want:
        fail(f"grad_cam_map returned shape {out.shape}; expected (n, h, w) = {want}.")
    if not np.all(np.isfinite(out)):
        fail("grad_cam_map returned NaN or infinity (an all-zero map must stay zero: do not divide by 0).")
    return out


def _quadrant_model():
    """(8, 8, 1) -> a 1x1 convolution that copies the image -> average -> softmax over (bright, dark)."""
    import keras

    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(2, 1, use_bias=False, name="conv")
    dense = keras.layers.Dense(2, activation="softmax", name="out")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(conv(inputs))))
    conv.set_weights([np.array([[[[1.0, 0.5]]]], dtype="float32")])
    dense.set_weights([np.array([[1.0, -1.0], [1.0, -1.0]], dtype="float32"), np.zeros(2, "float32")])
    return model


def check_grad_cam_map(combine: Callable) -> None:
    """On a tiny model with fixed weights, an image with a bright patch in one quadrant gives a map in
    [0, 1] that peaks in that quadrant and is the image divided by its maximum (the model's channels copy the
    image; activations and gradients from ``course.gradients.activation_gradients``); a map without positive
    evidence stays all zero."""
    __tracebackhide__ = True
    from course import gradients

    model = _quadrant_model()
    images = np.full((2, 8, 8, 1), 0.05, dtype="float32")
    images[0, 1:3, 5:7] = 1.0  # top right
    images[1, 5:7, 1:3] = 1.0  # bottom left
    activations, grads = gradients.activation_gradients(model, "conv", images, class_index=0)
    maps = _maps(combine, activations, grads)
    if maps.min() < -1e-9 or maps.max() > 1 + 1e-6:
        fail(f"Grad-CAM maps must be in [0, 1]; got values from {maps.min():.3f} to {maps.max():.3f}.")
    for k, (rows, cols, where) in enumerate(
        ((slice(0, 4), slice(4, 8), "top right"), (slice(4, 8), slice(0, 4), "bottom left"))
    ):
        peak = np.unravel_index(maps[k].argmax(), maps[k].shape)
        if not (rows.start <= peak[0] < rows.stop and cols.start <= peak[1] < cols.stop):
            fail(f"The map of an image whose bright patch is in the {where} quadrant peaks at {peak}, elsewhere.")
        if not np.isclose(maps[k].max(), 1.0, atol=1e-6):
            fail("Each map should be divided by its own maximum, so that its peak is 1.")
    # both channels are positive copies of the image and the gradients are the same everywhere, so the
    # weighted sum is a positive multiple of the image: the map is the image divided by its maximum
    if not np.allclose(maps, images[..., 0] / images.max(axis=(1, 2, 3))[:, None, None], atol=1e-5):
        fail(
            "On this model both channels are copies of the image, so the map must be the image divided by its "
            "maximum (0.05 on the background, 1 on the patch): weights = mean gradient over h and w, ReLU of "
            "the weighted sum of the channels, each map divided by its maximum."
        )
    # against class 1 (dark), every weight is negative: no positive evidence, the maps stay zero
    activations, grads = gradients.activation_gradients(model, "conv", images, class_index=1)
    if not np.allclose(_maps(combine, activations, grads), 0.0):
        fail("Where the weighted sum is negative everywhere, the ReLU leaves an all-zero map (and it stays zero).")


def check_grad_cam_against_viz(combine: Callable, seed: int = 0) -> None:
    """On a small random network whose last convolution keeps the image's size (so ``viz.grad_cam``'s
    resizing changes nothing) and whose gradients differ from place to place, the maps equal
    ``course.viz.grad_cam``'s, for each image's predicted class."""
    __tracebackhide__ = True
    import keras

    from course import gradients, train, viz

    train.set_seed(seed)
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c2")(x)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))  # gradients vary by place
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(seed).random((5, 12, 12, 1)).astype("float32")
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    activations, grads = gradients.activation_gradients(model, "c2", images, class_index=predicted)
    got = _maps(combine, activations, grads)
    want = viz.grad_cam(model, images, layer_name="c2", class_index=predicted)
    if not np.allclose(got, want, atol=1e-4):
        fail("grad_cam_map differs from course.viz.grad_cam on a small random network (same layer, same classes).")


# --------------------------------------------------------------------------
# Part 5: the border shortcut
# --------------------------------------------------------------------------


def check_border_features(features: Callable, n: int = 4, size: int = 32, width: int = 8, seed: int = 0) -> None:
    """``features(images, width)`` equals ``course.shortcuts.border_pixels(images, width, pool=4)`` on random
    uint8 images: 4x4 block means within ``width`` pixels of the edge, scaled into [0, 1]."""
    __tracebackhide__ = True
    from course import shortcuts

    images = np.random.default_rng(seed).integers(0, 256, size=(n, size, size), dtype=np.uint8)
    before = images.copy()
    got = np.asarray(features(images, width=width), dtype=np.float64)
    if not np.array_equal(images, before):
        fail("border_features changed the images it was given.")
    want = shortcuts.border_pixels(images, width=width, pool=4)
    if got.shape != want.shape:
        fail(
            f"border_features gave shape {got.shape} for {n} images of {size}x{size} at width {width}; expected "
            f"{want.shape}: one row per image, one value per 4x4 block of the frame."
        )
    if got.min() < 0 or got.max() > 1:
        fail("The features must be in [0, 1]: divide the uint8 pixel values by 255.")
    if not np.allclose(got, want, atol=1e-5):
        fail("border_features differs from the 4x4 block means of the frame, in row-major order (see the task).")


def check_border_auc(border_covid_auc, audit, minimum: float = MIN_BORDER_COVID_AUC) -> None:
    """``border_covid_auc`` is the audit's COVID-19 AUC, and it is above ``minimum``."""
    __tracebackhide__ = True
    want = float(audit.auc["COVID-19"])
    if not isinstance(border_covid_auc, int | float | np.floating) or isinstance(border_covid_auc, bool):
        fail(f"border_covid_auc should be a number, got {type(border_covid_auc).__name__}.")
    if abs(float(border_covid_auc) - want) > 1e-6:
        fail(f"border_covid_auc = {border_covid_auc}, but the audit's COVID-19 AUC is {want:.4f}: read audit.auc.")
    if want < minimum:
        fail(f"The border features reach a COVID-19 AUC of only {want:.3f} (expected above {minimum}): check them.")


# --------------------------------------------------------------------------
# Part 6: the model
# --------------------------------------------------------------------------


def check_test_probabilities(probabilities, n_test: int, classes: int = 3) -> None:
    """``probabilities`` is ``(n_test, classes)``, each row a probability distribution."""
    __tracebackhide__ = True
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (n_test, classes):
        fail(f"test_probabilities has shape {p.shape}; expected ({n_test}, {classes}): one row per test X-ray.")
    if not np.all(np.isfinite(p)) or p.min() < -1e-6 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        fail("Each row of test_probabilities must be probabilities that sum to 1 (the model's softmax output).")


def check_probabilities_of_model(probabilities, model, x_test) -> None:
    """``probabilities`` are ``model``'s predictions on ``x_test`` (so the AUC below is the model's)."""
    __tracebackhide__ = True
    if not core._is_keras_model(model):
        fail(f"`model` should be the trained keras.Model, got {type(model).__name__}.")
    want = np.asarray(model.predict(np.asarray(x_test), verbose=0, batch_size=64), dtype=np.float64)
    if want.shape != np.shape(probabilities) or not np.allclose(probabilities, want, atol=1e-3):
        fail("test_probabilities are not `model.predict(x[test_idx])`: compute them with the trained model.")


def check_macro_auc(y_test, probabilities, threshold: float) -> float:
    """The macro one-vs-rest AUC of ``probabilities`` on ``y_test`` reaches ``threshold``; returns it."""
    __tracebackhide__ = True
    from course import clinical

    auc = float(clinical.roc_auc(np.asarray(y_test), np.asarray(probabilities))["macro"])
    if not auc >= threshold:
        fail(
            f"The macro AUC on the test part is {auc:.3f}, below the {threshold} this run mode requires: check the "
            "input scaling (divide by 255), the class weights and that early stopping kept the best weights."
        )
    return auc
