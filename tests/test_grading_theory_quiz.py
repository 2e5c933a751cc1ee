"""The theory quiz graded end to end: exact scores, numbers per graded id, and an explanation of every
question in the feedback without its hidden test."""

from __future__ import annotations

import html
import re

import pytest
from conftest import assert_graded_as_expected, grade_samples

from autograder.batch import grade_cells
from autograder.samples import load_samples

ASSIGNMENT = "theory_quiz"
SAMPLES = load_samples(ASSIGNMENT)
LIMITS = ("--memory-mb", "4096", "--cpu-seconds", "240", "--cell-timeout", "120", "--jobs", "2")
QUESTIONS = 23


@pytest.fixture(scope="module")
def graded(course_copy, course_cli):
    return grade_samples(course_copy, course_cli, ASSIGNMENT, LIMITS, timeout=900)


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
    assert len([c for c in grade_cells(root, ASSIGNMENT) if c.autograded]) == QUESTIONS
    assert_graded_as_expected(root, ASSIGNMENT, rows[sample.student], sample, auto_max=QUESTIONS, max_score=QUESTIONS)
    outputs = _outputs(root, sample.student)
    for text in sample.expect.get("output_contains", []):
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
