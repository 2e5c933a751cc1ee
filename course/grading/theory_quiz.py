"""The checks of the ``theory_quiz`` assignment (questions 1-5 of the course, autograded).

The quiz's numeric questions take their numbers from a generator seeded by the
student's id, so two students get different numbers and different answers;
:func:`questions` makes them. The notebook prints each student's numbers, and
the answers are plain Python values (numbers, or a letter for a multiple-choice
question). The expected answers are *not* here: the hidden tests of the source
notebook compute them from the same numbers, so the student's edition of this
module holds no answer.

Which id the numbers come from (:func:`student_id`):

* while nbgrader autogrades: the id the submission is graded as, from the
  grader (``COURSE_STUDENT_ID``, set by ``course grade``), or else from the
  folder nbgrader runs the notebook in (``autograded/STUDENT/theory_quiz``).
  What the notebook's ``STUDENT_ID`` says is then ignored;
* otherwise: the notebook's ``STUDENT_ID`` if it is set, then
  ``COURSE_STUDENT_ID``, then ``JUPYTERHUB_USER`` (a course JupyterHub logs
  students in under their nbgrader id), then ``"practice"``.

So a student who works outside the course's hub sets ``STUDENT_ID`` to the id
they submit under; answers written as expressions of the printed numbers (for
example ``p.h * p.w`` rather than ``784``) stay right whichever id is used.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from course import runtime

from .core import fail, require

__all__ = [
    "CHOICES",
    "VGG_CONV_PARAMETERS",
    "check_choice",
    "check_close",
    "check_equal",
    "check_number",
    "explain",
    "questions",
    "require",
    "student_id",
    "vgg_parameters",
]

PRACTICE_ID = "practice"
ASSIGNMENT = "theory_quiz"
#: The letters a multiple-choice answer may be.
CHOICES = "abcd"
#: Parameters of the VGG configurations' convolutions (Simonyan & Zisserman 2015, Table 2 gives the whole
#: networks' counts in millions; these exact counts are those of ``course.models.vgg``, equal to
#: ``keras.applications`` for 16 and 19).
VGG_CONV_PARAMETERS = {11: 9_220_480, 13: 9_404_992, 16: 14_714_688, 19: 20_024_384}


def vgg_parameters(depth: int, classes: int = 1000) -> int:
    """All of VGG-``depth``'s parameters at 224x224 with ``classes`` classes (138,357,544 for VGG-16)."""
    return VGG_CONV_PARAMETERS[depth] + (7 * 7 * 512 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * classes


#: Relative tolerance of answers that are not whole numbers: "four significant figures".
RELATIVE_TOLERANCE = 1e-3


def student_id(given: str | None = None) -> str:
    """The id whose numbers the quiz shows (see the module's docstring for the order)."""
    if runtime.is_autograding():
        graded_as = os.environ.get("COURSE_STUDENT_ID", "").strip()
        if graded_as:
            return graded_as
        here = Path.cwd()
        if here.name == ASSIGNMENT and here.parent.name:
            return here.parent.name
    for value in (given, os.environ.get("COURSE_STUDENT_ID"), os.environ.get("JUPYTERHUB_USER")):
        if value and str(value).strip():
            return str(value).strip()
    return PRACTICE_ID


class Numbers(SimpleNamespace):
    """One question's numbers, as attributes (``p.n``, ``p.k``); ``str()`` prints them as ``name = value`` pairs."""

    def __repr__(self) -> str:
        return ", ".join(
            f"{key} = {value:,}" if isinstance(value, int) else f"{key} = {value}" for key, value in vars(self).items()
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Questions:
    """Every numeric question's numbers for one student (attributes ``q01`` ...)."""

    student: str
    q01: Numbers  # conv output size
    q02: Numbers  # conv parameters
    q03: Numbers  # dense parameters on the same image
    q04: Numbers  # conv multiply-adds
    q06: Numbers  # overlapping max-pool output size
    q07: Numbers  # LeNet-5's S4 size for another input size
    q09: Numbers  # receptive field of a 3x3 stack
    q10: Numbers  # parameters: 3x3 stack against one big kernel
    q11: Numbers  # VGG fc1 parameters at another input size
    q12: Numbers  # share of VGG's parameters in the FC layers
    q15: Numbers  # global average pooling head
    q16: Numbers  # trainable parameters of a head on a frozen VGG16 base
    q17: Numbers  # the speed-up of caching a frozen backbone's outputs
    q20: Numbers  # gradient through plain layers
    q21: Numbers  # gradient through residual blocks

    def __str__(self) -> str:
        lines = [f"numbers for student id {self.student!r}:"]
        lines += [f"  {f.name}: {getattr(self, f.name)}" for f in fields(self) if f.name != "student"]
        return "\n".join(lines)


def _rng(student: str) -> random.Random:
    digest = hashlib.sha256(f"{ASSIGNMENT}:{student}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _n(**values) -> Numbers:
    return Numbers(**values)


def questions(given: str | None = None) -> Questions:
    """The numeric questions' numbers for :func:`student_id` ``(given)``, the same on every call and machine."""
    student = student_id(given)
    r = _rng(student)
    k1 = r.choice([3, 5, 7, 9])
    q01 = _n(n=r.randrange(29, 97), k=k1, p=r.randrange(0, k1 // 2 + 1), s=r.choice([1, 2, 3]))
    q02 = _n(k=r.choice([1, 3, 5, 7]), c_in=r.choice([3, 16, 24, 32, 48, 64, 96]), c_out=r.randrange(8, 257, 8))
    side = r.choice([28, 32, 48, 64, 96])
    q03 = _n(h=side, w=side, c=r.choice([1, 3]), units=r.choice([64, 100, 128, 256, 300, 512]))
    q04 = _n(
        h=r.choice([14, 28, 32, 56]), k=r.choice([3, 5]), c_in=r.choice([16, 32, 64]), c_out=r.choice([32, 64, 128])
    )
    q06 = _n(n=r.randrange(27, 112, 2), pool=3, s=2)
    q07 = _n(n=r.randrange(32, 97, 4))
    q09 = _n(layers=r.randrange(2, 13))
    q10 = _n(layers=r.randrange(2, 9), c=r.choice([64, 128, 256, 512]))
    q11 = _n(size=32 * r.randrange(6, 13))
    depth, classes = r.choice(sorted(VGG_CONV_PARAMETERS)), r.choice([2, 5, 10, 20, 37, 100, 102, 200, 1000])
    q12 = _n(depth=depth, classes=classes, total=vgg_parameters(depth, classes))
    q15 = _n(channels=r.choice([256, 512, 1024, 2048]), classes=r.choice([5, 10, 37, 100, 200, 1000]))
    q16 = _n(units=r.choice([32, 64, 128, 256, 512]), classes=r.randrange(2, 21))
    q17 = _n(
        backbone_gmacs=r.choice([5.0, 7.7, 15.5]),
        head_gmacs=r.choice([0.001, 0.002, 0.005, 0.01, 0.02]),
        epochs=r.choice([5, 10, 20, 30, 50]),
    )
    q20 = _n(a=round(r.uniform(0.5, 0.95), 2), layers=r.randrange(10, 61))
    q21 = _n(c=round(r.uniform(-0.05, 0.05), 3), blocks=r.randrange(10, 61))
    return Questions(student, q01, q02, q03, q04, q06, q07, q09, q10, q11, q12, q15, q16, q17, q20, q21)


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def explain(text: str) -> None:
    """Print a question's explanation (the hidden tests call it, so it shows in the feedback only)."""
    print("Why:", text)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def check_number(namespace: Mapping[str, Any], name: str, whole: bool = False) -> None:
    """``name`` is answered with a finite number (a whole number where ``whole``)."""
    __tracebackhide__ = True
    value = require(namespace, name)
    if value is None or value is NotImplemented:
        fail(f"`{name}` has no answer yet: write `{name} = ...` in its answer cell.")
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy scalar
    if not _is_number(value):
        fail(f"`{name}` should be a number, but it is a {type(value).__name__} ({value!r:.60}).")
    if whole and float(value) != int(value):
        fail(f"`{name}` counts something, so it is a whole number; it is {value}.")


def check_choice(namespace: Mapping[str, Any], name: str, choices: str = CHOICES) -> None:
    """``name`` is answered with one of the letters ``choices`` (any case, spaces ignored)."""
    __tracebackhide__ = True
    value = require(namespace, name)
    if not isinstance(value, str) or value.strip().lower() not in choices:
        listed = ", ".join(f'"{c}"' for c in choices)
        fail(f"`{name}` should be one letter, one of {listed}; it is {value!r:.60}.")


def check_equal(value, expected, name: str) -> None:
    """A whole-number or letter answer: exactly ``expected``."""
    __tracebackhide__ = True
    if isinstance(expected, str):
        if not (isinstance(value, str) and value.strip().lower() == expected):
            fail(f"`{name}` is not the right choice.")
    elif not (_is_number(value) and float(value) == expected):
        fail(f"`{name}` is not right: recompute it from your numbers (see the question).")


def check_close(value, expected: float, name: str, rel: float = RELATIVE_TOLERANCE) -> None:
    """A fractional answer: within ``rel`` of ``expected`` (four significant figures)."""
    __tracebackhide__ = True
    if not (_is_number(value) and math.isclose(float(value), expected, rel_tol=rel)):
        fail(f"`{name}` is not right to four significant figures: recompute it from your numbers.")
