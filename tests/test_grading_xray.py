"""The xray assignment graded end to end: its sample submissions get their exact expected scores."""

from __future__ import annotations

import pytest
from conftest import assert_graded_as_expected, grade_samples

from autograder.samples import load_samples

ASSIGNMENT = "xray"
SAMPLES = load_samples(ASSIGNMENT)
LIMITS = ("--memory-mb", "6144", "--cpu-seconds", "240", "--cell-timeout", "120", "--jobs", "2")


@pytest.fixture(scope="module")
def graded(course_copy, course_cli):
    return grade_samples(course_copy, course_cli, ASSIGNMENT, LIMITS, timeout=1200)


def test_the_samples_cover_a_solution_a_blank_and_two_near_misses():
    assert {s.student for s in SAMPLES} == {"solution", "untouched", "leaky-split", "wrong-focal"}


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.student for s in SAMPLES])
def test_sample_is_graded_as_expected(graded, sample):
    root, rows = graded
    row = rows[sample.student]
    assert_graded_as_expected(root, ASSIGNMENT, row, sample, auto_max=12, max_score=16)
    # an answer left as released scores 0 at once (nbgrader sees its checksum); a written one waits for a grader
    assert row["written_answer"] == ("0" if sample.base == "release" else ""), row
