"""autograder.feedback.ScrubHiddenText: outputs quoting hidden tests are removed from feedback (no nbgrader run)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.feedback import HideHiddenTests, ScrubHiddenText, hidden_test_lines, output_text

HIDDEN = "grading.check_padding_on_mnist(pad_images)"
VISIBLE = "grading.check_padding(pad_images)"
REMOVED = "[output removed by the grader: it quoted hidden test code]"


def _test_cell(outputs=()) -> nbformat.NotebookNode:
    cell = new_code_cell(
        f'"""pad_images works."""\n{VISIBLE}\n### BEGIN HIDDEN TESTS\n{HIDDEN}\nx = 1\n### END HIDDEN TESTS'
    )
    cell.metadata["nbgrader"] = {"grade_id": "test_pad", "grade": True, "solution": False, "locked": True, "points": 1}
    cell.outputs = list(outputs)
    return cell


def _student_cell(source: str, outputs) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": "answer", "grade": False, "solution": True, "locked": False}
    cell.outputs = list(outputs)
    return cell


def _stream(text: str) -> nbformat.NotebookNode:
    return new_output("stream", name="stdout", text=text)


def _run(*cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb, _ = ScrubHiddenText().preprocess(nb, {})
    return nb


def test_hidden_lines_are_long_distinctive_region_lines():
    lines = hidden_test_lines([_test_cell()], "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    assert lines == {HIDDEN}  # "x = 1" is too short; the delimiters and visible lines are not hidden


def test_a_student_cell_printing_a_hidden_line_is_scrubbed():
    student = _student_cell("print(captured)", [_stream(f"captured:\n    {HIDDEN}\n"), _stream("more")])
    nb = _run(student, _test_cell())
    assert [o.text for o in nb.cells[0].outputs] == [REMOVED, "more"]
    assert nb.cells[0].source == "print(captured)"


def test_rich_outputs_quoting_hidden_code_are_scrubbed():
    html = new_output("display_data", data={"text/html": "<pre>grading.check_padding_on_mnist(pad_images)</pre>"})
    result = new_output("execute_result", data={"text/plain": f"'{HIDDEN}'"}, execution_count=3)
    as_json = new_output("display_data", data={"application/json": {"lines": [HIDDEN]}})
    nb = _run(_student_cell("captured", [html, result, as_json]), _test_cell())
    assert [o.get("text") for o in nb.cells[0].outputs] == [REMOVED]


def test_an_output_with_only_visible_test_text_is_kept():
    outputs = [_stream(f"the visible test calls {VISIBLE}\n"), _stream("x = 1\n")]
    nb = _run(_student_cell("print(visible)", outputs), _test_cell())
    assert [o.text for o in nb.cells[0].outputs] == [o.text for o in outputs]


def test_a_traceback_quoting_hidden_code_in_a_non_test_cell_is_scrubbed():
    error = new_output(
        "error",
        ename="ValueError",
        evalue="oops",
        traceback=["\x1b[31mValueError\x1b[39m", f"----> 1 \x1b[32m{HIDDEN[:20]}\x1b[39m{HIDDEN[20:]}"],
    )
    plain = new_code_cell("raise ValueError('oops')")  # no nbgrader metadata: a cell the student added
    plain.outputs = [error]
    nb = _run(plain, _test_cell())
    assert [o.get("output_type") for o in nb.cells[0].outputs] == ["stream"]
    assert nb.cells[0].outputs[0].text == REMOVED


def test_source_of_non_test_cells_is_scrubbed():
    markdown = new_markdown_cell(f"I found this:\n{HIDDEN}")
    code = new_code_cell(f"if True:\n    {HIDDEN}\nprint(1)")
    nb = _run(markdown, code, _test_cell())
    assert nb.cells[0].source == "I found this:\n[line removed by the grader: it quoted hidden test code]"
    assert nb.cells[1].source == "if True:\n    # [line removed by the grader: it quoted hidden test code]\nprint(1)"
    assert HIDDEN in nb.cells[2].source  # the test cell's region is HideHiddenTests' job


def test_a_test_cells_traceback_is_left_to_hide_hidden_tests():
    tb = ["Cell In[4], line 4", f"----> 4 {HIDDEN}"]
    error = new_output("error", ename="AssertionError", evalue="bad border", traceback=tb)
    nb = _run(_test_cell([error, _stream(HIDDEN)]))
    error, stream = nb.cells[0].outputs
    assert error.output_type == "error" and error.traceback == tb
    assert stream.text == REMOVED
    cell, _ = HideHiddenTests().preprocess_cell(nb.cells[0], {}, 0)
    assert HIDDEN not in cell.source and "hidden test" in cell.outputs[0].traceback[0]
    assert all(HIDDEN not in output_text(output) for output in cell.outputs)


def test_a_test_cells_error_message_quoting_hidden_code_is_scrubbed():
    error = new_output("error", ename="ValueError", evalue=f"captured {HIDDEN}", traceback=["Cell In[4], line 2"])
    nb = _run(_test_cell([error]))
    assert [o.get("text") for o in nb.cells[0].outputs] == [REMOVED]


def test_notebooks_without_hidden_tests_are_untouched():
    cell = _student_cell("print(1)", [_stream("a long line of ordinary output\n")])
    nb = _run(cell)
    assert nb.cells[0].outputs[0].text == "a long line of ordinary output\n"


def test_the_feedback_step_runs_scrub_before_hide():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "nbgrader_config.py").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("c.GenerateFeedback.preprocessors"))
    assert line.index("ScrubHiddenText") < line.index("HideHiddenTests")


def test_the_graders_own_messages_are_kept_in_hidden_test_cells():
    """Why a test did not run (a limit, a dead kernel) is said in plain words, never as a hidden-test failure."""
    from autograder.execute import NOT_RUN, error_output

    cell = nbformat.v4.new_code_cell("check(1)\n### BEGIN HIDDEN TESTS\ncheck(2)\n### END HIDDEN TESTS")
    message = "this cell did not run: the notebook ran out of memory (limit: 4096 MB). Tests that did not run score 0."
    cell.outputs = [error_output(NOT_RUN, message)]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.outputs[0].traceback == [f"{NOT_RUN}: {message}"]
    assert "check(2)" not in cell.source
    source = "check(1)\n### BEGIN HIDDEN TESTS\ncheck(2)\n### END HIDDEN TESTS"
    forged = nbformat.v4.new_code_cell(source)  # the same name with a traceback of its own is not trusted
    forged.outputs = [new_output("error", ename=NOT_RUN, evalue="x", traceback=["Cell In[3], line 3", "check(2)"])]
    forged, _ = HideHiddenTests().preprocess_cell(forged, {}, 0)
    assert "check(2)" not in "".join(forged.outputs[0].traceback)
