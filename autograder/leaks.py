"""Checks that a released (student) notebook gives nothing away.

A release leaks when it still holds an nbgrader marker (``BEGIN SOLUTION``,
``BEGIN HIDDEN TESTS``, ``BEGIN MARK SCHEME``, ...) or any *distinctive* line
of a solution, hidden-test or mark-scheme region of the source. A region line
is distinctive when it has at least :data:`MIN_CHARS` non-blank characters and
does not also appear outside every such region in the source (a line like
``model = lenet5()`` may legitimately appear in a visible cell too). Lines are
compared after stripping surrounding whitespace, one whole line at a time.

``course release`` runs these checks after generating, and the tests run them
for every assignment.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from . import cells

MARKERS = cells.MARKERS
REGIONS = cells.REGIONS
MIN_CHARS = 6


def _cell_sources(path: Path) -> list[str]:
    nb = nbformat.read(str(path), as_version=4)
    return [cell.source for cell in nb.cells]


def region_lines(sources: list[str], kind: str) -> list[str]:
    """Stripped lines inside regions of ``kind`` (delimiter lines left out), in order."""
    return [line.text.strip() for source in sources for line in cells.lines(source) if line.inside(kind)]


def _outside_lines(sources: list[str]) -> set[str]:
    """Stripped lines that are in no region (and are not delimiters)."""
    return {line.text.strip() for source in sources for line in cells.lines(source) if line.outside}


def secret_lines(source_notebook: Path) -> dict[str, list[str]]:
    """The distinctive lines of each region kind in a source notebook."""
    sources = _cell_sources(source_notebook)
    outside = _outside_lines(sources)
    secrets: dict[str, list[str]] = {}
    for kind in REGIONS:
        lines = region_lines(sources, kind)
        secrets[kind] = sorted(
            {line for line in lines if len(line.replace(" ", "")) >= MIN_CHARS and line not in outside}
        )
    return secrets


def find_leaks(source_notebook: Path, released_notebook: Path) -> list[str]:
    """Human-readable descriptions of everything ``released_notebook`` gives away."""
    problems: list[str] = []
    text = released_notebook.read_text(encoding="utf-8")
    for marker in MARKERS:
        if marker in text:
            problems.append(f"{released_notebook.name}: still holds the marker '{marker}'")
    released = {line.strip() for source in _cell_sources(released_notebook) for line in source.split("\n")}
    for kind, lines in secret_lines(source_notebook).items():
        for line in lines:
            if line in released:
                problems.append(f"{released_notebook.name}: {kind} line shown to students: {line!r}")
    return problems


def check_release(root: Path, assignment: str) -> list[str]:
    """Leaks in ``release/ASSIGNMENT`` compared with ``source/ASSIGNMENT`` (all notebooks)."""
    problems: list[str] = []
    for source_nb in sorted((root / "source" / assignment).glob("*.ipynb")):
        released = root / "release" / assignment / source_nb.name
        if not released.exists():
            problems.append(f"release/{assignment}/{source_nb.name} is missing")
            continue
        problems += find_leaks(source_nb, released)
    return problems
