"""One notion of a notebook cell for the whole grader.

Every stage that looks at cells asks here:

* **what a cell is** (built on ``nbgrader.utils``): :func:`is_test_cell` (an
  autograded test: a graded code cell that is not an answer),
  :func:`is_answer_cell`, :func:`is_student_cell` (a code cell the student may
  edit), :func:`is_assignment_code` (the assignment's own locked code, e.g. the
  setup cell) and :func:`grade_id`;
* **which lines are in a region** (``BEGIN SOLUTION`` ... ``END SOLUTION``,
  hidden tests, mark schemes): :func:`lines`, one scan for all of them;
* **what a cell's code is**: :func:`parse_cell` parses Python with IPython's
  syntax (magics, ``!`` shell lines) stood in for, and :func:`import_bindings`
  says what each imported name stands for.

Nothing here runs a cell.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nbformat.notebooknode import NotebookNode
from nbgrader.utils import is_grade, is_locked, is_solution

SOLUTION, HIDDEN_TESTS, MARK_SCHEME = "solution", "hidden test", "mark scheme"
#: nbgrader's region delimiters (its defaults, which nbgrader_config.py keeps), by region kind.
REGIONS: dict[str, tuple[str, str]] = {
    SOLUTION: ("BEGIN SOLUTION", "END SOLUTION"),
    HIDDEN_TESTS: ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    MARK_SCHEME: ("BEGIN MARK SCHEME", "END MARK SCHEME"),
}
MARKERS = tuple(marker for pair in REGIONS.values() for marker in pair)

# -- what a cell is ------------------------------------------------------------------------------------


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader grade id, or None."""
    return (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test: a graded code cell that is not an answer (nbgrader's "autograder tests" cell)."""
    return cell.get("cell_type") == "code" and bool(is_grade(cell)) and not is_solution(cell)


def is_answer_cell(cell: NotebookNode) -> bool:
    """A cell the student answers in (nbgrader's solution cells, code or markdown)."""
    return bool(is_solution(cell))


def is_student_cell(cell: NotebookNode) -> bool:
    """A code cell the student may edit: every code cell that nbgrader does not lock (answers, own cells)."""
    return cell.get("cell_type") == "code" and not is_locked(cell)


def is_assignment_code(cell: NotebookNode) -> bool:
    """The assignment's own code: a locked code cell that is not a test (setup, helpers, plots)."""
    return cell.get("cell_type") == "code" and bool(is_locked(cell)) and not is_grade(cell)


# -- regions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a cell's source, and the regions it lies in.

    ``regions``: the kinds of the regions around it, outermost first (empty:
    outside every region); ``marker``: the kind whose begin or end delimiter is
    on this line, or None. A delimiter line is not inside its own region.
    """

    number: int  # 1-based
    text: str
    regions: tuple[str, ...] = ()
    marker: str | None = None

    def inside(self, kind: str) -> bool:
        """Inside a region of ``kind`` (delimiter lines are not)."""
        return kind in self.regions and self.marker is None

    @property
    def outside(self) -> bool:
        """In no region, and not a delimiter."""
        return not self.regions and self.marker is None


def lines(source: str, regions: Mapping[str, tuple[str, str]] = REGIONS) -> list[Line]:
    """Every line of ``source`` with the regions it lies in (see :class:`Line`).

    A delimiter is found anywhere in its line (``### BEGIN SOLUTION``, ``# BEGIN
    HIDDEN TESTS``), as nbgrader finds it. An end delimiter closes the innermost
    open region of its kind; one with nothing open is a marker line, and an
    unclosed region runs to the end of the cell.
    """
    out: list[Line] = []
    stack: list[str] = []
    for number, text in enumerate(source.split("\n"), start=1):
        begin = next((kind for kind, (b, _) in regions.items() if b in text), None)
        end = next((kind for kind, (_, e) in regions.items() if e in text), None)
        if begin is not None:
            out.append(Line(number, text, tuple(stack), begin))
            stack.append(begin)
        elif end is not None:
            if end in stack:
                del stack[len(stack) - 1 - stack[::-1].index(end)]
            out.append(Line(number, text, tuple(stack), end))
        else:
            out.append(Line(number, text, tuple(stack)))
    return out


def region_numbers(source: str, kind: str, regions: Mapping[str, tuple[str, str]] = REGIONS) -> set[int]:
    """1-based numbers of the lines inside a region of ``kind`` or on one of its delimiters."""
    return {line.number for line in lines(source, regions) if kind in line.regions or line.marker == kind}


def without_regions(source: str, drop: Iterable[str], markers: Iterable[str] = ()) -> str:
    """``source`` without the regions of the kinds ``drop`` (delimiters included) and without the delimiter
    lines of the kinds ``markers`` (their content kept)."""
    drop, markers = set(drop), set(markers)
    kept = [
        line.text
        for line in lines(source)
        if not drop & set(line.regions) and line.marker not in drop and line.marker not in markers
    ]
    return "\n".join(kept)


# -- code ----------------------------------------------------------------------------------------------

#: Cell magics whose body is Python (the rest run another language or a shell).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.,\s()]+=\s*([!%])")


@dataclass(frozen=True)
class IPythonLine:
    """A line of IPython syntax: a cell magic (``%%bash``), a line magic (``%timeit f(x)``, also after
    ``x = ``) or a shell line (``!ls``); ``text`` is the magic or command, stripped."""

    number: int  # 1-based
    text: str
    cell_magic: bool = False

    @property
    def shell(self) -> bool:
        return self.text.startswith(("!", "%%!"))

    @property
    def name(self) -> str:
        """The magic's name (``"timeit"``, ``"bash"``), ``"!"`` for a shell line."""
        if self.shell:
            return "!"
        return re.split(r"[\s(]", self.text.lstrip("%"), maxsplit=1)[0]


@dataclass
class ParsedCell:
    """A code cell's source, parsed (see :func:`parse_cell`)."""

    tree: ast.Module | None  # None: not Python (a shell cell magic) or a syntax error
    ipython: list[IPythonLine] = field(default_factory=list)
    error: SyntaxError | None = None  # the error of the cell as written, when it does not parse


def _ipython_syntax(code: str) -> tuple[str | None, list[IPythonLine]]:
    """``code`` with each line of IPython syntax replaced by ``pass`` (same line numbers, same indent), and
    those lines; the source is None when a cell magic makes the whole cell something other than Python."""
    source = code.split("\n")
    found: list[IPythonLine] = []
    first = next((i for i, line in enumerate(source) if line.strip()), None)
    if first is not None and source[first].strip().startswith("%%"):
        magic = IPythonLine(first + 1, source[first].strip(), cell_magic=True)
        found.append(magic)
        if magic.shell or magic.name not in PYTHON_CELL_MAGICS:
            return None, found
        source[first] = "pass"
    else:
        first = None
    for index, line in enumerate(source):
        if index == first:
            continue
        stripped, indent = line.strip(), line[: len(line) - len(line.lstrip())]
        assigned = _ASSIGNED_MAGIC.match(line)
        if stripped.startswith(("%", "!")):
            found.append(IPythonLine(index + 1, stripped))
        elif assigned:
            found.append(IPythonLine(index + 1, line[assigned.start(1) :].strip()))
        else:
            continue
        source[index] = indent + "pass"
    return "\n".join(source), found


def parse_cell(code: str) -> ParsedCell:
    """Parse a code cell as IPython would run it: plain Python first, else with its IPython lines stood in for."""
    try:
        return ParsedCell(ast.parse(code))
    except SyntaxError as plain_error:
        source, found = _ipython_syntax(code)
        if source is None:
            return ParsedCell(None, found)
        try:
            return ParsedCell(ast.parse(source), found)
        except SyntaxError:
            return ParsedCell(None, found, plain_error)


def parse(code: str) -> ast.Module | None:
    """The cell's syntax tree (see :func:`parse_cell`), or None when it is not Python."""
    return parse_cell(code).tree


def import_bindings(tree: ast.AST, top_level_only: bool = False) -> dict[str, tuple[str, str | None]]:
    """Names bound by the imports in ``tree``: ``{name: (module, attribute or None)}``.

    ``import numpy as np`` -> ``np: ("numpy", None)``; ``import os.path`` ->
    ``os: ("os", None)``; ``from course import data`` -> ``data: ("course",
    "data")``. Relative and star imports bind nothing here. ``top_level_only``
    looks at the module's own statements, not those inside functions or blocks.
    """
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else ast.walk(tree)
    found: dict[str, tuple[str, str | None]] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                found[alias.asname or top] = (alias.name if alias.asname else top, None)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = (node.module, alias.name)
    return found


def dotted(binding: tuple[str, str | None]) -> str:
    """``("os", "_exit")`` -> ``"os._exit"``; ``("numpy", None)`` -> ``"numpy"``."""
    module, attribute = binding
    return module if attribute is None else f"{module}.{attribute}"
