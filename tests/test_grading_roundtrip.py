"""nbgrader round trip on a copy of the course: sample submissions -> `course grade` -> CSV + feedback.

The samples are built from ``autograder/fixtures/lenet5/*.json`` and the current
source/release (see ``autograder/samples.py``) and graded in ONE batch.
"""

from __future__ import annotations

import csv
import html
import re
import shutil

import nbformat
import pytest

from autograder.batch import TIMEOUT, Submission, grade_cells, grade_one
from autograder.feedback import HideHiddenTests, failing_lines
from autograder.leaks import secret_lines
from autograder.samples import load_samples

ASSIGNMENT = "lenet5"
SAMPLES = load_samples(ASSIGNMENT)
LIMITS = ("--memory-mb", "6144", "--cpu-seconds", "30")


def _text(path) -> str:
    """What a reader of an HTML page sees: tags dropped, entities decoded, spaces collapsed."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<style.*?</style>|<script.*?</script>", " ", raw, flags=re.S)
    return _squash(html.unescape(re.sub(r"<[^>]+>", "", raw)))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _hidden_lines(root) -> list[str]:
    lines = []
    for path in sorted((root / "source" / ASSIGNMENT).glob("*.ipynb")):
        lines += secret_lines(path)["hidden test"]
    return lines


@pytest.fixture(scope="module")
def graded(course_copy, course_cli):
    """Grade every sample in one `course grade` call; return (root, {student: csv row})."""
    from autograder.samples import build_submissions

    root = course_copy(("source", "release"), name="grading")
    build_submissions(root, ASSIGNMENT, SAMPLES)
    # limits low enough to keep the memory bomb and the endless loop cheap; the solution
    # grades with ~17 CPU s and under 4 GB of address space (TensorFlow on 2 cores)
    proc = course_cli("grade", ASSIGNMENT, "--root", str(root), *LIMITS, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6144 MB memory, 30 CPU s per process" in proc.stdout
    with open(root / "reports" / f"grades-{ASSIGNMENT}.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return root, rows


def test_samples_cover_the_required_cases():
    expects = [s.expect for s in SAMPLES]
    assert any(e.get("auto_score") == "full" for e in expects), "a correct solution"
    assert any(e.get("auto_score") == "zero" for e in expects), "the untouched release"
    assert any(e.get("failing") for e in expects), "a submission whose cell raises"
    assert any(e.get("status") == "malformed" for e in expects), "a malformed notebook"
    assert any(e.get("status") == "crashed" for e in expects), "a notebook nbgrader refuses"
    assert any(e.get("status") == "memory" for e in expects), "a memory bomb"
    assert any(e.get("status") == "timeout" for e in expects), "an endless loop"


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.student for s in SAMPLES])
def test_sample_is_graded_as_expected(graded, sample):
    root, rows = graded
    row = rows[sample.student]
    expect = sample.expect
    assert row["status"] == expect["status"], row
    auto, auto_max = float(row["auto_score"]), float(row["auto_max_score"])
    assert auto_max > 0
    if expect.get("auto_score") == "full":
        assert auto == auto_max, row
    elif expect.get("auto_score") == "zero":
        assert auto == 0, row
    if "failing" in expect:
        autograded = [c.grade_id for c in grade_cells(root, ASSIGNMENT) if c.autograded]
        full = {c.grade_id: c.max_score for c in grade_cells(root, ASSIGNMENT)}
        assert set(expect["failing"]) <= set(autograded)
        for grade_id in autograded:
            wanted = 0.0 if grade_id in expect["failing"] else full[grade_id]
            assert float(row[grade_id]) == wanted, f"{grade_id}: {row}"
    if expect["status"] != "graded":
        assert float(row["score"]) == 0
        assert all(float(row[c.grade_id]) == 0 for c in grade_cells(root, ASSIGNMENT)), row
        assert row["message"], "a reason is given"
    if expect["status"] in ("memory", "timeout"):
        assert {"memory": "ran out of memory (limit: 6144 MB)", "timeout": "used up its 30 CPU seconds"}[
            expect["status"]
        ] in row["message"], row


@pytest.mark.slow
def test_bad_submissions_do_not_stop_the_batch(graded):
    _, rows = graded
    assert set(rows) == {s.student for s in SAMPLES}
    for status in ("malformed", "crashed", "memory", "timeout"):
        bad = [s for s, r in rows.items() if r["status"] == status]
        graded_after = [s for s, r in rows.items() if r["status"] == "graded" and s > min(bad)]
        assert bad and graded_after, f"a {status} sample sorts before graded ones, and they were graded"


@pytest.mark.slow
def test_manual_answer_is_left_to_the_grader(graded):
    root, rows = graded
    manual = [c for c in grade_cells(root, ASSIGNMENT) if not c.autograded]
    solution = next(s.student for s in SAMPLES if s.expect.get("auto_score") == "full")
    assert int(rows[solution]["needs_manual_grade"]) == len(manual)
    assert float(rows[solution]["max_score"]) == float(rows[solution]["auto_max_score"]) + sum(
        c.max_score for c in manual
    )


@pytest.mark.slow
def test_feedback_holds_no_hidden_test(graded):
    root, rows = graded
    hidden = [_squash(line) for line in _hidden_lines(root)]
    assert hidden
    for student, row in rows.items():
        if row["status"] != "graded":
            assert not (root / "feedback" / student / ASSIGNMENT).exists()
            continue
        autograded = [nbformat.read(str(p), as_version=4) for p in (root / "autograded" / student / ASSIGNMENT).glob("*.ipynb")]
        ran = _squash("\n".join(cell.source for nb in autograded for cell in nb.cells))
        assert all(line in ran for line in hidden), "the hidden tests ran while autograding"
        pages = sorted((root / "feedback" / student / ASSIGNMENT).glob("*.html"))
        assert pages, f"no feedback for {student}"
        for page in pages:
            text = _text(page)
            assert "HIDDEN TESTS" not in text
            assert "hidden tests ran here" in text
            leaked = [line for line in hidden if line in text]
            assert not leaked, f"{page.name} of {student} shows hidden test lines: {leaked[:3]}"


@pytest.mark.slow
def test_a_submission_over_its_time_limit_is_stopped(graded):
    root, _ = graded
    solution = next(s.student for s in SAMPLES if s.expect.get("auto_score") == "full")
    slow = root / "submitted" / "zz-slow" / ASSIGNMENT
    shutil.copytree(root / "submitted" / solution / ASSIGNMENT, slow)
    result = grade_one(root, ASSIGNMENT, Submission("zz-slow", slow), grade_cells(root, ASSIGNMENT), timeout_s=2)
    assert result.status == TIMEOUT and result.score == 0
    assert "longer than 2 s" in result.message


# ----------------------------------------------------------------------------------------------
# the feedback preprocessor on its own (fast)

TB_HIDDEN = ["\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 3\x1b[39m", "secret context"]
TB_VISIBLE = ["Cell In[4], line 1\n----> 1 assert f(1) == 2\n      2 ### BEGIN HIDDEN TESTS\n      3 assert f(9) == 99"]


def _test_cell(traceback, evalue):
    cell = nbformat.v4.new_code_cell(
        "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(9) == 99, 'want 99'\n### END HIDDEN TESTS\nprint('done')"
    )
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue=evalue, traceback=traceback)]
    return cell


def test_failing_lines_reads_ipython_tracebacks():
    assert failing_lines(TB_HIDDEN) == [3]
    assert failing_lines(TB_VISIBLE) == [1]
    assert failing_lines(["no line info"]) == []


def test_hidden_failure_is_replaced_by_a_plain_message():
    cell, _ = HideHiddenTests().preprocess_cell(_test_cell(TB_HIDDEN, "want 99"), {}, 0)
    assert "f(9)" not in cell.source and "HIDDEN" not in cell.source
    assert cell.source.splitlines()[0] == "assert f(1) == 2" and cell.source.endswith("print('done')")
    error = cell.outputs[0]
    assert error.evalue == "" and len(error.traceback) == 1
    assert "hidden test" in error.traceback[0] and "99" not in error.traceback[0]


def test_visible_failure_keeps_its_message_but_not_the_context():
    cell, _ = HideHiddenTests().preprocess_cell(_test_cell(TB_VISIBLE, "f(1) should be 2"), {}, 0)
    (line,) = cell.outputs[0].traceback
    assert "f(1) should be 2" in line and "assert f(1) == 2" in line and "f(9)" not in line


def test_cells_without_hidden_tests_are_untouched():
    cell = nbformat.v4.new_code_cell("assert 1 == 2")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=["tb"])]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "assert 1 == 2" and cell.outputs[0].traceback == ["tb"]
