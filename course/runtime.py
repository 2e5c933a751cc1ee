"""Run modes shared by every notebook.

A notebook runs in one of three modes:

* **full** (the default): the parameters cell's values give the real result;
* **smoke**: a tiny run that only proves the notebook works. CI and
  ``course handouts --smoke`` ask for it, either through papermill
  (``SMOKE=True``) or through the environment (``COURSE_SMOKE=1``, which is how
  nbval runs the lectures);
* **autograde**: nbgrader sets ``NBGRADER_EXECUTION=autograde`` while grading,
  and the assignment shrinks its training budget so a submission grades fast.
"""

from __future__ import annotations

import os

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


def announce(smoke_flag: bool = False) -> str:
    """Print (and return) one line saying which mode this run is in."""
    name = mode(smoke_flag)
    text = {
        "full": "Run mode: full. The numbers below are the real result.",
        "smoke": "Run mode: smoke (a tiny run for CI). The numbers below only show that the code runs; "
        "rerun with SMOKE = False for the real result.",
        "autograde": "Run mode: autograde (nbgrader). Training uses the small grading budget.",
    }[name]
    print(text)
    return name
