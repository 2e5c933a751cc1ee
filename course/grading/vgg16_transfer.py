"""The checks of the ``vgg16_transfer`` assignment (Q7: transfer learning with a pretrained VGG16 on the flowers).

The notebook imports this module as ``grading``. The student writes the VGG16 preprocessing, a new
classifier head, the freezing of the backbone (stage 1) and the unfreezing of its last block (stage 2),
and the comparison with training from scratch at several training-set sizes. The checks count trainable
parameters of the student's models, call the student's functions on arrays and models, and read the
comparison's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from . import core
from .core import check_reported_accuracy, evaluate, fail, for_mode, require

__all__ = [
    "AUTOGRADE_BUDGET",
    "BLOCK5_PARAMETERS",
    "HEAD_INPUT",
    "MIN_TEST_ACCURACY",
    "SHORTCUTS",
    "SMOKE_BUDGET",
    "VGG16_BASE_PARAMETERS",
    "check_accuracy_at_least",
    "check_comparison",
    "check_head",
    "check_last_block",
    "check_learning_rates",
    "check_preprocess",
    "check_reported_accuracy",
    "check_trainable",
    "evaluate",
    "for_mode",
    "head_parameters",
    "min_test_accuracy",
    "require",
    "size_label",
    "transfer_must_win",
]

#: VGG16 without its top (13 convolutions) and its last block (block5_conv1-3), weights and biases.
VGG16_BASE_PARAMETERS = 14_714_688
BLOCK5_PARAMETERS = 3 * (3 * 3 * 512 * 512 + 512)
#: What block5_pool gives the head for a 128x128 photo.
HEAD_INPUT = (4, 4, 512)
CLASSES = 5

#: Test accuracy the fine-tuned network must reach, per run mode. full: with the offline kit's edge-
#: detection weights the reference run reaches about 0.72 (see the handout), so 0.65 leaves room for
#: another seed; autograde and smoke (20 training photos per class at 96x96, 60 validation and 60 test photos,
#: 10 epochs of the head and 2 of fine-tuning) give the reference 0.40, and chance is 0.2.
MIN_TEST_ACCURACY = {"full": 0.65, "autograde": 0.28, "smoke": 0.28}

#: The grading and smoke budgets: smaller photos, few of them, few epochs (``course.runtime.settings``); a
#: solution grades in under a minute (bench/README.md).
AUTOGRADE_BUDGET = {
    "image_size": 96,
    "train_per_class": 20,
    "eval_per_class": 12,
    "head_epochs": 10,
    "finetune_epochs": 2,
    "sizes": (10,),
    "min_images_seen": 200,
    "scratch_width": 0.125,
}
SMOKE_BUDGET = AUTOGRADE_BUDGET

#: Library code that does a task the student is asked to write (``autograder.scan`` flags a call).
SHORTCUTS: dict[str, tuple[str, ...]] = {}


def min_test_accuracy(smoke_flag: bool = False) -> float:
    """The test accuracy the tests require in the current mode (:data:`MIN_TEST_ACCURACY`)."""
    return core.for_mode(MIN_TEST_ACCURACY, smoke_flag)


def check_accuracy_at_least(accuracy: float, threshold: float, what: str = "Your fine-tuned VGG16") -> None:
    __tracebackhide__ = True
    core.check_accuracy_at_least(accuracy, threshold, what)


def head_parameters(channels: int = HEAD_INPUT[-1]) -> int:
    """The specified head's parameters on ``channels`` input channels: Dense(256) and Dense(5)."""
    return channels * 256 + 256 + 256 * CLASSES + CLASSES


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------


def check_preprocess(preprocess: Callable, n: int = 3, size: int = 16, seed: int = 0) -> None:
    """``preprocess(images)`` gives what ``keras.applications.vgg16.preprocess_input`` gives for uint8
    photos (RGB to BGR, ImageNet's channel means subtracted), as float32, leaving its input alone."""
    __tracebackhide__ = True
    import keras

    images = np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    before = images.copy()
    out = preprocess(images)
    if not np.array_equal(images, before):
        fail("preprocess changed the images it was given; work on a float32 copy.")
    out = np.asarray(out)
    if out.dtype != np.float32:
        fail(f"preprocess returned {out.dtype}; return float32.")
    if out.shape != images.shape:
        fail(f"preprocess returned shape {out.shape} for photos of shape {images.shape}.")
    want = keras.applications.vgg16.preprocess_input(images.astype("float32"))
    if not np.allclose(out, want, atol=1e-3):
        if np.allclose(out[..., ::-1], want, atol=1e-3):
            fail("The channels are in the wrong order: VGG16 was trained on BGR images (preprocess_input flips RGB).")
        fail(
            "preprocess does not match keras.applications.vgg16.preprocess_input: VGG16 expects 0-255 BGR pixels "
            "with ImageNet's mean of each channel subtracted (no scaling into [0, 1])."
        )


# --------------------------------------------------------------------------
# The head and the trainable parts
# --------------------------------------------------------------------------


def check_head(head, input_shape: tuple = HEAD_INPUT) -> None:
    """``head`` is the specified head on ``input_shape`` features: global average pooling, Dense(256, relu),
    Dropout(0.5), Dense(5, softmax)."""
    __tracebackhide__ = True
    if not core._is_keras_model(head):
        fail(f"build_head should return a keras.Model, got {type(head).__name__}.")
    core.check_input_shape(head, tuple(input_shape), "block5_pool's features")
    if tuple(head.output_shape[1:]) != (CLASSES,):
        fail(f"The head outputs {tuple(head.output_shape[1:])}; it should output {CLASSES} class probabilities.")
    kinds = [type(layer).__name__ for layer in head.layers if type(layer).__name__ != "InputLayer"]
    if kinds != ["GlobalAveragePooling2D", "Dense", "Dropout", "Dense"]:
        fail(f"The head's layers are {kinds}; the task asks for GlobalAveragePooling2D, Dense, Dropout, Dense.")
    dense, dropout, out = (layer for layer in head.layers if type(layer).__name__ in ("Dense", "Dropout"))
    if dense.units != 256 or dense.activation.__name__ != "relu":
        fail(
            "The first Dense layer should have 256 units and ReLU; "
            f"it has {dense.units} and {dense.activation.__name__}."
        )
    if abs(dropout.rate - 0.5) > 1e-9:
        fail(f"The dropout rate should be 0.5, not {dropout.rate}.")
    if out.activation.__name__ != "softmax":
        fail(f"The last layer's activation should be softmax, not {out.activation.__name__}.")
    core.check_outputs_probabilities(head, tuple(input_shape), CLASSES, n=2)
    expected = head_parameters(input_shape[-1])
    if head.count_params() != expected:
        fail(f"The head has {head.count_params():,} parameters; the specification has {expected:,}.")


def check_trainable(model, expected_trainable: int, stage: str, reported: int | None = None) -> None:
    """``model`` (the whole network on photos) has ``expected_trainable`` trainable parameters, and the
    student's ``reported`` count (when given) agrees."""
    __tracebackhide__ = True
    from course import transfer

    if not core._is_keras_model(model):
        fail(f"`model` should be a keras.Model (the backbone and the head on photos), got {type(model).__name__}.")
    total = model.count_params()
    if total != VGG16_BASE_PARAMETERS + head_parameters():
        fail(
            f"`model` has {total:,} parameters; VGG16's base and the head have "
            f"{VGG16_BASE_PARAMETERS + head_parameters():,}. Build it from `base` and `head`."
        )
    got = transfer.trainable_parameters(model)
    if got != expected_trainable:
        fail(f"In {stage}, {got:,} of the model's parameters are trainable; there should be {expected_trainable:,}.")
    if reported is not None and int(reported) != got:
        fail(f"You report {int(reported):,} trainable parameters, but the model has {got:,}: measure it.")


def check_last_block(unfreeze: Callable, image_size: int = 64) -> None:
    """``unfreeze(base)`` on a frozen VGG16 base returns it with exactly block5's three convolutions trainable."""
    __tracebackhide__ = True
    import keras

    from course import transfer

    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(image_size, image_size, 3))
    base.trainable = False
    returned = unfreeze(base)
    if returned is None:
        fail("unfreeze_last_block should return the base it changed (`return base`).")
    if not core._is_keras_model(returned):
        fail(f"unfreeze_last_block returned a {type(returned).__name__}; return the keras.Model it was given.")
    trainable = sorted(layer.name for layer in returned.layers if layer.trainable and layer.weights)
    if trainable != ["block5_conv1", "block5_conv2", "block5_conv3"]:
        shown = ", ".join(trainable) or "none"
        fail(
            f"After unfreeze_last_block the trainable layers with weights are: {shown}; only block5's three should be."
        )
    if transfer.trainable_parameters(returned) != BLOCK5_PARAMETERS:
        fail(f"{transfer.trainable_parameters(returned):,} parameters are trainable; block5 has {BLOCK5_PARAMETERS:,}.")


def check_learning_rates(head_lr: float, finetune_lr: float) -> None:
    """The fine-tuning learning rate is ten times lower than the head's."""
    __tracebackhide__ = True
    if not (float(head_lr) > 0 and np.isclose(float(finetune_lr) * 10, float(head_lr), rtol=1e-6)):
        fail(f"FINETUNE_LR is {finetune_lr}; it should be ten times lower than HEAD_LR ({head_lr}).")


# --------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------

METHODS = ("scratch", "head only", "fine-tuned")


def _table(curve) -> dict[str, dict]:
    """``curve`` (a DataFrame with a column per method, or a dict method -> {size: accuracy}) as dicts."""
    if hasattr(curve, "to_dict"):
        curve = curve.to_dict()
    if not isinstance(curve, Mapping):
        fail(f"`curve` should be a pandas DataFrame (a column per method), got {type(curve).__name__}.")
    missing = [m for m in METHODS if m not in curve]
    if missing:
        fail(f"`curve` has no column {', '.join(map(repr, missing))}; its columns are {list(curve)}.")
    return {m: dict(curve[m]) for m in METHODS}


def transfer_must_win(weights_origin: str, smoke_flag: bool = False) -> bool:
    """Whether :func:`check_comparison` asserts that transfer beats scratch at the smallest size.

    Yes with ImageNet weights, and under the grading and smoke budgets, where the from-scratch network
    (an eighth of VGG16's width, ten epochs on 50 photos) stays near chance, so the assertion checks that
    the student's transfer pipeline learns at all. Not in a full run on the offline kit's weights: their
    edge-detection features discard most of the colour that tells these flowers apart, and in the
    reference run (solutions/vgg16_transfer) a quarter-width VGG16 trained from scratch beat them at 10
    and 50 photos per class. That measured result is the lesson, so the test does not assert the opposite.
    """
    return weights_origin == "imagenet" or core.runtime.mode(smoke_flag) != "full"


def check_comparison(curve, sizes, transfer_must_win: bool = True) -> None:
    """``curve`` has an accuracy in [0, 1] for every method and size, and (when ``transfer_must_win``) a
    transferred network beats the one trained from scratch at the smallest training set."""
    __tracebackhide__ = True
    table = _table(curve)
    labels = [size_label(n) for n in sizes]
    for method, column in table.items():
        absent = [label for label in labels if label not in column]
        if absent:
            fail(f"`curve[{method!r}]` has no row {', '.join(absent)}; rows are size_label(n) for n in SIZES.")
        for label in labels:
            value = float(column[label])
            if not 0.0 <= value <= 1.0:
                fail(f"curve[{method!r}][{label!r}] is {value}; accuracies are fractions between 0 and 1.")
    if not transfer_must_win:
        return
    smallest = labels[0]
    transfer_best = max(float(table["head only"][smallest]), float(table["fine-tuned"][smallest]))
    if not transfer_best > float(table["scratch"][smallest]):
        fail(
            f"With {smallest} photos per class, the pretrained backbone ({transfer_best:.3f}) does not beat the "
            f"network trained from scratch ({float(table['scratch'][smallest]):.3f}). Check both runs."
        )


def size_label(n: int | None) -> str:
    """The row label of a training-set size: ``"10"`` photos per class, or ``"all"``."""
    return "all" if n is None else str(int(n))
