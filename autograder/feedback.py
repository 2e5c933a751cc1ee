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
"""

from __future__ import annotations

import re

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython >= 8 names the executing cell "Cell In[12], line 7"; older ones
# print "<ipython-input-12-...> in <module>" then "----> 7 source".
_CELL_LINE = re.compile(r"Cell In\s*\[(\d*)\],\s*line (\d+)")
_OLD_ARROW = re.compile(r"^-+>\s*(\d+)", re.MULTILINE)


def hidden_line_numbers(source: str, begin: str, end: str) -> tuple[set[int], bool]:
    """1-based numbers of the lines of ``source`` inside (or on) a hidden-test
    delimiter, and whether there is any hidden region at all."""
    hidden: set[int] = set()
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        if inside:
            hidden.add(number)
        if end in line:
            inside = False
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
        numbers = failing_lines(output.get("traceback", []))
        if not numbers or any(n in hidden or not 1 <= n <= len(lines) for n in numbers):
            message = self.hidden_failure_message.format(ename=ename)
            output.evalue = ""
        else:
            evalue = output.get("evalue", "")
            message = f"{ename}: {evalue}" if evalue else ename
            message += f"\n(raised by the visible line: {lines[numbers[0] - 1].strip()})"
        output.traceback = [message]
