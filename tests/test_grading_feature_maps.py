"""The feature_maps assignment graded end to end: its sample submissions get their exact expected scores."""

from __future__ import annotations

import csv

import pytest

from autograder.batch import grade_cells
from autograder.samples import build_submissions, load_samples

ASSIGNMENT = "feature_maps"
SAMPLES = load_samples(ASSIGNMENT)
LIMITS = ("--memory-mb", "6144", "--cpu-seconds", "240", "--cell-timeout", "120", "--jobs", "2")


@pytest.fixture(scope="module")
def graded(course_copy, course_cli):
    root = course_copy(("source", "release"), name="feature-maps")
    build_submissions(root, ASSIGNMENT, SAMPLES)
    proc = course_cli("grade", ASSIGNMENT, "--root", str(root), *LIMITS, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "reports" / f"grades-{ASSIGNMENT}.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return root, rows


def test_the_samples_cover_a_solution_a_partial_a_blank_and_a_cheat():
    assert {s.student for s in SAMPLES} == {"solution", "partial", "untouched", "random-activations"}


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.student for s in SAMPLES])
def test_sample_is_graded_as_expected(graded, sample):
    root, rows = graded
    row, expect = rows[sample.student], sample.expect
    assert row["status"] == expect["status"], row
    assert float(row["auto_max_score"]) == 8 and float(row["max_score"]) == 12, row
    auto = float(row["auto_score"])
    wanted = expect["auto_score"]
    assert auto == {"full": 8.0, "zero": 0.0}.get(wanted, wanted), row
    autograded = [c.grade_id for c in grade_cells(root, ASSIGNMENT) if c.autograded]
    for grade_id in expect.get("failing", []):
        assert float(row[grade_id]) == 0, row
    if "failing" in expect:
        assert all(float(row[g]) == 2 for g in autograded if g not in expect["failing"]), row
    for grade_id, score in expect.get("cells", {}).items():
        assert float(row[grade_id]) == score, f"{grade_id}: {row}"
    # an answer left as released scores 0 at once (nbgrader sees its checksum); a written one waits for a grader
    assert row["written_answer"] == ("0" if sample.base == "release" else ""), row
