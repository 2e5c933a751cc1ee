"""Training measured in steps and seconds: :func:`fit_steps` records the error on fixed sets every few
steps, so curves of different networks can be drawn against steps (lecture 05's degradation experiment)
or against wall time (lecture 03's equal-budget race).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import keras
import numpy as np

__all__ = ["StepResult", "fit_steps", "plot_errors", "summarise"]


@dataclass
class StepResult:
    """What :func:`fit_steps` measured, one entry per checkpoint (the first before any training).

    ``steps``: steps done; ``seconds``: training wall time so far (measurement
    excluded); ``errors``: ``{set name: [error rate, ...]}``; ``wall_time_s``:
    all the training time.
    """

    name: str
    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    errors: dict[str, list[float]] = field(default_factory=dict)
    wall_time_s: float = 0.0

    def final(self, which: str) -> float:
        """The last measured error on set ``which``."""
        return self.errors[which][-1]

    def __str__(self) -> str:
        last = ", ".join(f"{name} error {values[-1]:.4f}" for name, values in self.errors.items())
        return f"{self.name}: {self.steps[-1]} steps in {self.wall_time_s:.1f} s; {last}"


def _error(model, x, y, batch_size: int = 1000) -> float:
    predicted = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).argmax(axis=-1)
    return float(np.mean(predicted != np.asarray(y).reshape(-1)))


def fit_steps(
    model: keras.Model,
    x,
    y,
    *,
    steps: int,
    batch_size: int = 128,
    every: int = 50,
    measure: Mapping[str, tuple] | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
    name: str | None = None,
) -> StepResult:
    """Train a compiled ``model`` for ``steps`` mini-batches, measuring the error on ``measure`` every ``every``.

    The batches come from a seeded shuffle of ``(x, y)``, one epoch after the
    other. Training runs in chunks of ``every`` steps (``model.fit`` on the
    chunk's samples; the optimizer and its schedule carry on from chunk to
    chunk), and after each chunk the error on every set of ``measure``
    (``{"train": (x_sub, y_sub), "test": (x_test, y_test)}``) is measured, off
    the clock. ``max_seconds`` stops after the first chunk that ends past that
    much training time (an equal time budget).
    """
    n = len(x)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(steps * batch_size / n) + 1)])
    result = StepResult(name or model.name)
    measure = dict(measure or {})

    def checkpoint(done: int, seconds: float) -> None:
        result.steps.append(done)
        result.seconds.append(round(seconds, 3))
        for label, (xs, ys) in measure.items():
            result.errors.setdefault(label, []).append(_error(model, xs, ys))

    checkpoint(0, 0.0)
    done, clock = 0, 0.0
    while done < steps and (max_seconds is None or clock < max_seconds):
        chunk = min(every, steps - done)
        picked = order[done * batch_size : (done + chunk) * batch_size]
        started = time.perf_counter()
        model.fit(x[picked], y[picked], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        clock += time.perf_counter() - started
        done += chunk
        checkpoint(done, clock)
    result.wall_time_s = round(clock, 3)
    return result


def summarise(runs: Mapping[str, list[StepResult]], which: str):
    """The final ``which`` error of each network over its runs (one per seed): a ``pandas.DataFrame`` with
    the mean, the standard deviation, the runs and the mean training time."""
    import pandas as pd

    from .train import over_seeds

    finals = over_seeds({name: [r.final(which) for r in results] for name, results in runs.items()})
    seconds = over_seeds({name: [r.wall_time_s for r in results] for name, results in runs.items()})
    return pd.DataFrame(
        {
            f"{which} error (mean)": finals["mean"].round(4),
            "std": finals["std"].round(4),
            "runs": finals["seeds"],
            "seconds (mean)": seconds["mean"].round(1),
        }
    )


def plot_errors(runs: Mapping[str, list[StepResult]], which: str = "train", against: str = "steps", ax=None):
    """Error curves, one colour per network: the mean over its runs, with the runs' range shaded.

    ``against`` is ``"steps"`` or ``"seconds"`` (then the x value of each checkpoint is the runs' mean
    training time). Runs that stopped after different numbers of checkpoints (a time budget) are drawn up
    to the last checkpoint they all reached. Returns the axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    for name, results in runs.items():
        # runs on a time budget can end after different numbers of checkpoints: draw what they all have
        length = min(len(r.steps) for r in results)
        curves = np.array([r.errors[which][:length] for r in results])
        if against == "steps":
            x = np.array(results[0].steps[:length])
        else:
            x = np.array([r.seconds[:length] for r in results]).mean(axis=0)
        (line,) = ax.plot(x, curves.mean(axis=0), marker="o", markersize=3, label=f"{name} ({len(results)} runs)")
        if len(results) > 1:
            ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("training steps" if against == "steps" else "training time (s)")
    ax.set_ylabel(f"{which} error")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
