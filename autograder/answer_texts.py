"""What counts as an answer: the texts a student's copy of the course must never contain.

:func:`answer_texts` collects them from the instructor's repository: every solution region and written
answer of ``source/``, every mark-scheme region, every hidden test line that the release does not show
anyway, and the body of every function in the grader's answer key (:mod:`autograder.answer_key`).
:func:`leaks` finds them in a folder (the student edition, :func:`autograder.student_edition.verify`).
Texts are compared line by line with each line stripped and blank lines dropped, so re-indenting a
solution does not hide it; a solution block matches only as a whole, so a single common line (``return
model``) is not mistaken for an answer.
"""

from __future__ import annotations

import ast
import html
import importlib
import json
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import cells as notebook_cells
from .cells import HIDDEN_TESTS, MARK_SCHEME, SOLUTION

#: Hidden test lines shorter than this (``### END``-like leftovers, ``x = 1``) are not worth matching.
MIN_LINE = 20
_TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".cfg", ".json", ".ipynb", ".html", ".htm", ".yml", ".yaml", ""}


@dataclass(frozen=True)
class Answer:
    where: str  # "source/lenet5/lenet5.ipynb, cell build_lenet5 (solution)"
    text: str  # normalised (see :func:`normalise`)


def normalise(text: str) -> str:
    """Each line stripped, blank lines dropped."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _region(source: str, kind: str) -> str:
    return "\n".join(line.text for line in notebook_cells.lines(source) if line.inside(kind))


def _release_text(root: Path, assignment: str, name: str) -> str:
    path = root / "release" / assignment / name
    return (
        normalise("\n".join(cell.source for cell in nbformat.read(str(path), as_version=4).cells))
        if path.is_file()
        else ""
    )


def notebook_answers(root: Path) -> list[Answer]:
    """Solutions, written answers, mark schemes and hidden test lines of every ``source/*/*.ipynb``."""
    out: list[Answer] = []
    for path in sorted((root / "source").glob("*/*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        shown = _release_text(root, path.parent.name, path.name)  # a hidden line the release shows is no secret
        rel = path.relative_to(root)
        for cell in nb.cells:
            where = f"{rel}, cell {notebook_cells.grade_id(cell) or '?'}"
            has_solution = notebook_cells.is_answer_cell(cell)
            for kind in (SOLUTION, MARK_SCHEME):
                text = normalise(_region(cell.source, kind))
                if not text and kind == SOLUTION and has_solution and cell.cell_type == "markdown":
                    text = normalise(cell.source)  # a written answer: the whole cell is the model answer
                if text:
                    out.append(Answer(f"{where} ({kind})", text))
            for line in normalise(_region(cell.source, HIDDEN_TESTS)).splitlines():
                if len(line) >= MIN_LINE and line not in shown and not line.startswith("#"):
                    out.append(Answer(f"{where} ({HIDDEN_TESTS})", line))
    return out


def answer_key_bodies() -> list[Answer]:
    """The body (docstring left out) of every function in :mod:`autograder.answer_key`'s modules."""
    from . import answer_key

    out: list[Answer] = []
    for info in pkgutil.iter_modules(answer_key.__path__, answer_key.__name__ + "."):
        module = importlib.import_module(info.name)
        source = Path(module.__file__).read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                lines = source.splitlines()[body[0].lineno - 1 : node.end_lineno]
                out.append(Answer(f"{info.name}.{node.name}", normalise("\n".join(lines))))
    return out


def answer_texts(root: Path) -> list[Answer]:
    """Everything :func:`leaks` looks for (see the module docs)."""
    return notebook_answers(root) + answer_key_bodies()


def readable_text(path: Path) -> str | None:
    """A file's text as a reader meets it, normalised: a notebook's cell sources and outputs, an HTML page
    without its tags; None for a file that is not text."""
    if path.suffix not in _TEXT_SUFFIXES:
        return None
    raw = path.read_bytes().decode("utf-8", errors="ignore")
    if path.suffix == ".ipynb":
        try:
            raw = _notebook_text(json.loads(raw))
        except (ValueError, TypeError, AttributeError):
            pass  # not a notebook after all: searched as it is
    elif path.suffix in (".html", ".htm"):
        raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
    return normalise(raw)


def _notebook_text(nb: dict) -> str:
    parts = []
    for cell in nb.get("cells", []):
        parts.append("".join(cell.get("source", "")))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for value in output.get("data", {}).values():
                if isinstance(value, (str, list)):
                    parts.append("".join(value))
    return "\n".join(parts)


def leaks(folder: Path, answers: list[Answer]) -> list[str]:
    """``"FILE: ANSWER'S PLACE"`` for every answer found in a file under ``folder``."""
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = readable_text(path)
        if not text:
            continue
        for answer in answers:
            if answer.text in text:
                problems.append(f"{path.relative_to(folder)}: holds the text of {answer.where}")
    return problems
