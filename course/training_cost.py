"""What one training step of VGG16 on photos costs, measured in a fresh process: time and memory.

Taught in lecture 04 (transfer learning), section 2: feature extraction (the base frozen, only a new head
trains), fine-tuning the last block, and fine-tuning everything differ in how many parameters train, how
long a step takes and how much memory training needs. Memory is the one of the three that a notebook's
own process cannot measure fairly (it already holds every model built before), so :func:`measure` starts
a new Python process per stage, builds the network there, and samples the process's resident memory
(``/proc/self/statm``, every few milliseconds, in a thread) during two forward passes (inference) and during
the training steps. The difference of the two peaks is what training adds: gradients, the optimizer's
state, and the activations kept for the backward pass.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

STAGES = {
    "feature extraction": "the base frozen; only the new head trains",
    "fine-tune block 5": "block 5 and the head train; blocks 1-4 frozen",
    "fine-tune all": "every layer trains",
}

__all__ = ["STAGES", "TrainingCost", "as_row", "measure"]


@dataclass(frozen=True)
class TrainingCost:
    """One stage's measured cost (see the module docstring).

    Attributes:
        stage: a key of :data:`STAGES`.
        trainable: parameters that train; ``total``: all parameters.
        seconds_per_step: median time of one training step on a batch, after a first (tracing) step.
        model_mb: the process's resident memory with the network built and its weights loaded.
        inference_mb: its peak during two forward passes of a batch.
        training_mb: its peak during the training steps (the first, tracing, step included).
        optimizer_mb: what the gradients and Adam's two moments take, computed: 3 x 4 bytes per trainable
            parameter (the rest of ``training_mb - inference_mb`` is mostly activations kept for the backward
            pass).
    """

    stage: str
    trainable: int
    total: int
    seconds_per_step: float
    model_mb: float
    inference_mb: float
    training_mb: float
    optimizer_mb: float
    batch_size: int
    image_size: int
    backend: str

    @property
    def added_mb(self) -> float:
        """Peak memory that training added above inference."""
        return self.training_mb - self.inference_mb


def _resident_mb() -> float:
    """The process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class _PeakMemory:
    """``with _PeakMemory() as peak: ...`` then ``peak.mb``: the highest resident memory seen inside."""

    def __init__(self, every_s: float = 0.002):
        self.every_s, self.mb = every_s, 0.0
        self._stop = threading.Event()

    def _watch(self):
        while not self._stop.is_set():
            self.mb = max(self.mb, _resident_mb())
            self._stop.wait(self.every_s)

    def __enter__(self):
        self.mb = _resident_mb()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.mb = max(self.mb, _resident_mb())
        return False


def _build(stage: str, image_size: int):
    import keras

    from . import pretrained, transfer

    with contextlib.redirect_stdout(io.StringIO()):  # the parent prints which weights ran
        base, _ = pretrained.vgg16_base((image_size, image_size, 3))
    if stage == "feature extraction":
        base.trainable = False
    elif stage == "fine-tune block 5":
        for layer in base.layers:
            layer.trainable = layer.name.startswith("block5")
    elif stage != "fine-tune all":
        raise ValueError(f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}")
    image = keras.Input((image_size, image_size, 3))
    new_head = transfer.head(base.output_shape[1:], 5)
    return keras.Model(image, new_head(base(image)))


def _child(stage: str, image_size: int, batch_size: int, steps: int) -> dict:
    import keras

    from . import transfer

    model = _build(stage, image_size)
    model.compile(keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((batch_size, image_size, image_size, 3)) * 60).astype("float32")  # VGG-scaled inputs
    y = rng.integers(0, 5, batch_size)
    gc.collect()
    loaded = _resident_mb()
    with _PeakMemory() as inference:
        model.predict_on_batch(x)
        model.predict_on_batch(x)
    times = []
    with _PeakMemory() as training:
        model.train_on_batch(x, y)  # the first step traces the training function
        for _ in range(steps):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
    trainable = transfer.trainable_parameters(model)
    return {
        "stage": stage,
        "trainable": trainable,
        "total": int(model.count_params()),
        "seconds_per_step": float(np.median(times)),
        "model_mb": loaded,
        "inference_mb": inference.mb,
        "training_mb": training.mb,
        "optimizer_mb": 3 * 4 * trainable / 2**20,
        "batch_size": batch_size,
        "image_size": image_size,
        "backend": keras.backend.backend(),
    }


def measure(
    stage: str, image_size: int = 128, batch_size: int = 32, steps: int = 2, timeout_s: int = 900
) -> TrainingCost:
    """Build VGG16 with a new head for ``stage`` (a key of :data:`STAGES`) in a new process, with the
    weights :func:`course.pretrained.vgg16_base` loads, and measure ``steps`` training steps on batches of
    ``batch_size`` images of ``image_size`` pixels. The process inherits the environment (the data kit,
    the Keras backend). ``RuntimeError`` with the child's last lines when it fails."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}")
    request = json.dumps({"stage": stage, "image_size": image_size, "batch_size": batch_size, "steps": steps})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "course.training_cost", request],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
    )
    answer = proc.stdout.strip().splitlines()[-1:] if proc.returncode == 0 else []
    if not answer or not answer[0].startswith("{"):
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"measuring {stage!r} failed (exit status {proc.returncode}):\n{tail}")
    return TrainingCost(**json.loads(answer[0]))


def as_row(cost: TrainingCost, n_train: int) -> dict:
    """One row of lecture 04's cost table: the measured figures, and an epoch of ``n_train`` photos."""
    steps = -(-n_train // cost.batch_size)
    return {
        "trainable parameters": cost.trainable,
        "s per step": round(cost.seconds_per_step, 2),
        f"s per epoch ({n_train:,} photos)": round(cost.seconds_per_step * steps, 1),
        "model loaded (MB)": round(cost.model_mb),
        "peak memory, inference (MB)": round(cost.inference_mb),
        "peak memory, training (MB)": round(cost.training_mb),
        "training adds (MB)": round(cost.added_mb),
        "of which gradients + Adam (MB)": round(cost.optimizer_mb),
    }


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    print(json.dumps(_child(**request)))
