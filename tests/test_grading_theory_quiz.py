"""The theory quiz graded end to end: exact scores, numbers per graded id, and an explanation of every
question in the feedback without its hidden test."""

from __future__ import annotations

import csv
import html
import re

import pytest

from autograder.batch import grade_cells
from autograder.samples import build_submissions, load_samples

ASSIGNMENT = "theory_quiz"
SAMPLES = load_samples(ASSIGNMENT)
LIMITS = ("--memory-mb", "4096", "--cpu-seconds", "120", "--cell-timeout", "60", "--jobs", "2")
QUESTIONS = 23


@pytest.fixture(scope="module")
def graded(course_copy, course_cli):
    root = course_copy(("source", "release"), name="theory-quiz")
    build_submissions(root, ASSIGNMENT, SAMPLES)
    proc = course_cli("grade", ASSIGNMENT, "--root", str(root), *LIMITS, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "reports" / f"grades-{ASSIGNMENT}.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return root, rows


def _outputs(root, student) -> str:
    import nbformat

    from autograder.feedback import output_text

    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "\n".join(output_text(o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_the_samples_cover_a_solution_a_partial_a_blank_and_a_copy():
    assert {s.student for s in SAMPLES} == {"solution", "partial", "untouched", "copied"}


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.student for s in SAMPLES])
def test_sample_is_graded_as_expected(graded, sample):
    root, rows = graded
    row, expect = rows[sample.student], sample.expect
    assert row["status"] == expect["status"], row
    assert float(row["auto_max_score"]) == QUESTIONS == float(row["max_score"]), row
    wanted = expect["auto_score"]
    assert float(row["auto_score"]) == {"full": QUESTIONS, "zero": 0.0}.get(wanted, wanted), row
    tests = [c.grade_id for c in grade_cells(root, ASSIGNMENT) if c.autograded]
    assert len(tests) == QUESTIONS
    failing = expect.get("failing", [])
    for grade_id in tests:
        if "failing" in expect:
            assert float(row[grade_id]) == (0 if grade_id in failing else 1), f"{grade_id}: {row}"
    outputs = _outputs(root, sample.student)
    for text in expect.get("output_contains", []):
        assert text in outputs, f"{text!r} not printed"


@pytest.mark.slow
def test_feedback_explains_every_question_and_hides_the_answers(graded):
    root, rows = graded
    for student in ("solution", "copied", "untouched"):
        page = next((root / "feedback" / student / ASSIGNMENT).glob("*.html"))
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
        assert text.count("Why:") == QUESTIONS, student
        assert "HIDDEN TESTS" not in text
        assert "grading.questions()" not in text, "the hidden checks are not shown"
        assert 'check_equal(q05, "b"' not in text
