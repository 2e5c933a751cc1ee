"""The checks of the ``lenet5`` assignment (Q6: LeNet-5 on MNIST).

The notebook imports this module as ``grading``; besides LeNet-5's
specification, its budgets and the checks only this assignment needs, it
re-exports the core checks its tests call (:mod:`course.grading.core`), with
LeNet-5's numbers as their defaults::

    from course.grading import lenet5 as grading

    grading.check_layer_shapes(build_lenet5())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

import numpy as np

from . import core
from .core import (
    LayerSpec,
    check_epochs,
    check_reported_accuracy,
    check_reported_time,
    check_same_architecture,
    conv_parameters,
    dense_parameters,
    evaluate,
    fail,
    get_layer,
    require,
)

__all__ = [
    "AUTOGRADE_BUDGET",
    "LENET5",
    "LENET5_INPUT_SHAPE",
    "LENET5_OUTPUT_SHAPES",
    "LENET5_PARAMETERS",
    "LENET5_TOTAL_PARAMETERS",
    "LayerSpec",
    "MIN_TEST_ACCURACY",
    "SHORTCUTS",
    "SMOKE_BUDGET",
    "check_accuracy_at_least",
    "check_epochs",
    "check_input_shape",
    "check_kernel_shapes",
    "check_layer_shapes",
    "check_layer_types",
    "check_modern_variant",
    "check_new_model_each_call",
    "check_outputs_probabilities",
    "check_padding",
    "check_padding_on_mnist",
    "check_parameter_counts",
    "check_reported_accuracy",
    "check_reported_time",
    "check_same_architecture",
    "evaluate",
    "get_layer",
    "lenet5_table",
    "min_test_accuracy",
    "reference_test_set",
    "require",
]

# --------------------------------------------------------------------------
# Budgets and thresholds per run mode
# --------------------------------------------------------------------------

#: Test accuracy the LeNet-5 must reach, per run mode. full: below the
#: reference run's (about 0.99 on the offline kit's 10,000 training images), so
#: a sound submission with another seed or recipe passes; autograde: the
#: reference solution reaches about 0.95 (classic) and 0.97 (modern) under the
#: grading budget, an untrained model about 0.1; smoke: about 0.85 and 0.78 for
#: the reference, so 0.5 only shows that training moved the model well past chance.
MIN_TEST_ACCURACY = {"full": 0.98, "autograde": 0.90, "smoke": 0.50}

#: Training budgets that replace the parameters cell's values in autograde and
#: smoke mode (the notebook passes them to ``course.runtime.settings``). Neither
#: augments the data: random distortions pay off over many epochs only.
AUTOGRADE_BUDGET = {"epochs": 3, "train_samples": 10_000, "batch_size": 128, "augment": False}
SMOKE_BUDGET = {"epochs": 2, "train_samples": 2_000, "batch_size": 128, "augment": False}

#: Library functions that solve a task the student is asked to write, and the
#: answer cells (grade ids) where calling them is allowed. ``autograder.scan``
#: flags a call anywhere else for the instructor to review.
SHORTCUTS = {
    "course.data.pad_and_scale": (),
    "course.data.preprocessing.pad_and_scale": (),
    "course.models.lenet5": ("train_modern",),
}


def min_test_accuracy(smoke_flag: bool = False) -> float:
    """The LeNet-5 test accuracy the tests require in the current mode (:data:`MIN_TEST_ACCURACY`)."""
    return core.for_mode(MIN_TEST_ACCURACY, smoke_flag)


# --------------------------------------------------------------------------
# LeNet-5's specification (LeCun, Bottou, Bengio & Haffner, 1998)
# --------------------------------------------------------------------------

_POOL = (2, 2)
_KERNEL = (5, 5)
LENET5 = (
    LayerSpec("C1", "Conv2D", (28, 28, 6), conv_parameters(5, 1, 6), "tanh", "6 filters 5x5", kernel=_KERNEL),
    LayerSpec("S2", "AveragePooling2D", (14, 14, 6), 0, None, "2x2 average pooling, stride 2", pool=_POOL),
    LayerSpec("C3", "Conv2D", (10, 10, 16), conv_parameters(5, 6, 16), "tanh", "16 filters 5x5", kernel=_KERNEL),
    LayerSpec("S4", "AveragePooling2D", (5, 5, 16), 0, None, "2x2 average pooling, stride 2", pool=_POOL),
    LayerSpec("C5", "Conv2D", (1, 1, 120), conv_parameters(5, 16, 120), "tanh", "120 filters 5x5", kernel=_KERNEL),
    LayerSpec("F6", "Dense", (84,), dense_parameters(120, 84), "tanh", "84 units"),
    LayerSpec("output", "Dense", (10,), dense_parameters(84, 10), "softmax", "10 units"),
)
LENET5_INPUT_SHAPE = (32, 32, 1)
LENET5_OUTPUT_SHAPES = {spec.name: spec.output_shape for spec in LENET5}
LENET5_PARAMETERS = {spec.name: spec.parameters for spec in LENET5}
LENET5_TOTAL_PARAMETERS = sum(LENET5_PARAMETERS.values())
_SHAPE_HINT = "Check its filters/units, kernel size (5x5), padding ('valid') and pooling (2x2, stride 2)."


def lenet5_table():
    """The specification as a ``pandas.DataFrame`` (one row per named layer, plus the total)."""
    return core.spec_table(LENET5)


# --------------------------------------------------------------------------
# The core checks with LeNet-5's numbers
# --------------------------------------------------------------------------


def check_input_shape(model, expected: tuple = LENET5_INPUT_SHAPE) -> None:
    """The model takes batches of padded 32x32 one-channel images."""
    __tracebackhide__ = True
    core.check_input_shape(model, expected, "padded 32x32 images, one channel")


def check_layer_shapes(model, expected: Mapping[str, tuple] = LENET5_OUTPUT_SHAPES) -> None:
    """Each named layer's output shape (batch axis left out) equals ``expected[name]``."""
    __tracebackhide__ = True
    check_input_shape(model)
    core.check_layer_shapes(model, expected, LENET5_INPUT_SHAPE, _SHAPE_HINT)


def check_parameter_counts(
    model, expected: Mapping[str, int] = LENET5_PARAMETERS, total=LENET5_TOTAL_PARAMETERS
) -> None:
    """Each named layer has ``expected[name]`` trainable parameters, and the model ``total``."""
    __tracebackhide__ = True
    core.check_parameter_counts(model, expected, total)


def check_layer_types(model, spec=LENET5) -> None:
    """Each named layer has the specified Keras type, activation, 5x5 kernels and 2x2 pooling."""
    __tracebackhide__ = True
    core.check_layer_types(model, spec)


def check_outputs_probabilities(model, n: int = 4) -> None:
    """The model maps a batch of padded images to one probability distribution over the 10 digits per image."""
    __tracebackhide__ = True
    core.check_outputs_probabilities(model, LENET5_INPUT_SHAPE, 10, n)


def check_accuracy_at_least(accuracy: float, threshold: float, what: str = "Your LeNet-5") -> None:
    """``accuracy`` reaches ``threshold``; the message says how far off it is and where to look."""
    __tracebackhide__ = True
    hint = "Check the padding, the architecture and that training ran for the whole budget."
    core.check_accuracy_at_least(accuracy, threshold, what, hint)


def check_new_model_each_call(build: Callable) -> None:
    """``build()`` returns a freshly initialised model on every call."""
    __tracebackhide__ = True
    core.check_new_model_each_call(build, "build_lenet5()")


# --------------------------------------------------------------------------
# This assignment's own checks
# --------------------------------------------------------------------------


def check_modern_variant(model) -> None:
    """A modern LeNet-5: same named layers and shapes, ReLU activations and max pooling."""
    __tracebackhide__ = True
    check_layer_shapes(model)
    for name in ("S2", "S4"):
        layer = get_layer(model, name)
        if type(layer).__name__ != "MaxPooling2D":
            fail(f"In the modern variant, {name!r} should be MaxPooling2D, not {type(layer).__name__}.")
    activations = {core.activation_name(layer) for layer in model.layers} - {None, "linear", "softmax"}
    if "tanh" in activations or "relu" not in activations:
        found = ", ".join(sorted(activations)) or "none"
        fail(f"The modern variant should use ReLU instead of tanh (activations found: {found}).")


def check_kernel_shapes(model) -> None:
    """C1, C3 and C5 hold 5x5 kernels from every input map to every output map; F6 and output are dense."""
    __tracebackhide__ = True
    expected = {"C1": (5, 5, 1, 6), "C3": (5, 5, 6, 16), "C5": (5, 5, 16, 120), "F6": (120, 84), "output": (84, 10)}
    for name, shape in expected.items():
        layer = get_layer(model, name)
        kernel = getattr(layer, "kernel", None)
        got = None if kernel is None else tuple(int(d) for d in kernel.shape)
        if got != shape:
            fail(f"Layer {name!r} has a kernel of shape {got}, expected {shape}.")


def check_padding(pad_fn: Callable, n: int = 3, size: int = 32) -> None:
    """``pad_fn(x)`` turns uint8 (n, 28, 28) digits into float32 (n, size, size, 1) in [0, 1], zero-padded.

    The batch holds a white image, a black one and random noise, so every
    pixel value and every position is checked.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(n)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    x[0] = 255  # a white image: every interior pixel must become exactly 1
    if n > 1:
        x[1] = 0
    _check_padded(pad_fn, x, x.astype(np.float64) / 255.0, size)


def check_padding_on_mnist(pad_fn: Callable, n: int = 256, size: int = 32) -> None:
    """``pad_fn`` scales and pads real MNIST test digits correctly (compared with plain NumPy arithmetic)."""
    __tracebackhide__ = True
    from course import data

    (_, _), (x_test, _) = data.load_mnist()
    x = np.array(x_test[:n])
    _check_padded(pad_fn, x, x.astype(np.float64) / 255.0, size)


def _check_padded(pad_fn: Callable, x: np.ndarray, expected_centre: np.ndarray, size: int) -> None:
    __tracebackhide__ = True
    name = getattr(pad_fn, "__name__", "your function")
    before = x.copy()
    out = pad_fn(x)
    if not np.array_equal(x, before):
        fail(f"{name} changed its input array; return a new array instead.")
    if not isinstance(out, np.ndarray):
        fail(f"{name} returned a {type(out).__name__}, expected a NumPy array.")
    expected_shape = (len(x), size, size, 1)
    if out.shape != expected_shape:
        fail(f"{name} returned shape {out.shape} for input shape {x.shape}, expected {expected_shape}.")
    if out.dtype != np.float32:
        fail(f"{name} returned dtype {out.dtype}, expected float32.")
    if out.min() < 0 or out.max() > 1:
        fail(f"{name} returned values in [{out.min():g}, {out.max():g}]; scale pixels into [0, 1] (divide by 255).")
    pad = (size - 28) // 2
    centre = (slice(None), slice(pad, pad + 28), slice(pad, pad + 28), 0)
    border = out.copy()
    border[centre] = 0
    if np.any(border != 0):
        fail(f"{name}: the {pad}-pixel border around each digit must be zeros (black), on every side.")
    if not np.allclose(out[centre], expected_centre, rtol=0, atol=1e-6):
        fail(
            f"{name}: the centre 28x28 block must be the original image divided by 255, in place "
            "(not shifted or flipped)."
        )


@lru_cache(maxsize=2)
def _reference_test_set(size: int):
    from course import data

    (_, _), (x_test, y_test) = data.load_mnist()
    x, y = data.pad_and_scale(x_test, size=size), np.array(y_test)
    x.setflags(write=False)  # shared by every test that asks: no cell can change it in place
    y.setflags(write=False)
    return x, y


def reference_test_set(size: int = 32):
    """The MNIST test set padded with the course's reference ``pad_and_scale``: ``(x, y)``, read-only."""
    return _reference_test_set(size)
