"""Run modes shared by every notebook.

A notebook runs in one of three modes:

* **full** (the default): the parameters cell's values give the real result;
* **smoke**: a tiny run that only proves the notebook works. CI and
  ``course handouts --smoke`` ask for it, either through papermill
  (``SMOKE=True``) or through the environment (``COURSE_SMOKE=1``, which is how
  nbval runs the lectures);
* **autograde**: nbgrader sets ``NBGRADER_EXECUTION=autograde`` while grading,
  and the assignment shrinks its training budget so a submission grades fast.

Every notebook picks its settings the same way, with :func:`settings`, right
after its ``parameters`` cell (lecture 01 shows it first)::

    RUN = runtime.settings(SMOKE, full=dict(epochs=EPOCHS, train_samples=TRAIN_SAMPLES),
                           smoke=dict(epochs=1, train_samples=1000))
    EPOCHS, TRAIN_SAMPLES = RUN.epochs, RUN.train_samples
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_TRUE = {"1", "true", "yes", "on"}


def env_flag(name: str) -> bool:
    """True when environment variable ``name`` is set to 1, true, yes or on."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def is_autograding() -> bool:
    """True while nbgrader autogrades this notebook."""
    return os.environ.get("NBGRADER_EXECUTION", "") == "autograde"


def is_smoke(flag: bool = False) -> bool:
    """True when a smoke run was asked for, by parameter or by ``COURSE_SMOKE=1``."""
    return bool(flag) or env_flag("COURSE_SMOKE")


def mode(smoke_flag: bool = False) -> str:
    """The current mode's name: ``"autograde"``, ``"smoke"`` or ``"full"``."""
    if is_autograding():
        return "autograde"
    if is_smoke(smoke_flag):
        return "smoke"
    return "full"


_ANNOUNCEMENTS = {
    "full": "Run mode: full. The numbers below are the real result.",
    "smoke": "Run mode: smoke (a tiny run for CI). The numbers below only show that the code runs; "
    "rerun with SMOKE = False for the real result.",
    "autograde": "Run mode: autograde (nbgrader). Training uses the small grading budget.",
}


def announce(smoke_flag: bool = False) -> None:
    """Print one line saying which mode this run is in."""
    print(_ANNOUNCEMENTS[mode(smoke_flag)])


def has_gpu() -> bool:
    """Whether the Keras backend sees a GPU (imports Keras; see ``course.train.describe_device``)."""
    from .train import _gpu_names

    return bool(_gpu_names())


def _quiet_tensorflow() -> None:
    """Keep TensorFlow's Python warnings that a notebook's normal use triggers off the page: building and
    running several models in a row makes it warn that a function "triggered tf.function retracing",
    which is expected (each model has its own). Errors still show. Nothing is imported."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Settings:
    """The values a notebook runs with in the current mode: ``run.epochs``, ``run["epochs"]``.

    ``replaced`` names the values the mode took from its own settings instead
    of the parameters cell.
    """

    mode: str
    values: Mapping[str, Any]
    replaced: tuple[str, ...] = field(default=())

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}; the settings are {', '.join(self.values)}") from None

    def __getitem__(self, name: str):
        return self.values[name]

    def __str__(self) -> str:
        shown = ", ".join(f"{key} = {value!r}" for key, value in self.values.items())
        note = f" ({', '.join(self.replaced)} set by the {self.mode} mode)" if self.replaced else ""
        return f"Settings: {shown}{note}"


def settings(
    smoke_flag: bool = False,
    *,
    full: Mapping[str, Any],
    smoke: Mapping[str, Any] | None = None,
    autograde: Mapping[str, Any] | None = None,
    gpu: Mapping[str, Any] | None = None,
    quiet: bool = False,
) -> Settings:
    """The notebook's settings for the current :func:`mode`; prints the mode and the values.

    ``full`` holds the parameters cell's values. In smoke mode the values in
    ``smoke`` replace theirs; in autograde mode those in ``autograde`` do (or,
    when it is None, those in ``smoke``: a lecture has no grading budget of
    its own). In full mode on a machine with a GPU, the values in ``gpu`` replace
    them: the paper-sized settings a CPU cannot afford. A key that is not in
    ``full`` is an error, so a typo cannot leave a full-size value in a smoke run.
    """
    _quiet_tensorflow()
    name = mode(smoke_flag)
    override = {"full": None, "smoke": smoke, "autograde": autograde if autograde is not None else smoke}[name] or {}
    if name == "full" and gpu and has_gpu():
        name, override = "full (GPU)", gpu
    unknown = sorted(set(override) - set(full))
    if unknown:
        raise KeyError(f"settings for {name} mode name values the full mode lacks: {', '.join(unknown)}")
    values = {**full, **override}
    result = Settings(name, values, tuple(key for key in override if override[key] != full[key]))
    if not quiet:
        announce(smoke_flag)
        if name == "full (GPU)":
            print("A GPU is present: the settings below are the paper-sized ones.")
        print(result)
    return result
