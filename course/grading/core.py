"""The generic checks every assignment's tests use (see :mod:`course.grading`).

Each ``check_*`` raises :class:`AssertionError` with a message for the student
and returns quietly, or returns what it measured. Messages name the notebook's
variables where the caller passes them (``name=``, ``what=``).

Run modes: an assignment's notebook picks its training budget with
:func:`course.runtime.settings`, like every notebook, passing the assignment
module's fixed ``SMOKE_BUDGET`` and ``AUTOGRADE_BUDGET``, so every submission
is graded on the same budget whatever its parameters cell says;
:func:`for_mode` picks a per-mode value such as an accuracy threshold, and
:func:`check_epochs` checks a run used its budget.

It imports NumPy and the standard library only; Keras and the course's data and
training modules are imported when a check needs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from course import runtime

__all__ = [
    "LayerSpec",
    "check_accuracy_at_least",
    "check_epochs",
    "check_input_shape",
    "check_layer_shapes",
    "check_layer_types",
    "check_new_model_each_call",
    "check_outputs_probabilities",
    "check_parameter_counts",
    "check_reported_accuracy",
    "check_reported_time",
    "check_same_architecture",
    "conv_parameters",
    "dense_parameters",
    "evaluate",
    "fail",
    "for_mode",
    "get_layer",
    "require",
    "spec_table",
]


def fail(message: str) -> NoReturn:
    """Fail the test with ``message`` (an :class:`AssertionError`)."""
    raise AssertionError(message)


def require(namespace: Mapping[str, Any], *names: str):
    """Fetch variables the notebook should have defined, or fail with a clear message.

    Use ``grading.require(globals(), "model", "result")`` at the top of a test
    cell, instead of a bare name that would raise ``NameError`` when an earlier
    cell failed. Returns the value (one name) or a tuple of values.
    """
    __tracebackhide__ = True
    missing = [name for name in names if name not in namespace]
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        verb = "is" if len(missing) == 1 else "are"
        fail(
            f"{listed} {verb} not defined. Run every cell above in order (Kernel > Restart & Run All) "
            f"and fix the first cell that fails; keep the variable names the instructions ask for."
        )
    values = tuple(namespace[name] for name in names)
    return values[0] if len(values) == 1 else values


# --------------------------------------------------------------------------
# Run modes and budgets
# --------------------------------------------------------------------------


def for_mode(values: Mapping[str, Any], smoke_flag: bool = False):
    """``values[mode]`` for the current :func:`course.runtime.mode` (e.g. an accuracy threshold per mode)."""
    return values[runtime.mode(smoke_flag)]


def check_epochs(result, epochs: int, name: str = "result") -> None:
    """``result`` (a :class:`course.train.TrainResult`) comes from a run of exactly ``epochs`` epochs."""
    __tracebackhide__ = True
    got = getattr(result, "epochs", None)
    if got != epochs:
        fail(
            f"`{name}` is from a run of {got} epoch(s), but this run mode trains for {epochs}: train for EPOCHS "
            "epochs, without early stopping."
        )


# --------------------------------------------------------------------------
# Models: layers, shapes, parameters
# --------------------------------------------------------------------------


def conv_parameters(kernel: int, channels_in: int, filters: int) -> int:
    """Weights and biases of a ``kernel`` x ``kernel`` convolution."""
    return (kernel * kernel * channels_in + 1) * filters


def dense_parameters(units_in: int, units: int) -> int:
    """Weights and biases of a dense layer."""
    return (units_in + 1) * units


@dataclass(frozen=True)
class LayerSpec:
    """One named layer an assignment requires."""

    name: str
    kind: str  # Keras layer class name
    output_shape: tuple  # without the batch axis
    parameters: int
    activation: str | None = None  # for Conv2D / Dense
    what: str = ""
    kernel: tuple | None = None  # Conv2D kernel size, e.g. (5, 5)
    pool: tuple | None = None  # pooling window (= strides), e.g. (2, 2)


def spec_table(spec: tuple[LayerSpec, ...]):
    """A specification as a ``pandas.DataFrame`` (one row per named layer, plus the total)."""
    import pandas as pd

    rows = [
        {
            "layer": s.name,
            "type": s.kind,
            "what": s.what,
            "activation": s.activation or "",
            "output shape": "x".join(map(str, s.output_shape)),
            "parameters": s.parameters,
        }
        for s in spec
    ]
    total = sum(s.parameters for s in spec)
    rows.append({"layer": "total", "type": "", "what": "", "activation": "", "output shape": "", "parameters": total})
    return pd.DataFrame(rows)


def _is_keras_model(model) -> bool:
    if not any(cls.__module__.split(".")[0] == "keras" for cls in type(model).__mro__):
        return False  # not a Keras object at all: no need to import Keras (seconds) to say so
    import keras

    return isinstance(model, keras.Model)


def _check_model(model) -> None:
    if not _is_keras_model(model):
        fail(f"Expected a keras.Model, got {type(model).__name__}. Does your function `return` the model?")


def get_layer(model, name: str):
    """The layer called ``name``, or a clear failure that lists the model's layer names."""
    __tracebackhide__ = True
    _check_model(model)
    for layer in model.layers:
        if layer.name == name:
            return layer
    names = ", ".join(repr(layer.name) for layer in model.layers)
    fail(f"The model has no layer named {name!r} (its layers are: {names}). Pass name={name!r} to that layer.")


def _shape(value) -> tuple:
    return tuple(None if d is None else int(d) for d in value)


def check_input_shape(model, expected: tuple, what: str = "") -> None:
    """The model takes batches of inputs shaped ``expected`` (batch axis left out)."""
    __tracebackhide__ = True
    _check_model(model)
    try:
        got = _shape(model.inputs[0].shape)[1:]
    except (AttributeError, IndexError, TypeError, ValueError):
        fail(f"The model has no defined input. Start it with keras.Input(shape={tuple(expected)}).")
    if got != tuple(expected):
        fail(f"The model's input shape is {got}, expected {tuple(expected)}{f' ({what})' if what else ''}.")


def _output_shape(layer, input_shape: tuple) -> tuple:
    try:
        return _shape(layer.output.shape)[1:]
    except (AttributeError, ValueError, TypeError):
        fail(
            f"Layer {layer.name!r} has no output shape yet: the model was never built. "
            f"Start the model with keras.Input(shape={tuple(input_shape)})."
        )


def check_layer_shapes(model, expected: Mapping[str, tuple], input_shape: tuple, hint: str = "") -> None:
    """The input is ``input_shape`` and each named layer's output shape equals ``expected[name]``."""
    __tracebackhide__ = True
    check_input_shape(model, input_shape)
    for name, shape in expected.items():
        got = _output_shape(get_layer(model, name), input_shape)
        if got != tuple(shape):
            fail(f"Layer {name!r} outputs shape {got}, expected {tuple(shape)}.{f' {hint}' if hint else ''}")


def _count(weights) -> int:
    return int(sum(math.prod(_shape(w.shape)) for w in weights))


def check_parameter_counts(model, expected: Mapping[str, int], total: int | None = None) -> None:
    """Each named layer has ``expected[name]`` trainable parameters, and the model ``total``."""
    __tracebackhide__ = True
    _check_model(model)
    for name, count in expected.items():
        got = _count(get_layer(model, name).trainable_weights)
        if got != count:
            fail(f"Layer {name!r} has {got:,} trainable parameters, expected {count:,}.")
    if total is not None:
        got = _count(model.trainable_weights)
        if got != total:
            fail(
                f"The model has {got:,} trainable parameters, expected {total:,}. "
                "Extra layers with weights, or a missing bias, change the count."
            )


def activation_name(layer) -> str | None:
    """The name of a layer's activation function (``"relu"``, ``"tanh"``...), or None."""
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", None) if fn is not None else None


def _check_pooling(layer, spec: LayerSpec) -> None:
    if type(layer).__name__ != spec.kind:
        fail(f"Layer {layer.name!r} is a {type(layer).__name__}, expected {spec.kind}.")
    window = tuple(spec.pool or (2, 2))
    if _shape(layer.pool_size) != window or _shape(layer.strides) != window:
        fail(
            f"Layer {layer.name!r} pools {_shape(layer.pool_size)} with strides {_shape(layer.strides)}; "
            f"expected {window[0]}x{window[1]} windows with stride {window[0]}."
        )


def check_layer_types(model, spec: tuple[LayerSpec, ...]) -> None:
    """Each named layer has the specified Keras type, activation, kernel size and pooling window."""
    __tracebackhide__ = True
    _check_model(model)
    for s in spec:
        layer = get_layer(model, s.name)
        if "Pooling" in s.kind:
            _check_pooling(layer, s)
            continue
        if type(layer).__name__ != s.kind:
            fail(f"Layer {s.name!r} is a {type(layer).__name__}, expected a {s.kind} layer.")
        if s.kernel is not None and _shape(layer.kernel_size) != tuple(s.kernel):
            fail(f"Layer {s.name!r} has {_shape(layer.kernel_size)} kernels, expected {tuple(s.kernel)}.")
        got = activation_name(layer)
        if s.activation is not None and got != s.activation:
            fail(
                f"Layer {s.name!r} uses activation {got!r}, expected {s.activation!r}. "
                f"Pass activation={s.activation!r} to the layer itself."
            )


def _architecture(model) -> list[tuple]:
    return [(type(layer).__name__, _shape(layer.output.shape)[1:], _count(layer.weights)) for layer in model.layers]


def check_same_architecture(model, reference, what: str = "`model`", reference_what: str = "your builder") -> None:
    """``model`` has the same layers (types, output shapes, weights) as ``reference``."""
    __tracebackhide__ = True
    _check_model(model)
    _check_model(reference)
    if _architecture(model) != _architecture(reference):
        fail(f"{what} is not the network {reference_what} builds; train and report the model your function returns.")


def check_new_model_each_call(build: Callable, what: str = "Your function") -> None:
    """``build()`` returns a freshly initialised model on every call: two calls give different initial weights.

    (Compared as data: a model built once and returned again, or a builder that
    seeds the random generators itself, gives the same weights twice.)
    """
    __tracebackhide__ = True
    import keras

    first, second = build(), build()
    _check_model(first)
    _check_model(second)
    a = [keras.ops.convert_to_numpy(w) for w in first.weights]
    b = [keras.ops.convert_to_numpy(w) for w in second.weights]
    if len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True)):
        fail(
            f"{what} returned two models with the same weights. Each call must build a new, freshly initialised "
            "model: don't return a model created outside the function, and don't set a random seed inside it."
        )


def check_outputs_probabilities(model, input_shape: tuple, classes: int, n: int = 4) -> None:
    """The model maps a batch of ``n`` random inputs to one probability distribution over ``classes`` each."""
    __tracebackhide__ = True
    import keras

    _check_model(model)
    x = np.random.default_rng(0).random((n, *tuple(input_shape)), dtype=np.float32)
    p = keras.ops.convert_to_numpy(model(x, training=False))
    if p.shape != (n, classes):
        fail(f"The model returned shape {p.shape} for {n} inputs, expected {(n, classes)}.")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1, atol=1e-4):
        fail("The model's outputs must be probabilities (non-negative, summing to 1): use a softmax output.")


# --------------------------------------------------------------------------
# Reported numbers and accuracy
# --------------------------------------------------------------------------


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))


def check_reported_time(result, reported, name: str = "training_time_s", result_name: str = "result") -> None:
    """``reported`` is the training wall time ``course.train.fit`` measured (``result.wall_time_s``).

    ``name`` and ``result_name`` are the notebook's variable names, used in the message.
    """
    __tracebackhide__ = True
    measured = getattr(result, "wall_time_s", None)
    if measured is None:
        fail(f"`{result_name}` should be what course.train.fit returned (a TrainResult with .wall_time_s).")
    if not _is_number(reported):
        fail(f"{name} should be a number of seconds, got {type(reported).__name__}.")
    if not math.isclose(float(reported), float(measured), rel_tol=1e-9, abs_tol=1e-9):
        fail(
            f"{name} = {float(reported):.3f} s, but the training you ran took {float(measured):.3f} s "
            f"({result_name}.wall_time_s). Report the time your code measured: {name} = {result_name}.wall_time_s."
        )


def evaluate(model, x, y) -> float:
    """``course.train.evaluate_accuracy(model, x, y)``: the fraction of ``x`` the model gets right."""
    from course import train

    _check_model(model)
    return train.evaluate_accuracy(model, x, y)


def check_reported_accuracy(model, x, y, reported, tol: float = 1e-4, name: str = "test_accuracy") -> None:
    """``reported`` matches a fresh evaluation of ``model`` on ``(x, y)``.

    ``name`` is the notebook's variable name, used in the message.
    """
    __tracebackhide__ = True
    if not _is_number(reported):
        fail(f"{name} should be a number, got {type(reported).__name__}.")
    reported = float(reported)
    if reported > 1:
        fail(f"{name} = {reported:g} looks like a percentage; report a fraction between 0 and 1.")
    fresh = evaluate(model, x, y)
    if abs(fresh - reported) > tol:
        fail(
            f"{name} = {reported:.4f}, but evaluating the trained model on the test set gives {fresh:.4f}. "
            "Report what your code measured, on the test set, after training."
        )


def check_accuracy_at_least(accuracy: float, threshold: float, what: str = "The model", hint: str = "") -> None:
    """``accuracy`` reaches ``threshold``; the message says how far off it is."""
    __tracebackhide__ = True
    if not accuracy >= threshold:
        fail(
            f"{what} reached {accuracy:.2%} test accuracy; this run mode needs at least {threshold:.1%}."
            f"{f' {hint}' if hint else ''}"
        )
