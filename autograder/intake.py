"""Intake: can a submission folder be graded at all? Decided *before* nbgrader runs.

:func:`inspect` looks at ``submitted/STUDENT/ASSIGNMENT/`` and settles the cases
nbgrader handles badly, each with a one-line message in plain words that names
the file, for the student and the grader:

``missing``
    the folder does not exist, or holds none of the expected notebooks (a
    misnamed notebook such as ``LeNet5 (1).ipynb`` is named in the message,
    with how to fix it);
``malformed``
    an expected notebook is empty, larger than ``max_mb`` (checked with ``stat``
    before reading it), not valid JSON, JSON but not a notebook, in a notebook
    format other than version 4 (the raw JSON is read first, so nbformat never
    silently converts a version 3 notebook), invalid against the notebook
    schema, or cannot be read at all (permissions, a folder, bytes that are
    not UTF-8).

It never raises: anything unexpected while looking at a notebook is ``malformed``.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path

from .statuses import MALFORMED, MISSING

MAX_NOTEBOOK_MB = 50
MB = 1024 * 1024
MAX_MESSAGE = 200
_MAX_LISTED = 3  # misnamed notebooks named in a message


def inspect(folder: Path, expected: list[str], *, max_mb: float = MAX_NOTEBOOK_MB) -> tuple[str | None, str]:
    """Decide ``missing`` / ``malformed`` for the submission in ``folder`` before grading.

    ``expected`` are the assignment's notebook stems (``["lenet5"]``). Returns
    ``(None, message)`` when the submission can be graded, the message naming the
    expected notebooks that are absent (nbgrader scores those 0) or empty when all
    are there; else ``(MISSING or MALFORMED, message)``.
    """
    folder = Path(folder)
    names = [f"{stem}.ipynb" for stem in expected]
    if folder.is_symlink():  # the grader reads more than students may: a link could point at the solution
        return MALFORMED, _short(f"the submission folder {folder.name} is a symbolic link, not a folder")
    try:
        if not folder.is_dir():
            return MISSING, _short(f"nothing submitted (expected {_join(names)})")
        present = [name for name in names if _exists(folder / name)]
    except OSError as err:
        return MISSING, _short(f"the submission folder cannot be read ({_reason(err)})")
    if not present:
        return MISSING, _missing_message(folder, names)
    for name in present:
        problem = check_notebook(folder / name, max_mb=max_mb)
        if problem:
            return MALFORMED, _short(problem)
    absent = [name for name in names if name not in present]
    return None, (_short(f"missing notebook(s) scored 0: {_join(absent)}") if absent else "")


def check_notebook(path: Path, *, max_mb: float = MAX_NOTEBOOK_MB) -> str:
    """Why the notebook at ``path`` cannot be graded, in one line naming it; "" when it can."""
    name = path.name
    try:
        info = os.stat(path)
    except OSError as err:
        return f"{name} cannot be read ({_reason(err)})"
    if path.is_symlink():  # the grader reads more than students may: a link could point at the solution
        return f"{name} is a symbolic link, not a notebook file: submit the file itself"
    if stat.S_ISDIR(info.st_mode):
        return f"{name} is a folder, not a notebook file"
    if not stat.S_ISREG(info.st_mode):
        return f"{name} is not a regular file"
    if info.st_size > max_mb * MB:
        return (
            f"{name} is {info.st_size / MB:.1f} MB, over the {max_mb:g} MB limit: "
            "clear all outputs (Edit > Clear Outputs of All Cells), save and submit again"
        )
    if info.st_size == 0:
        return f"{name} is empty (0 bytes): save the notebook in Jupyter and submit again"
    try:
        raw = path.read_bytes()
    except OSError as err:
        return f"{name} cannot be read ({_reason(err)})"
    return _check_text(name, raw)


def _check_text(name: str, raw: bytes) -> str:
    """The checks on the file's content: text, JSON, a notebook, version 4, the schema."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"{name} is not a text file (byte {err.start} is not UTF-8): is it really a notebook?"
    if not text.strip():
        return f"{name} is empty (only blank space): save the notebook in Jupyter and submit again"
    if text.startswith("\ufeff"):
        return f"{name} starts with a byte-order mark (an editor other than Jupyter saved it): save it in Jupyter"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return f"{name} is not valid notebook JSON ({err.msg} at line {err.lineno}, column {err.colno}): is it cut off?"
    except (ValueError, RecursionError) as err:
        return f"{name} is not valid notebook JSON ({_reason(err)})"
    return _check_structure(name, data)


def _check_structure(name: str, data: object) -> str:
    """The checks on the parsed JSON: an object with cells, nbformat 4, the nbformat schema."""
    if not isinstance(data, dict) or ("cells" not in data and "nbformat" not in data and "worksheets" not in data):
        return f"{name} is JSON but not a Jupyter notebook (it has no cells)"
    major = data.get("nbformat")
    if "nbformat" not in data:
        return f"{name} does not say its notebook format version (no 'nbformat'): save it in a current Jupyter"
    if type(major) is not int or major != 4:
        return (
            f"{name} is in notebook format version {str(major)[:20]}, the grader needs version 4: "
            "open it in a current Jupyter, save it and submit again"
        )
    if not isinstance(data.get("cells"), list):
        return f"{name} is JSON but not a Jupyter notebook (it has no list of cells)"
    return _validate(name, data)


def _validate(name: str, data: dict) -> str:
    """nbformat's schema check on a version 4 notebook (as parsed JSON, never converted)."""
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(data))
    except nbformat.ValidationError as err:
        return f"{name} does not follow the notebook format ({_schema_error(err)})"
    except Exception as err:
        return f"{name} could not be checked as a notebook ({_reason(err)})"
    return ""


def _schema_error(err: Exception) -> str:
    """A jsonschema error in a few words: what is wrong, and where ("in cell 4")."""
    lines = (getattr(err, "message", None) or str(err)).strip().splitlines()
    detail = lines[0] if lines else "schema error"
    if detail.startswith(("{", "[")) and " is " in detail:  # "{...the whole cell...} is not valid under ..."
        detail = detail.rsplit(" is ", 1)[1]
    path = list(getattr(err, "absolute_path", None) or [])
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        where = f"in cell {path[1] + 1}" + "".join(f"/{part}" for part in path[2:])
    else:
        where = "at " + "/".join(str(part) for part in path) if path else ""
    return f"{detail[:100]} {where}".strip()


def _missing_message(folder: Path, names: list[str]) -> str:
    """None of ``names`` is in ``folder``: say so, naming any other notebook found there."""
    others = _other_notebooks(folder)
    if not others:
        return _short(f"no notebook submitted (expected {_join(names)})")
    shown = ", ".join(repr(other) for other in others[:_MAX_LISTED])
    if len(others) > _MAX_LISTED:
        shown += f" and {len(others) - _MAX_LISTED} more"
    files = "the file" if len(others) == 1 and len(names) == 1 else "the files"
    return _short(f"found {shown} but not {_join(names)}: rename {files} to {_join(names)} and submit again")


def _other_notebooks(folder: Path) -> list[str]:
    """The ``*.ipynb`` files in ``folder`` or below (relative paths; checkpoints left out)."""
    try:
        found = [
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*.ipynb")
            if ".ipynb_checkpoints" not in path.parts and not path.name.startswith(".")
        ]
    except OSError:
        return []
    return sorted(found, key=lambda rel: (rel.count("/"), rel.lower()))


def _exists(path: Path) -> bool:
    """``path`` is there (a file, a folder, even a dangling link: looking at it says what is wrong)."""
    return path.exists() or path.is_symlink()


def _join(names: list[str]) -> str:
    return ", ".join(names)


def _reason(err: BaseException) -> str:
    """An exception as a short phrase: its first line without the path, or its type."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    lines = str(err).strip().splitlines()
    return lines[0][:100] if lines else type(err).__name__


def _short(message: str) -> str:
    """One line of at most :data:`MAX_MESSAGE` characters."""
    line = " ".join(message.split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."
