"""Seeded, timed training, the course's training recipes, and the device summary.

The main entry point is :func:`fit`, a thin wrapper around ``model.fit`` that
also measures how long training took (lecture 02 introduces it)::

    from course import models, train

    train.set_seed(0)
    model = models.lenet5(modern=True, batch_norm=True)
    recipe = train.LENET5_BN
    recipe.compile(model, epochs=recipe.epochs, steps_per_epoch=train.count_steps(len(x), recipe.batch_size))
    result = train.fit(model, x, y, epochs=recipe.epochs, batch_size=recipe.batch_size)
    print(result)                   # one line: epochs, samples, time, accuracy
    train.evaluate_accuracy(model, x_test, y_test)

Everything here uses Keras 3 APIs and runs on the TensorFlow, JAX and PyTorch
backends. Backend-specific code lives in two functions only: ``_gpu_names``
(which accelerators are there) and :func:`strategy` (TensorFlow's
``MirroredStrategy`` when there are several GPUs).
"""

from __future__ import annotations

import functools
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops

__all__ = [
    "CIFAR_RESNET",
    "LENET5",
    "LENET5_BN",
    "Recipe",
    "WARMUP",
    "OneCycle",
    "TrainResult",
    "EpochTimer",
    "set_seed",
    "fit",
    "count_steps",
    "evaluate_accuracy",
    "augmented",
    "flip_and_shift",
    "over_seeds",
    "device_summary",
    "describe_device",
    "strategy",
    "use_mixed_precision_on_gpu",
]

# --------------------------------------------------------------------------
# Training recipes: one per purpose, defined once (see bench/README.md for how
# they were chosen and what they achieve).
# --------------------------------------------------------------------------

#: Fraction of all steps spent warming the learning rate up (every recipe's default).
WARMUP = 0.2


@keras.saving.register_keras_serializable(package="course")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """A one-cycle learning rate: a straight ramp up, then a straight ramp down to zero.

    The rate starts at ``peak / 10``, rises linearly to ``peak`` over the first
    ``warmup`` fraction of ``total_steps`` and then falls linearly to 0 at
    ``total_steps`` (and stays 0 after it). The warm-up lets a high peak rate
    be used safely; the decay to zero lets the last steps settle into a
    minimum (Smith & Topin, 2017, "Super-convergence"). Lecture 02 plots it.
    """

    def __init__(self, peak: float, total_steps: int, warmup: float = WARMUP):
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}.")
        if not 0.0 < warmup < 1.0:
            raise ValueError(f"warmup must be a fraction strictly between 0 and 1, got {warmup}.")
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup = float(warmup)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        start = self.peak / 10.0
        warm = max(1.0, self.warmup * self.total_steps)
        up = start + (self.peak - start) * step / warm
        down = self.peak * (self.total_steps - step) / max(1.0, self.total_steps - warm)
        return ops.maximum(0.0, ops.minimum(up, down))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup}


def count_steps(n_samples: int, batch_size: int = 128) -> int:
    """Mini-batches per epoch for ``n_samples`` training samples (the last one may be smaller)."""
    return max(1, math.ceil(n_samples / batch_size))


def _has_batch_norm(model) -> bool:
    """Whether ``model`` (or a model nested in it) has a BatchNormalization layer."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization) or _has_batch_norm(layer):
            return True
    return False


@dataclass(frozen=True)
class Recipe:
    """A training recipe: SGD with Nesterov momentum 0.9 and a :class:`OneCycle` learning rate.

    Each recipe is defined once, below, and named for the networks it was
    tuned on; notebooks and benchmarks call :meth:`compile` instead of
    repeating its numbers. Lecture 02 and the ``lenet5`` assignment explain it.

    Attributes:
        purpose: the networks it is tuned for, in words.
        peak_lr: the highest learning rate of the one-cycle schedule.
        weight_decay: Keras' decoupled weight decay, which shrinks every weight
            by ``learning_rate * weight_decay`` at each step; or None when
            ``decay_per_run`` sets it.
        decay_per_run: weight decay times the run's number of steps, so that
            ``weight_decay = decay_per_run / total_steps`` gives the same total
            shrinkage however long the run (the more data, the less
            regularisation each step needs); or None.
        clip_without_batch_norm: global gradient-norm clip for models without
            batch normalisation (None: never clip).
        epochs, batch_size: what it was tuned with (pass them to :func:`fit`).
        warmup: fraction of the steps spent warming up.
    """

    purpose: str
    peak_lr: float
    epochs: int
    batch_size: int = 128
    weight_decay: float | None = None
    decay_per_run: float | None = None
    clip_without_batch_norm: float | None = None
    warmup: float = WARMUP

    def __post_init__(self):
        if (self.weight_decay is None) == (self.decay_per_run is None):
            raise ValueError("a Recipe needs exactly one of weight_decay and decay_per_run")

    def weight_decay_for(self, total_steps: int) -> float:
        """The weight decay of a run of ``total_steps`` steps."""
        if self.weight_decay is not None:
            return self.weight_decay
        return self.decay_per_run / max(1, int(total_steps))

    def compile(self, model: keras.Model, *, epochs: int, steps_per_epoch: int) -> keras.Model:
        """Compile ``model`` for ``epochs`` epochs of ``steps_per_epoch`` batches and return it.

        The schedule reaches zero at the end of the last epoch, so pass the
        same ``epochs`` to :func:`fit`; ``steps_per_epoch`` is e.g.
        ``count_steps(len(x), recipe.batch_size)``. The loss is sparse
        categorical cross-entropy with the ``"accuracy"`` metric (a softmax
        output and integer labels). ``jit_compile`` stays at Keras' ``"auto"``:
        XLA on a GPU, off on a CPU (where compiling takes longer than it saves
        on models this small).
        """
        if epochs < 1 or steps_per_epoch < 1:
            raise ValueError(f"epochs and steps_per_epoch must be at least 1, got {epochs} and {steps_per_epoch}.")
        total = epochs * steps_per_epoch
        clip = None if _has_batch_norm(model) else self.clip_without_batch_norm
        optimizer = keras.optimizers.SGD(
            learning_rate=OneCycle(self.peak_lr, total, self.warmup),
            momentum=0.9,
            nesterov=True,
            weight_decay=self.weight_decay_for(total),
            global_clipnorm=clip,
        )
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def __str__(self) -> str:
        decay = f"{self.weight_decay:g}" if self.weight_decay is not None else f"{self.decay_per_run:g} / total steps"
        clip = (
            f", gradients clipped to norm {self.clip_without_batch_norm:g} without batch norm"
            if (self.clip_without_batch_norm)
            else ""
        )
        return (
            f"Recipe for {self.purpose}: SGD (Nesterov momentum 0.9), one-cycle learning rate peaking at "
            f"{self.peak_lr:g} after {self.warmup:.0%} of the steps, weight decay {decay}{clip}; "
            f"tuned with {self.epochs} epochs in batches of {self.batch_size}."
        )


#: LeNet-5 without batch normalisation, classic (tanh, average pooling) or
#: modern (ReLU, max pooling): lecture 02 and the ``lenet5`` assignment. A
#: moderate peak rate trains both variants, so the assignment compares
#: architectures, not optimisers (the higher rate of :data:`LENET5_BN` can make
#: the ReLU network diverge without batch norm).
LENET5 = Recipe(
    purpose="LeNet-5 without batch normalisation (classic or modern)",
    peak_lr=0.07,
    weight_decay=0.005,
    epochs=30,
)

#: ``lenet5(modern=True, batch_norm=True)``, the course's fast LeNet-5: 98.6% on
#: the 10k MNIST kit in 3 epochs (bench/lenet5.py). Weight decay is 0.05 for 3
#: epochs of the kit (237 steps) and 0.0085 for 3 epochs of Fashion-MNIST's
#: 60k (1,407 steps). A model without batch norm gets its gradient clipped to a
#: global norm of 1.0: without clipping, a learning rate of 0.2 wrecked one run in
#: three of ``lenet5(modern=True)`` in its first steps (11%, chance level); with
#: it, all three reached 97.5-97.8% in 3 epochs.
LENET5_BN = Recipe(
    purpose="LeNet-5 with batch normalisation",
    peak_lr=0.2,
    decay_per_run=12.0,
    clip_without_batch_norm=1.0,
    epochs=3,
)

#: The CIFAR-10 ResNets and plain nets of lecture 05, and the compact GoogLeNet of the GoogLeNet assignment
#: (He et al. 2016, Section 4.2: SGD with momentum 0.9, learning rate 0.1, batches of 128), for short CPU
#: runs: the one-cycle schedule spans the run, and the
#: decoupled weight decay is 5e-4 per step (shrinking each weight by learning rate x 5e-4).
CIFAR_RESNET = Recipe(
    purpose="CIFAR-10 ResNets and plain nets",
    peak_lr=0.1,
    weight_decay=5e-4,
    epochs=1,
)


# --------------------------------------------------------------------------
# Seeding, timed training and evaluation
# --------------------------------------------------------------------------


def set_seed(seed: int = 0) -> int:
    """Seed Python's, NumPy's and the Keras backend's random generators; returns ``seed``.

    Weight initialisation, shuffling and dropout then repeat from run to run.
    Multi-threaded CPU and GPU kernels may still add tiny run-to-run
    differences (floating-point sums in a different order).
    """
    keras.utils.set_random_seed(int(seed))
    return int(seed)


class EpochTimer(keras.callbacks.Callback):
    """A callback that records each epoch's wall time (training plus its validation) in ``times``."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []
        self._start = None

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


@dataclass
class TrainResult:
    """What :func:`fit` returns: the history and how long training took.

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}``,
            one value per epoch (Keras' ``History.history``).
        wall_time_s: seconds ``model.fit`` took, all of it: graph tracing,
            every epoch and its validation.
        epoch_times_s: seconds of each epoch (training and its validation).
        samples_per_s: training samples processed per second of
            ``wall_time_s`` (``n_train * epochs / wall_time_s``); ``nan`` when
            the number of samples is unknown.
        epochs: epochs actually run (fewer than asked if a callback stopped early).
        n_train: training samples per epoch, after any ``validation_split``;
            ``None`` when ``x`` was not an array (e.g. a ``tf.data.Dataset``).
    """

    history: dict[str, list[float]]
    wall_time_s: float
    epoch_times_s: list[float] = field(default_factory=list)
    samples_per_s: float = float("nan")
    epochs: int = 0
    n_train: int | None = None

    def __str__(self) -> str:
        samples = f"{self.n_train:,} samples" if self.n_train is not None else "a dataset"
        speed = f", {self.samples_per_s:,.0f} samples/s" if math.isfinite(self.samples_per_s) else ""
        text = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''} on {samples} in {self.wall_time_s:.1f} s{speed}"
        scores = [f"{key} {values[-1]:.4f}" for key, values in self.history.items() if values and "acc" in key]
        return text + (": " + ", ".join(scores) if scores else "")


def _num_samples(x) -> int | None:
    """Samples in array-like ``x`` (or the first array of a list/dict of inputs), else None."""
    if isinstance(x, dict):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape"):
        x = x[0]
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) == 0 or shape[0] is None:
        return None
    return int(shape[0])


def fit(
    model: keras.Model,
    x,
    y=None,
    *,
    epochs: int,
    batch_size: int = 128,
    validation_split: float = 0.0,
    validation_data=None,
    verbose="auto",
    callbacks=None,
    **kwargs,
) -> TrainResult:
    """Train a compiled ``model`` with ``model.fit`` and time it.

    Arguments are those of ``keras.Model.fit`` (extra keyword arguments are
    passed on). ``verbose="auto"`` shows Keras' progress bar. The wall time is
    measured around the whole ``model.fit`` call, so it includes the one-off
    cost of tracing the training step; an :class:`EpochTimer` records each
    epoch.

    Returns:
        A :class:`TrainResult`; ``print(result)`` gives a one-line summary.
    """
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            "fit() needs a compiled model: call model.compile(...) or a recipe's compile, e.g. "
            "train.LENET5.compile(model, epochs=..., steps_per_epoch=...), first."
        )
    timer = EpochTimer()
    n = _num_samples(x)
    if n is not None and validation_split and validation_data is None:
        n = int(math.floor(n * (1.0 - validation_split)))  # what Keras keeps for training
    start = time.perf_counter()
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        validation_data=validation_data,
        verbose=verbose,
        callbacks=[*(callbacks or []), timer],
        **kwargs,
    )
    wall = time.perf_counter() - start
    run = len(timer.times)
    speed = n * run / wall if n is not None and wall > 0 else float("nan")
    return TrainResult(
        history={key: [float(v) for v in values] for key, values in history.history.items()},
        wall_time_s=wall,
        epoch_times_s=list(timer.times),
        samples_per_s=speed,
        epochs=run,
        n_train=n,
    )


def evaluate_accuracy(model: keras.Model, x, y, batch_size: int = 1024) -> float:
    """Fraction of ``x`` that ``model`` classifies correctly, in [0, 1].

    ``y`` holds integer labels, or one-hot rows. The model need not be compiled.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if len(y) == 0:
        raise ValueError("evaluate_accuracy needs at least one sample.")
    predicted = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).argmax(axis=-1)
    return float(np.mean(predicted == y))


# --------------------------------------------------------------------------
# Data augmentation, and results over several seeds
# --------------------------------------------------------------------------


def augmented(model: keras.Model, translation: float = 0.08, rotation: float = 0.03, name: str | None = None):
    """``model`` behind random shifts and rotations of its input images, active in training only.

    The wrapper is ``keras.Sequential([Input, distort, model])`` where
    ``distort`` holds ``RandomTranslation(translation, translation)`` (a
    fraction of the height and width: 0.08 of 32 pixels is up to about 2.5
    pixels) and ``RandomRotation(rotation)`` (a fraction of a full turn: 0.03 is
    up to about 11 degrees), both filling the uncovered border with zeros
    (``fill_mode="constant"``). These layers have no weights and pass images
    through unchanged at inference, so compiling and training the wrapper
    trains ``model`` itself, and ``model`` can be evaluated on its own
    afterwards. The defaults are the distortions of the ``lenet5``
    assignment; lecture 02 measures what they do for LeNet-5 on the 10k kit.
    """
    distort = keras.Sequential(
        [
            keras.layers.RandomTranslation(translation, translation, fill_mode="constant"),
            keras.layers.RandomRotation(rotation, fill_mode="constant"),
        ],
        name="distort",
    )
    return keras.Sequential(
        [keras.Input(shape=model.input_shape[1:]), distort, model], name=name or f"{model.name}_augmented"
    )


def flip_and_shift(model: keras.Model, shift: float = 0.125, name: str | None = None):
    """``model`` behind random horizontal flips and shifts of its input photos, active in training only.

    The usual CIFAR-10 augmentation (He et al. 2016, Section 4.2, pad by 4 pixels and crop 32x32; here
    ``RandomTranslation(shift, shift)`` with the border filled by reflection, 0.125 of 32 pixels being up to
    4 pixels) plus ``RandomFlip("horizontal")``: a mirrored cat is still a cat, unlike a mirrored digit. Like
    :func:`augmented`, the layers have no weights, so training the wrapper trains ``model``. The GoogLeNet
    assignment (Q9) trains with it.
    """
    distort = keras.Sequential(
        [keras.layers.RandomFlip("horizontal"), keras.layers.RandomTranslation(shift, shift, fill_mode="reflect")],
        name="flip_and_shift",
    )
    return keras.Sequential(
        [keras.Input(shape=model.input_shape[1:]), distort, model], name=name or f"{model.name}_augmented"
    )


def over_seeds(values):
    """Mean, standard deviation, minimum and maximum of each entry's runs, as a ``pandas.DataFrame``.

    ``values`` maps a name (a row) to one number per seed, e.g.
    ``{"CNN": [0.981, 0.979, 0.983]}``. The standard deviation is the sample
    one (``ddof=1``), NaN for a single run. Lectures 01 and 02 report their
    comparisons with it.
    """
    import pandas as pd

    rows = {}
    for name, runs in values.items():
        runs = np.asarray(list(runs), dtype=float)
        if runs.size == 0:
            raise ValueError(f"{name!r} has no runs.")
        rows[name] = {
            "mean": float(runs.mean()),
            "std": float(runs.std(ddof=1)) if runs.size > 1 else float("nan"),
            "min": float(runs.min()),
            "max": float(runs.max()),
            "seeds": int(runs.size),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# --------------------------------------------------------------------------
# Devices: what there is, how to use several GPUs, mixed precision
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _gpu_names() -> tuple[str, ...]:
    """Names of the GPUs the current Keras backend can use (backend-specific, imported lazily)."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return tuple(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
        if backend == "jax":
            import jax

            return tuple(d.device_kind for d in jax.devices() if d.platform == "gpu")
        if backend == "torch":
            import torch

            return tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # a broken driver means: no usable GPU
        return ()
    return ()


class _SingleDevice:
    """The no-op strategy: ``with strategy().scope():`` just runs the block."""

    num_replicas_in_sync = 1

    def scope(self):
        return nullcontext()

    def __repr__(self):
        return "SingleDevice()"


@functools.lru_cache(maxsize=1)
def strategy():
    """Where to build models: ``with train.strategy().scope(): model = ...``.

    On the TensorFlow backend with two or more GPUs this is a
    ``tf.distribute.MirroredStrategy`` (one model replica per GPU, gradients
    averaged across them; each batch is split between the GPUs, so scale the
    batch size by ``num_replicas_in_sync``). Everywhere else it is a no-op
    object with the same ``scope()`` and ``num_replicas_in_sync`` (1). The
    same object is returned on every call.
    """
    if keras.backend.backend() == "tensorflow" and len(_gpu_names()) > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy()
    return _SingleDevice()


def use_mixed_precision_on_gpu() -> bool:
    """Switch Keras to the ``mixed_float16`` policy if a GPU is present; returns whether it did.

    Mixed precision computes in float16 and keeps the weights in float32; on
    GPUs with tensor cores it trains markedly faster. On a CPU it would only
    slow things down, so there the policy is left unchanged. Call it before
    building the model. The course's models keep their softmax output in
    float32.
    """
    if not _gpu_names():
        return False
    keras.mixed_precision.set_global_policy("mixed_float16")
    return True


def device_summary() -> dict:
    """What training will run on, as a dict.

    Keys: ``backend``, ``keras``, ``device`` (``"GPU"`` or ``"CPU"``), ``gpus``
    (names), ``cpu_cores``, ``strategy`` (``"MirroredStrategy"`` or
    ``"single device"``), ``replicas``, ``mixed_precision`` (the global dtype
    policy's name, e.g. ``"float32"`` or ``"mixed_float16"``) and, on the
    TensorFlow backend, ``tensorflow`` (its version).
    """
    gpus = list(_gpu_names())
    backend = keras.backend.backend()
    several = backend == "tensorflow" and len(gpus) > 1
    info = {
        "backend": backend,
        "keras": keras.__version__,
        "device": "GPU" if gpus else "CPU",
        "gpus": gpus,
        "cpu_cores": os.cpu_count(),
        "strategy": "MirroredStrategy" if several else "single device",
        "replicas": len(gpus) if several else 1,
        "mixed_precision": keras.mixed_precision.global_policy().name,
    }
    if backend == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return info


def describe_device() -> str:
    """:func:`device_summary` as one sentence, for notebooks and ``course doctor``."""
    s = device_summary()
    where = (
        f"{len(s['gpus'])} GPU{'s' if len(s['gpus']) != 1 else ''} ({', '.join(s['gpus'])})"
        if s["gpus"]
        else "CPU only"
    )
    version = f" {s['tensorflow']}" if "tensorflow" in s else ""
    strat = f"MirroredStrategy over {s['replicas']} GPUs" if s["strategy"] == "MirroredStrategy" else "single device"
    return (
        f"Keras {s['keras']} on {s['backend']}{version}: {where}, {s['cpu_cores']} CPU cores; "
        f"{strat}; dtype policy {s['mixed_precision']}."
    )
