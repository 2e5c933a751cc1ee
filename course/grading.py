"""Checks that the assignments' test cells call, with messages written for students.

Every ``check_*`` function raises :class:`AssertionError` with one clear
sentence saying what is wrong and what to do, and returns quietly (or returns
the value it measured) when all is well. Test cells stay short::

    model = grading.require(globals(), "model")
    grading.check_layer_shapes(model, grading.LENET5_OUTPUT_SHAPES)

The module also holds the assignment's *budgets*: how long it trains and which
test accuracy it must reach in each run mode (see :mod:`course.runtime`):

* **full**: the parameters cell's values; the real result;
* **autograde**: a small fixed budget, so nbgrader grades a submission in
  seconds (``NBGRADER_EXECUTION=autograde``);
* **smoke**: a tiny budget for CI (``SMOKE=True`` or ``COURSE_SMOKE=1``).

It imports numpy and the standard library only; Keras and the course's data
and training modules are imported when a check needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, NoReturn, Optional

import numpy as np

from course import runtime

__all__ = [
    "AUTOGRADE_BUDGET",
    "Budget",
    "LENET5",
    "LENET5_INPUT_SHAPE",
    "LENET5_OUTPUT_SHAPES",
    "LENET5_PARAMETERS",
    "LENET5_TOTAL_PARAMETERS",
    "LayerSpec",
    "MIN_TEST_ACCURACY",
    "SMOKE_BUDGET",
    "budget",
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

#: Test accuracy the LeNet-5 of the Q6 assignment must reach, per run mode.
#: full: below the reference run's (about 0.99 on the offline kit's 10,000
#: training images), so a sound submission with another seed or recipe
#: passes; autograde: the reference solution reaches about 0.95 (classic) and
#: 0.97 (modern) under the grading budget, an untrained model about 0.1;
#: smoke: about 0.85 and 0.78 for the reference, so 0.5 only shows that
#: training moved the model well past chance.
MIN_TEST_ACCURACY = {"full": 0.98, "autograde": 0.90, "smoke": 0.50}

#: Training budgets that replace the parameters cell's values. Neither
#: augments the data: random distortions pay off over many epochs only.
AUTOGRADE_BUDGET = {"epochs": 3, "train_samples": 10_000, "batch_size": 128, "augment": False}
SMOKE_BUDGET = {"epochs": 2, "train_samples": 2_000, "batch_size": 128, "augment": False}


@dataclass(frozen=True)
class Budget:
    """How much the assignment trains in the current mode, and what it must reach."""

    mode: str
    epochs: int
    train_samples: Optional[int]
    batch_size: int
    augment: bool
    min_test_accuracy: float

    def __str__(self) -> str:
        samples = "all the" if self.train_samples is None else f"at most {self.train_samples:,}"
        augment = "with" if self.augment else "without"
        return (
            f"Budget ({self.mode} mode): {self.epochs} epoch(s) over {samples} training images in batches of "
            f"{self.batch_size}, {augment} augmentation; the tests require a test accuracy of at least "
            f"{self.min_test_accuracy:.0%}."
        )


def min_test_accuracy(smoke_flag: bool = False) -> float:
    """The LeNet-5 test accuracy the tests require in the current mode."""
    return MIN_TEST_ACCURACY[runtime.mode(smoke_flag)]


def budget(
    smoke_flag: bool = False, *, epochs: int, train_samples: Optional[int], batch_size: int, augment: bool = True
) -> Budget:
    """The training budget for the current mode.

    In full mode it is the values given (the notebook's parameters cell); in
    autograde and smoke mode the fixed budgets above replace them, so every
    submission is graded on the same budget whatever its parameters cell says.
    """
    name = runtime.mode(smoke_flag)
    values = {"epochs": epochs, "train_samples": train_samples, "batch_size": batch_size, "augment": bool(augment)}
    fixed = {"autograde": AUTOGRADE_BUDGET, "smoke": SMOKE_BUDGET}.get(name)
    return Budget(mode=name, min_test_accuracy=MIN_TEST_ACCURACY[name], **(fixed or values))


# --------------------------------------------------------------------------
# LeNet-5's specification (LeCun, Bottou, Bengio & Haffner, 1998)
# --------------------------------------------------------------------------


def _conv_parameters(kernel: int, channels_in: int, filters: int) -> int:
    return (kernel * kernel * channels_in + 1) * filters


def _dense_parameters(units_in: int, units: int) -> int:
    return (units_in + 1) * units


@dataclass(frozen=True)
class LayerSpec:
    """One named layer of the required LeNet-5 (classic variant)."""

    name: str
    kind: str  # Keras layer class name
    output_shape: tuple  # without the batch axis
    parameters: int
    activation: Optional[str] = None  # for Conv2D / Dense
    what: str = ""


LENET5 = (
    LayerSpec("C1", "Conv2D", (28, 28, 6), _conv_parameters(5, 1, 6), "tanh", "6 filters 5x5"),
    LayerSpec("S2", "AveragePooling2D", (14, 14, 6), 0, None, "2x2 average pooling, stride 2"),
    LayerSpec("C3", "Conv2D", (10, 10, 16), _conv_parameters(5, 6, 16), "tanh", "16 filters 5x5"),
    LayerSpec("S4", "AveragePooling2D", (5, 5, 16), 0, None, "2x2 average pooling, stride 2"),
    LayerSpec("C5", "Conv2D", (1, 1, 120), _conv_parameters(5, 16, 120), "tanh", "120 filters 5x5"),
    LayerSpec("F6", "Dense", (84,), _dense_parameters(120, 84), "tanh", "84 units"),
    LayerSpec("output", "Dense", (10,), _dense_parameters(84, 10), "softmax", "10 units"),
)
LENET5_INPUT_SHAPE = (32, 32, 1)
LENET5_OUTPUT_SHAPES = {spec.name: spec.output_shape for spec in LENET5}
LENET5_PARAMETERS = {spec.name: spec.parameters for spec in LENET5}
LENET5_TOTAL_PARAMETERS = sum(LENET5_PARAMETERS.values())


def lenet5_table():
    """The specification as a ``pandas.DataFrame`` (one row per named layer, plus the total)."""
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
        for s in LENET5
    ]
    rows.append({"layer": "total", "type": "", "what": "", "activation": "", "output shape": "",
                 "parameters": LENET5_TOTAL_PARAMETERS})  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# Helpers for test cells
# --------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
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
        _fail(
            f"{listed} {verb} not defined. Run every cell above in order (Kernel > Restart & Run All) "
            f"and fix the first cell that fails; keep the variable names the instructions ask for."
        )
    values = tuple(namespace[name] for name in names)
    return values[0] if len(values) == 1 else values


def _is_keras_model(model) -> bool:
    import keras

    return isinstance(model, keras.Model)


def _check_model(model) -> None:
    if not _is_keras_model(model):
        _fail(f"Expected a keras.Model, got {type(model).__name__}. Does your function `return` the model?")


def get_layer(model, name: str):
    """The layer called ``name``, or a clear failure that lists the model's layer names."""
    __tracebackhide__ = True
    _check_model(model)
    for layer in model.layers:
        if layer.name == name:
            return layer
    names = ", ".join(repr(layer.name) for layer in model.layers)
    _fail(f"The model has no layer named {name!r} (its layers are: {names}). Pass name={name!r} to that layer.")


def _shape(value) -> tuple:
    return tuple(None if d is None else int(d) for d in value)


def check_input_shape(model, expected: tuple = LENET5_INPUT_SHAPE) -> None:
    """The model takes batches of images shaped ``expected``."""
    __tracebackhide__ = True
    _check_model(model)
    try:
        got = _shape(model.inputs[0].shape)[1:]
    except (AttributeError, IndexError, TypeError, ValueError):
        _fail("The model has no defined input. Start it with keras.Input(shape=(32, 32, 1)).")
    if got != tuple(expected):
        _fail(f"The model's input shape is {got}, expected {tuple(expected)} (padded 32x32 images, one channel).")


def _output_shape(layer) -> tuple:
    try:
        return _shape(layer.output.shape)[1:]
    except (AttributeError, ValueError, TypeError):
        _fail(
            f"Layer {layer.name!r} has no output shape yet: the model was never built. "
            "Start the model with keras.Input(shape=(32, 32, 1))."
        )


def check_layer_shapes(model, expected: Mapping[str, tuple] = LENET5_OUTPUT_SHAPES) -> None:
    """Each named layer's output shape (batch axis left out) equals ``expected[name]``."""
    __tracebackhide__ = True
    check_input_shape(model)
    for name, shape in expected.items():
        got = _output_shape(get_layer(model, name))
        if got != tuple(shape):
            _fail(
                f"Layer {name!r} outputs shape {got}, expected {tuple(shape)}. Check its filters/units, "
                "kernel size (5x5), padding ('valid') and pooling (2x2, stride 2)."
            )


def _count(weights) -> int:
    return int(sum(math.prod(_shape(w.shape)) for w in weights))


def check_parameter_counts(
    model,
    expected: Mapping[str, int] = LENET5_PARAMETERS,
    total: Optional[int] = LENET5_TOTAL_PARAMETERS,
) -> None:
    """Each named layer has ``expected[name]`` trainable parameters, and the model ``total``."""
    __tracebackhide__ = True
    _check_model(model)
    for name, count in expected.items():
        got = _count(get_layer(model, name).trainable_weights)
        if got != count:
            _fail(f"Layer {name!r} has {got:,} trainable parameters, expected {count:,}.")
    if total is not None:
        got = _count(model.trainable_weights)
        if got != total:
            _fail(
                f"The model has {got:,} trainable parameters, expected {total:,}. "
                "Extra layers with weights, or a missing bias, change the count."
            )


def _activation_name(layer) -> Optional[str]:
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", None) if fn is not None else None


def _check_pooling(layer, kind: str) -> None:
    if type(layer).__name__ != kind:
        _fail(f"Layer {layer.name!r} is a {type(layer).__name__}, expected {kind}.")
    if _shape(layer.pool_size) != (2, 2) or _shape(layer.strides) != (2, 2):
        _fail(
            f"Layer {layer.name!r} pools {_shape(layer.pool_size)} with strides {_shape(layer.strides)}; "
            "LeNet-5 pools 2x2 windows with stride 2."
        )


def check_layer_types(model, spec=LENET5) -> None:
    """Each named layer has the specified Keras type, activation, kernel size and pooling window."""
    __tracebackhide__ = True
    _check_model(model)
    for s in spec:
        layer = get_layer(model, s.name)
        if "Pooling" in s.kind:
            _check_pooling(layer, s.kind)
            continue
        if type(layer).__name__ != s.kind:
            _fail(f"Layer {s.name!r} is a {type(layer).__name__}, expected a {s.kind} layer.")
        if s.kind == "Conv2D" and _shape(layer.kernel_size) != (5, 5):
            _fail(f"Layer {s.name!r} has {_shape(layer.kernel_size)} kernels, expected 5x5.")
        got = _activation_name(layer)
        if s.activation is not None and got != s.activation:
            _fail(
                f"Layer {s.name!r} uses activation {got!r}, expected {s.activation!r}. "
                f"Pass activation={s.activation!r} to the layer itself."
            )


def check_modern_variant(model) -> None:
    """A modern LeNet-5: same named layers and shapes, ReLU activations and max pooling."""
    __tracebackhide__ = True
    check_layer_shapes(model)
    for name in ("S2", "S4"):
        layer = get_layer(model, name)
        if type(layer).__name__ != "MaxPooling2D":
            _fail(f"In the modern variant, {name!r} should be MaxPooling2D, not {type(layer).__name__}.")
    activations = {_activation_name(layer) for layer in model.layers} - {None, "linear", "softmax"}
    if "tanh" in activations or "relu" not in activations:
        found = ", ".join(sorted(activations)) or "none"
        _fail(f"The modern variant should use ReLU instead of tanh (activations found: {found}).")


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
    """``pad_fn`` agrees with the course's ``data.pad_and_scale`` on real MNIST test digits."""
    __tracebackhide__ = True
    from course import data

    (_, _), (x_test, _) = data.load_mnist()
    x = x_test[:n]
    expected = data.pad_and_scale(x, size=size)[:, (size - 28) // 2 : (size + 28) // 2, (size - 28) // 2 : (size + 28) // 2, 0]
    _check_padded(pad_fn, x, expected, size)


def _check_padded(pad_fn: Callable, x: np.ndarray, expected_centre: np.ndarray, size: int) -> None:
    __tracebackhide__ = True
    name = getattr(pad_fn, "__name__", "your function")
    before = x.copy()
    out = pad_fn(x)
    if not np.array_equal(x, before):
        _fail(f"{name} changed its input array; return a new array instead.")
    if not isinstance(out, np.ndarray):
        _fail(f"{name} returned a {type(out).__name__}, expected a NumPy array.")
    expected_shape = (len(x), size, size, 1)
    if out.shape != expected_shape:
        _fail(f"{name} returned shape {out.shape} for input shape {x.shape}, expected {expected_shape}.")
    if out.dtype != np.float32:
        _fail(f"{name} returned dtype {out.dtype}, expected float32.")
    if out.min() < 0 or out.max() > 1:
        _fail(f"{name} returned values in [{out.min():g}, {out.max():g}]; scale pixels into [0, 1] (divide by 255).")
    pad = (size - 28) // 2
    centre = (slice(None), slice(pad, pad + 28), slice(pad, pad + 28), 0)
    border = out.copy()
    border[centre] = 0
    if np.any(border != 0):
        _fail(f"{name}: the {pad}-pixel border around each digit must be zeros (black), on every side.")
    if not np.allclose(out[centre], expected_centre, rtol=0, atol=1e-6):
        _fail(f"{name}: the centre 28x28 block must be the original image divided by 255, in place (not shifted or flipped).")


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))


def check_reported_time(result, reported, name: str = "training_time_s", result_name: str = "result") -> None:
    """``reported`` is the training wall time ``course.train.fit`` measured (``result.wall_time_s``).

    ``name`` and ``result_name`` are the notebook's variable names, used in the message.
    """
    __tracebackhide__ = True
    measured = getattr(result, "wall_time_s", None)
    if measured is None:
        _fail(f"`{result_name}` should be what course.train.fit returned (a TrainResult with .wall_time_s).")
    if not _is_number(reported):
        _fail(f"{name} should be a number of seconds, got {type(reported).__name__}.")
    if not math.isclose(float(reported), float(measured), rel_tol=1e-9, abs_tol=1e-9):
        _fail(
            f"{name} = {float(reported):.3f} s, but the training you ran took {float(measured):.3f} s "
            f"({result_name}.wall_time_s). Report the time your code measured: {name} = {result_name}.wall_time_s."
        )


_EVALUATIONS: dict[tuple, float] = {}


def evaluate(model, x, y) -> float:
    """``course.train.evaluate_accuracy(model, x, y)``, remembered while the weights and data stay the same.

    Several test cells check the same trained model; the key holds a digest of
    every weight, so a model that was trained further is evaluated afresh.
    """
    import hashlib

    import keras

    from course import train

    digest = hashlib.sha1()
    for weight in model.weights:
        digest.update(keras.ops.convert_to_numpy(weight).tobytes())
    key = (id(model), digest.hexdigest(), id(x), id(y), len(x))
    if key not in _EVALUATIONS:
        _EVALUATIONS.clear()  # keep one model's result at a time; the arrays' ids may be reused
        _EVALUATIONS[key] = train.evaluate_accuracy(model, x, y)
    return _EVALUATIONS[key]


def check_reported_accuracy(model, x, y, reported, tol: float = 1e-4, name: str = "test_accuracy") -> float:
    """``reported`` matches a fresh evaluation of ``model`` on ``(x, y)``; returns that accuracy.

    ``name`` is the notebook's variable name, used in the message.
    """
    __tracebackhide__ = True
    if not _is_number(reported):
        _fail(f"{name} should be a number, got {type(reported).__name__}.")
    reported = float(reported)
    if reported > 1:
        _fail(f"{name} = {reported:g} looks like a percentage; report a fraction between 0 and 1.")
    _check_model(model)
    fresh = evaluate(model, x, y)
    if abs(fresh - reported) > tol:
        _fail(
            f"{name} = {reported:.4f}, but evaluating the trained model on the padded test set gives {fresh:.4f}. "
            "Report what your code measured, on the padded test set, after training."
        )
    return fresh


def _architecture(model) -> list[tuple]:
    return [(type(layer).__name__, _output_shape(layer), _count(layer.weights)) for layer in model.layers]


def check_same_architecture(model, reference, what: str = "`model`", reference_what: str = "build_lenet5()") -> None:
    """``model`` has the same layers (types, output shapes, weights) as ``reference``."""
    __tracebackhide__ = True
    _check_model(model)
    _check_model(reference)
    if _architecture(model) != _architecture(reference):
        _fail(f"{what} is not the network {reference_what} builds; train and report the model your function returns.")


def check_accuracy_at_least(accuracy: float, threshold: float, what: str = "The model") -> None:
    """``accuracy`` reaches ``threshold``; the message says how far off it is."""
    __tracebackhide__ = True
    if not accuracy >= threshold:
        _fail(
            f"{what} reached {accuracy:.2%} test accuracy; this run mode needs at least {threshold:.1%}. "
            "Check the padding, the architecture and that training ran for the whole budget."
        )


def check_epochs(result, epochs: int) -> None:
    """``result`` comes from a run of ``epochs`` epochs (the budget of the current mode)."""
    __tracebackhide__ = True
    got = getattr(result, "epochs", None)
    if got != epochs:
        _fail(f"`result` is from a run of {got} epoch(s), but this run mode trains for {epochs} (use EPOCHS).")


def check_new_model_each_call(build: Callable) -> None:
    """``build()`` returns a new model (own weights) on every call."""
    __tracebackhide__ = True
    first, second = build(), build()
    _check_model(first)
    if first is second or any(a is b for a, b in zip(first.weights, second.weights)):
        _fail("Each call must build a new model with its own weights; don't return a model created outside the function.")


def check_kernel_shapes(model) -> None:
    """C1, C3 and C5 hold 5x5 kernels from every input map to every output map; F6 and output are dense."""
    __tracebackhide__ = True
    expected = {"C1": (5, 5, 1, 6), "C3": (5, 5, 6, 16), "C5": (5, 5, 16, 120), "F6": (120, 84), "output": (84, 10)}
    for name, shape in expected.items():
        layer = get_layer(model, name)
        kernel = getattr(layer, "kernel", None)
        got = None if kernel is None else _shape(kernel.shape)
        if got != shape:
            _fail(f"Layer {name!r} has a kernel of shape {got}, expected {shape}.")


def check_outputs_probabilities(model, n: int = 4) -> None:
    """The model maps a batch of padded images to one probability distribution per image."""
    __tracebackhide__ = True
    _check_model(model)
    x = np.random.default_rng(0).random((n,) + LENET5_INPUT_SHAPE, dtype=np.float32)
    import keras

    p = keras.ops.convert_to_numpy(model(x, training=False))
    if p.shape != (n, 10):
        _fail(f"The model returned shape {p.shape} for {n} images, expected {(n, 10)}.")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1, atol=1e-4):
        _fail("The model's outputs must be probabilities (non-negative, summing to 1): use a softmax output.")


@lru_cache(maxsize=2)
def _reference_test_set(size: int):
    from course import data

    (_, _), (x_test, y_test) = data.load_mnist()
    return data.pad_and_scale(x_test, size=size), y_test


def reference_test_set(size: int = 32):
    """The MNIST test set padded with the course's reference ``pad_and_scale``: ``(x, y)``."""
    return _reference_test_set(size)
