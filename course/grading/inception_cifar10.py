"""The checks of the ``inception_cifar10`` assignment (Q9: a compact GoogLeNet on CIFAR-10, and diagnosing its fit).

The notebook imports this module as ``grading``. The student writes an Inception
module, a compact GoogLeNet for 32x32 images, a training run, and a function
``diagnose_fit(history)`` that reads a run's curves. The checks read the
student's Keras models as data (their layers, shapes and weights), call the
student's functions on numbers, and compare with the specification here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from course.models.googlenet import COMPACT_STAGES, TABLE1
from course.models.scaling import scaled

from . import core
from .core import check_epochs, check_reported_accuracy, evaluate, fail, for_mode, require

__all__ = [
    "AUTOGRADE_BUDGET",
    "INCEPTION_3A",
    "INCEPTION_3A_INPUT",
    "INCEPTION_3A_PARAMETERS",
    "MIN_TEST_ACCURACY",
    "SHORTCUTS",
    "SMOKE_BUDGET",
    "VERDICTS",
    "check_accuracy_at_least",
    "check_diagnosis",
    "check_epochs",
    "check_module_branches",
    "check_module_output",
    "check_network",
    "check_reported_accuracy",
    "check_validation_curves",
    "compact_parameters",
    "evaluate",
    "for_mode",
    "history",
    "min_test_accuracy",
    "reference_test_set",
    "require",
]

#: Inception 3a of Table 1 (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), on its 192-channel input.
INCEPTION_3A = TABLE1["3a"]
INCEPTION_3A_INPUT = (32, 32, 192)
#: Its weights and biases without batch norm: 12,352 + 18,528 + 110,720 + 3,088 + 12,832 + 6,176. Table 1 of
#: Szegedy et al. 2015 says "159K": the same weights without the 368 biases, rounded to the thousand.
INCEPTION_3A_PARAMETERS = 163_696

#: What ``diagnose_fit`` may answer.
VERDICTS = ("overfitting", "underfitting", "good fit")

#: Test accuracy the compact GoogLeNet must reach, per run mode. full: the reference run (8 epochs of
#: 45,000 images, 18.9 minutes on 2 CPU cores) reached 0.821, so 0.75 leaves room for another seed or
#: recipe; autograde: 2 epochs on 3,000 images at width 0.25 give the reference about 0.4, an untrained
#: network 0.1; smoke: 32 steps only move the network past chance.
MIN_TEST_ACCURACY = {"full": 0.75, "autograde": 0.25, "smoke": 0.15}

#: The budgets of the grading and smoke runs (passed to ``course.runtime.settings``): the main run and the
#: three diagnosis runs on a few images, so the notebook grades in under a minute (most of what is left is
#: Keras tracing each run's training step).
AUTOGRADE_BUDGET = {
    "epochs": 2,
    "train_samples": 3_000,
    "val_samples": 500,
    "width": 0.25,
    "diagnosis_samples": 128,
    "diagnosis_epochs": 1,
    "test_samples": 1_000,
}
SMOKE_BUDGET = {
    "epochs": 2,
    "train_samples": 2_000,
    "val_samples": 500,
    "width": 0.25,
    "diagnosis_samples": 200,
    "diagnosis_epochs": 2,
    "test_samples": 1_000,
}

#: Library code that solves a task the student is asked to write (``autograder.scan`` flags a call).
SHORTCUTS = {
    "course.models.inception": (),
    "course.models.googlenet.inception": (),
    "course.models.compact_googlenet": (),
    "course.models.googlenet.compact_googlenet": (),
}


def min_test_accuracy(smoke_flag: bool = False) -> float:
    """The test accuracy the tests require in the current mode (:data:`MIN_TEST_ACCURACY`)."""
    return core.for_mode(MIN_TEST_ACCURACY, smoke_flag)


def check_accuracy_at_least(accuracy: float, threshold: float, what: str = "Your compact GoogLeNet") -> None:
    __tracebackhide__ = True
    core.check_accuracy_at_least(accuracy, threshold, what)


def reference_test_set(samples: int | None = None):
    """CIFAR-10's test images scaled into [0, 1] (the first ``samples`` of them), and their labels."""
    import contextlib
    import io

    from course import data

    with contextlib.redirect_stdout(io.StringIO()):
        (_, _), (x_test, y_test) = data.load_cifar10()
    x_test, y_test = x_test[:samples], y_test[:samples]
    return x_test.astype("float32") / 255.0, y_test


# --------------------------------------------------------------------------
# The module and the network, read from the models' layers
# --------------------------------------------------------------------------

_PASS_THROUGH = ("BatchNormalization", "Activation", "ReLU")


def _producer(tensor):
    """The layer that produced a Keras tensor of a functional model."""
    return tensor._keras_history[0]


def _inputs_of(layer) -> list:
    node = layer._inbound_nodes[0]
    return list(node.input_tensors)


def _describe(layer) -> str:
    kind = type(layer).__name__
    if kind == "Conv2D":
        return f"a {layer.kernel_size[0]}x{layer.kernel_size[1]} convolution of {layer.filters} filters"
    return f"a {kind} layer"


def _concatenations(model) -> list:
    return [layer for layer in model.layers if type(layer).__name__ == "Concatenate"]


def _branch(tensor) -> list:
    """The branch that ends in ``tensor``: its working layers, last first, back to the module's input.

    The module's input feeds all four branches, so its producer is the first layer met with more than
    one consumer; inside a branch every layer feeds exactly one other.
    """
    chain = []
    layer = _producer(tensor)
    while len(layer._outbound_nodes) <= 1 and _inputs_of(layer):
        if type(layer).__name__ not in _PASS_THROUGH:
            chain.append(layer)
        layer = _producer(_inputs_of(layer)[0])
    return chain


def _check_conv(layer, kernel: int, filters: int, where: str) -> None:
    if type(layer).__name__ != "Conv2D":
        fail(f"{where} should be a {kernel}x{kernel} convolution of {filters} filters, found {_describe(layer)}.")
    if tuple(layer.kernel_size) != (kernel, kernel) or layer.filters != filters:
        fail(f"{where} should be a {kernel}x{kernel} convolution of {filters} filters, found {_describe(layer)}.")
    if tuple(layer.strides) != (1, 1) or layer.padding != "same":
        fail(f"{where} must keep the image size: stride 1 and padding='same'.")


def _check_module(concat, filters: Sequence[int], label: str) -> None:
    f1, r3, f3, r5, f5, fp = filters
    branches = [_branch(t) for t in _inputs_of(concat)]
    if len(branches) != 4:
        fail(f"{label} concatenates {len(branches)} tensors; an Inception module has four branches.")
    names = ("the 1x1 branch", "the 3x3 branch", "the 5x5 branch", "the pool branch")
    expected = ([(1, f1)], [(3, f3), (1, r3)], [(5, f5), (1, r5)], [(1, fp), "pool"])
    for branch, want, name in zip(branches, expected, names, strict=True):
        where = f"In {label}, {name} (concatenated in the order 1x1, 3x3, 5x5, pool)"
        if len(branch) != len(want):
            found = ", then ".join(_describe(layer) for layer in reversed(branch)) or "nothing"
            fail(f"{where} has {found}; it should have {len(want)} layer(s) doing work.")
        for layer, spec in zip(branch, want, strict=True):
            if spec == "pool":
                if type(layer).__name__ != "MaxPooling2D":
                    fail(f"{where} should start with a 3x3 max pool, found {_describe(layer)}.")
                if tuple(layer.pool_size) != (3, 3) or tuple(layer.strides) != (1, 1) or layer.padding != "same":
                    fail(f"{where}: the max pool must be 3x3 with stride 1 and padding='same'.")
            else:
                _check_conv(layer, spec[0], spec[1], where)


def check_module_output(module, expected_channels: int = 256, samples: int = 2, seed: int = 0) -> None:
    """``module`` (a keras.Model of one Inception module) keeps the image size, outputs ``expected_channels``
    channels, and ends every branch with a ReLU (its outputs are never negative)."""
    __tracebackhide__ = True
    if not core._is_keras_model(module):
        fail(f"Expected a keras.Model, got {type(module).__name__}.")
    core.check_input_shape(module, INCEPTION_3A_INPUT, "the 32x32x192 input of the task")
    shape = tuple(module.output_shape[1:])
    if shape != (32, 32, expected_channels):
        fail(
            f"The module outputs {shape}; expected (32, 32, {expected_channels}): the four branches keep the "
            "32x32 size (padding='same') and their channels add up (64 + 128 + 32 + 32 for inception 3a)."
        )
    x = np.random.default_rng(seed).normal(size=(samples, *INCEPTION_3A_INPUT)).astype("float32")
    out = np.asarray(module.predict(x, verbose=0))
    if out.min() < 0:
        fail("The module outputs negative values: every convolution of every branch is followed by a ReLU.")
    if not np.any(out > 0):
        fail("The module outputs only zeros for random inputs: check the convolutions' activations.")


def check_module_branches(
    module, filters: Sequence[int] = INCEPTION_3A, parameters: int = INCEPTION_3A_PARAMETERS
) -> None:
    """``module``'s four branches, in order, have Table 1's layers and filters, and it has ``parameters``
    parameters in all (biases included, no batch norm)."""
    __tracebackhide__ = True
    concatenations = _concatenations(module)
    if len(concatenations) != 1:
        fail(f"The module has {len(concatenations)} Concatenate layers; it should join its branches with one.")
    _check_module(concatenations[0], filters, "the module")
    count = module.count_params()
    if count != parameters:
        fail(
            f"The module has {count:,} parameters; inception 3a on 192 channels has {parameters:,} "
            "(weights and biases of its six convolutions, no batch normalisation)."
        )


def compact_parameters(width: float = 0.5) -> int:
    """The parameters of the specified compact GoogLeNet at ``width`` (from the course's own builder)."""
    from course.models import compact_googlenet

    return compact_googlenet(width=width).count_params()


def check_network(model, width: float = 0.5) -> None:
    """``model`` is the compact GoogLeNet of the specification at ``width``: a 32x32x3 input, the stem, the
    modules 3a and 3b at 16x16 and 4a and 4b at 8x8 (Table 1's filters times ``width``), ten softmax outputs,
    and the parameter count of the specification."""
    __tracebackhide__ = True
    if not core._is_keras_model(model):
        fail(f"Expected a keras.Model, got {type(model).__name__}. Does build_compact_googlenet `return` it?")
    core.check_input_shape(model, (32, 32, 3), "32x32 RGB images")
    if tuple(model.output_shape[1:]) != (10,):
        fail(f"The network outputs {tuple(model.output_shape[1:])} per image; it should output 10 class probabilities.")
    core.check_outputs_probabilities(model, (32, 32, 3), 10, n=2)
    names = [name for stage in COMPACT_STAGES for name in stage]
    concatenations = _concatenations(model)
    if len(concatenations) != len(names):
        fail(f"The network has {len(concatenations)} Inception modules (Concatenate layers); it needs {len(names)}.")
    sizes = {"3a": 16, "3b": 16, "4a": 8, "4b": 8}
    for concat, name in zip(concatenations, names, strict=True):
        filters = [scaled(f, width) for f in TABLE1[name]]
        _check_module(concat, filters, f"module {name} (the network's module {names.index(name) + 1})")
        shape = tuple(concat.output.shape[1:3])
        if shape != (sizes[name], sizes[name]):
            fail(f"Module {name} works on {shape} pixels; the specification puts it at {sizes[name]}x{sizes[name]}.")
    count, expected = model.count_params(), compact_parameters(width)
    if count != expected:
        fail(
            f"The network has {count:,} parameters at width {width}; the specification has {expected:,}. "
            "Compare its layers with the table (stem, pools, batch norm after every convolution, the head)."
        )


def check_validation_curves(result, name: str = "result") -> None:
    """``result`` (a ``TrainResult``) has training and validation accuracy and loss for every epoch."""
    __tracebackhide__ = True
    curves = getattr(result, "history", None)
    if not isinstance(curves, Mapping):
        fail(f"`{name}` should be what train.fit returns (a TrainResult with a .history).")
    missing = [key for key in ("accuracy", "val_accuracy", "loss", "val_loss") if key not in curves]
    if missing:
        fail(f"`{name}.history` has no {', '.join(missing)}: pass validation_data=(x_val, y_val) to train.fit.")


# --------------------------------------------------------------------------
# diagnose_fit, called on hand-made histories
# --------------------------------------------------------------------------


def history(accuracy, val_accuracy, loss=None, val_loss=None) -> dict[str, list[float]]:
    """A hand-made training history in Keras' layout; missing losses mirror the accuracies (1 - accuracy)."""
    accuracy, val_accuracy = [float(a) for a in accuracy], [float(a) for a in val_accuracy]
    loss = [1.0 - a for a in accuracy] if loss is None else [float(v) for v in loss]
    val_loss = [1.0 - a for a in val_accuracy] if val_loss is None else [float(v) for v in val_loss]
    if not (len(accuracy) == len(val_accuracy) == len(loss) == len(val_loss)):
        raise ValueError("every curve needs one value per epoch")
    return {"loss": loss, "accuracy": accuracy, "val_loss": val_loss, "val_accuracy": val_accuracy}


def check_diagnosis(diagnose: Callable, curves: Mapping, expected: str, why: str = "") -> None:
    """``diagnose(curves)`` returns ``(verdict, reasons)`` with ``verdict == expected`` and at least one reason."""
    __tracebackhide__ = True
    if expected not in VERDICTS:
        raise ValueError(f"expected must be one of {VERDICTS}")
    copy = {key: list(values) for key, values in curves.items()}
    answer = diagnose(copy)
    if not (isinstance(answer, tuple) and len(answer) == 2):
        fail(f"diagnose_fit should return a pair (verdict, reasons), got {type(answer).__name__}.")
    verdict, reasons = answer
    if verdict not in VERDICTS:
        fail(f"diagnose_fit returned the verdict {verdict!r}; it must be one of {', '.join(map(repr, VERDICTS))}.")
    if isinstance(reasons, str) or not reasons or not all(isinstance(r, str) and r.strip() for r in reasons):
        fail("diagnose_fit's reasons should be a non-empty list of sentences (strings).")
    if verdict != expected:
        shown = {key: [round(v, 3) for v in values] for key, values in curves.items()}
        fail(f"For the curves {shown}, diagnose_fit said {verdict!r}; expected {expected!r}. {why}".strip())
