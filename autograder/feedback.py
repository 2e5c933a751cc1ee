"""Feedback without hidden tests.

nbgrader 0.9.6's ``generate_feedback`` renders the *autograded* notebook, and
autograding restores every test cell from the gradebook, hidden region
included. So, left alone, the feedback HTML shows students the hidden tests,
both as cell source and inside tracebacks (IPython quotes the lines around the
failing one, and an assertion's message is often the expected answer).

:class:`HideHiddenTests` runs in the feedback step (registered in
``nbgrader_config.py`` via ``c.GenerateFeedback.preprocessors``). In each code
cell holding a hidden-test region it:

* replaces the region with one comment line saying hidden tests ran there;
* replaces every error output with a plain message: the error's type, plus its
  message and failing line only when the failing line is a visible one. A
  failure inside the hidden region (or one whose line cannot be told) says only
  that a hidden test failed.

A student's own cells can also show hidden tests: code that captured the test
cells' source while grading ran (an input transformer, IPython's input history,
reading the source notebook) can print it. :class:`ScrubHiddenText` runs in the
same step, BEFORE :class:`HideHiddenTests` (it needs the hidden regions, which
HideHiddenTests removes), and removes every output, in any code cell, whose text
quotes a line of a hidden-test region, and every such line from the source of
cells that are not test cells.
"""

from __future__ import annotations

import html
import json
import re

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Int, Unicode

from . import cells

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython >= 8 names the executing cell "Cell In[12], line 7"; older ones
# print "<ipython-input-12-...> in <module>" then "----> 7 source".
_CELL_LINE = re.compile(r"Cell In\s*\[(\d*)\],\s*line (\d+)")
_OLD_ARROW = re.compile(r"^-+>\s*(\d+)", re.MULTILINE)
_SPACES = re.compile(r"\s+")


def hidden_line_numbers(source: str, begin: str, end: str) -> tuple[set[int], bool]:
    """1-based numbers of the lines of ``source`` inside (or on) a hidden-test
    delimiter, and whether there is any hidden region at all."""
    hidden = cells.region_numbers(source, cells.HIDDEN_TESTS, {cells.HIDDEN_TESTS: (begin, end)})
    return hidden, bool(hidden)


def failing_lines(traceback: list[str]) -> list[int]:
    """The lines of the executing cell that the traceback passes through (its first
    frame is the executing cell; later frames in the same cell count too, e.g. a
    helper function defined in that cell). Empty when the traceback does not say."""
    text = _ANSI.sub("", "\n".join(traceback))
    frames = _CELL_LINE.findall(text)
    if frames:
        executing = frames[0][0]
        return [int(line) for cell, line in frames if cell == executing]
    match = _OLD_ARROW.search(text)
    return [int(match.group(1))] if match else []


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test source, and tracebacks that could quote it, from feedback."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS", help="Marks the start of a hidden test region").tag(
        config=True
    )
    end_test_delimeter = Unicode("END HIDDEN TESTS", help="Marks the end of a hidden test region").tag(config=True)
    placeholder = Unicode(
        "# (hidden tests ran here; they are not shown in feedback)",
        help="The line that stands in for a removed hidden-test region",
    ).tag(config=True)
    hidden_failure_message = Unicode(
        "{ename} in a hidden test: your code did not pass a hidden test in this cell. "
        "Hidden tests are not shown; check your answer against every requirement of the task.",
        help="The text that replaces the traceback of a failing hidden test",
    ).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        # any code cell that holds a hidden region, test cell or not: the region is what must not show
        if cell.cell_type != "code":
            return cell, resources
        lines = cell.source.split("\n")
        hidden, has_hidden = hidden_line_numbers(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        if not has_hidden:
            return cell, resources

        visible: list[str] = []
        for number, line in enumerate(lines, start=1):
            if number not in hidden:
                visible.append(line)
            elif not visible or visible[-1] != self.placeholder:
                indent = line[: len(line) - len(line.lstrip())]
                visible.append(indent + self.placeholder)
        cell.source = "\n".join(visible)

        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                self._plain_error(output, lines, hidden)
        return cell, resources

    def _plain_error(self, output: NotebookNode, lines: list[str], hidden: set[int]) -> None:
        ename = output.get("ename", "Error")
        if _from_grader(output):  # why the test did not run or did not count: keep the plain words
            return
        numbers = failing_lines(output.get("traceback", []))
        if not numbers or any(n in hidden or not 1 <= n <= len(lines) for n in numbers):
            message = self.hidden_failure_message.format(ename=ename)
            output.evalue = ""
        else:
            evalue = output.get("evalue", "")
            message = f"{ename}: {evalue}" if evalue else ename
            message += f"\n(raised by the visible line: {lines[numbers[0] - 1].strip()})"
        output.traceback = [message]


def _from_grader(output: NotebookNode) -> bool:
    """An error output the grading step wrote itself (autograder.execute), not one the test raised."""
    from .execute import GRADER_ERRORS

    ename, evalue = output.get("ename", ""), output.get("evalue", "")
    return ename in GRADER_ERRORS and list(output.get("traceback", [])) == [f"{ename}: {evalue}"]


def _squash(text: str) -> str:
    """``text`` without ANSI colour codes, with each run of whitespace made one space."""
    return _SPACES.sub(" ", _ANSI.sub("", text)).strip()


def hidden_test_lines(notebook_cells: list[NotebookNode], begin: str, end: str, min_chars: int = 12) -> set[str]:
    """The lines (whitespace squashed) inside the hidden-test regions of the test cells among ``notebook_cells``
    that have at least ``min_chars`` characters and appear outside every hidden region of those test cells."""
    regions = {cells.HIDDEN_TESTS: (begin, end)}
    inside_lines: set[str] = set()
    outside_lines: set[str] = set()
    for cell in notebook_cells:
        if not cells.is_test_cell(cell):
            continue
        for line in cells.lines(cell.source, regions):
            if line.inside(cells.HIDDEN_TESTS):
                inside_lines.add(_squash(line.text))
            elif line.outside:
                outside_lines.add(_squash(line.text))
    return {line for line in inside_lines - outside_lines if len(line) >= min_chars}


def output_text(output: NotebookNode, error_details: bool = True) -> str:
    """Everything a reader of ``output`` could see, as one string: stream text, every data value (text as is,
    JSON-like values dumped, HTML also unescaped) and, when ``error_details``, an error's traceback."""
    kind = output.get("output_type")
    parts: list[str] = []
    if kind == "stream":
        parts.append(str(output.get("text", "")))
    elif kind == "error":
        parts += [str(output.get("ename", "")), str(output.get("evalue", ""))]
        if error_details:
            parts += [str(line) for line in output.get("traceback", [])]
    for value in (output.get("data") or {}).values():
        text = value if isinstance(value, str) else "\n".join(value) if isinstance(value, list) else json.dumps(value)
        parts += [text, html.unescape(text)]
    return "\n".join(parts)


def quotes_any(text: str, lines: set[str]) -> bool:
    """Whether ``text`` holds one of ``lines`` (whitespace squashed on both sides)."""
    flat = _squash(text)
    return any(line in flat for line in lines)


class ScrubHiddenText(NbGraderPreprocessor):
    """Remove outputs (and non-test source lines) that quote hidden-test code from feedback.

    Must run before :class:`HideHiddenTests`, which removes the hidden regions
    this preprocessor reads. In a cell holding a hidden region an error output
    is judged on its name and message only: its traceback is HideHiddenTests'
    job, which keeps a useful message for honest failures.
    """

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS", help="Marks the start of a hidden test region").tag(
        config=True
    )
    end_test_delimeter = Unicode("END HIDDEN TESTS", help="Marks the end of a hidden test region").tag(config=True)
    min_chars = Int(12, help="Hidden lines shorter than this (whitespace squashed) are too common to match").tag(
        config=True
    )
    output_message = Unicode(
        "[output removed by the grader: it quoted hidden test code]",
        help="The text of the stream output that replaces a removed output",
    ).tag(config=True)
    source_message = Unicode(
        "[line removed by the grader: it quoted hidden test code]",
        help="The text that replaces a removed source line (after '# ' in code cells)",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        lines = hidden_test_lines(nb.cells, self.begin_test_delimeter, self.end_test_delimeter, self.min_chars)
        if not lines:
            if any(HideHiddenTests.placeholder.default_value in cell.source for cell in nb.cells):
                self.log.warning("ScrubHiddenText ran after HideHiddenTests: it found no hidden test to look for")
            return nb, resources
        for cell in nb.cells:
            self.scrub_cell(cell, lines)
        return nb, resources

    def scrub_cell(self, cell: NotebookNode, lines: set[str]) -> None:
        """Remove what quotes ``lines`` from one cell: outputs of code cells, source lines of non-test cells."""
        is_test = cells.is_test_cell(cell)
        if not is_test:
            self._scrub_source(cell, lines)
        if cell.get("cell_type") == "code":
            cell.outputs = self._scrub_outputs(cell.get("outputs", []), lines, has_hidden=is_test)

    def _scrub_source(self, cell: NotebookNode, lines: set[str]) -> None:
        kept = []
        for line in cell.source.split("\n"):
            if quotes_any(line, lines):
                indent = line[: len(line) - len(line.lstrip())]
                prefix = "# " if cell.get("cell_type") == "code" else ""
                line = f"{indent}{prefix}{self.source_message}"
            kept.append(line)
        cell.source = "\n".join(kept)

    def _scrub_outputs(self, outputs: list[NotebookNode], lines: set[str], has_hidden: bool) -> list[NotebookNode]:
        kept: list[NotebookNode] = []
        for output in outputs:
            if not quotes_any(output_text(output, error_details=not has_hidden), lines):
                kept.append(output)
            elif not kept or kept[-1].get("text") != self.output_message:
                kept.append(new_output("stream", name="stdout", text=self.output_message))
        return kept
