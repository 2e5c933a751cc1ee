"""Grading is resumable and idempotent: `kill -9` of the grader mid-batch, then run it again.

Uses the quick samples (no training), graded with ``--jobs 2``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import subprocess_env

from autograder.samples import load_samples

ASSIGNMENT = "lenet5"
QUICK = (
    "untouched",
    "broken-json",
    "fake-output",
    "sys-exit",
    "no-notebook",
    "misnamed",
    "edit-metadata",
    "future-metadata",
    "empty-file",
)
SAMPLES = [s for s in load_samples(ASSIGNMENT) if s.student in QUICK]
ARGS = ("--memory-mb", "6144", "--cpu-seconds", "180", "--jobs", "2")


def _grade(root) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "grade", ASSIGNMENT, "--root", str(root), *ARGS],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _grade_and_wait(root, **env: str) -> subprocess.CompletedProcess:
    """`course grade` on ``root``, to its end. It runs in the course root: from the repository, `-m` would
    import the repository's course/ before any on PYTHONPATH."""
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", ASSIGNMENT, "--root", str(root), *ARGS],
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=root,
    )


def _finished(root) -> dict[str, str]:
    states = {}
    for path in (root / ".grading" / ASSIGNMENT / "state").glob("*.json"):
        try:
            states[path.stem] = json.loads(path.read_text(encoding="utf-8"))["result"]["status"]
        except (OSError, ValueError):
            pass
    return states


def _csv(root) -> list[dict]:
    with open(root / "reports" / f"grades-{ASSIGNMENT}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _submissions(root) -> Counter:
    from nbgrader.api import Gradebook

    from autograder.nbgrader_env import gradebook_url

    with Gradebook(gradebook_url(root)) as gb:
        return Counter(s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions)


@pytest.mark.slow
def test_a_killed_batch_finishes_on_the_next_run(course_copy):
    from autograder.samples import build_submissions

    assert len(SAMPLES) == len(QUICK)
    root = course_copy(("source", "release"), name="resume")
    build_submissions(root, ASSIGNMENT, SAMPLES)

    first = _grade(root)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        if "graded" in _finished(root).values():  # at least one notebook went through nbgrader
            break
        time.sleep(0.2)
    assert first.poll() is None, "the batch ended before it could be interrupted:\n" + first.stdout.read()
    os.killpg(first.pid, signal.SIGKILL)  # the grader, its workers and kernels (they die with it)
    first.wait()
    done_before = _finished(root)
    assert 0 < len(done_before) < len(QUICK), done_before

    second = _grade_and_wait(root)
    assert second.returncode == 0, second.stdout + second.stderr
    output = second.stdout + second.stderr
    kept = {line.split(":")[0].strip() for line in output.splitlines() if "unchanged since the last run, kept" in line}
    # the second run's first lines say which sandbox it probed (a part of every fingerprint)
    assert kept == set(done_before), (kept, done_before, first.stdout.read()[:2000], output[:2000])

    rows = _csv(root)
    assert sorted(r["student"] for r in rows) == sorted(QUICK), "every student exactly once"
    for sample in SAMPLES:
        row = next(r for r in rows if r["student"] == sample.student)
        assert row["status"] == sample.expect["status"], row
    graded = {r["student"] for r in rows if r["status"] not in ("malformed", "missing")}
    submissions = _submissions(root)
    assert set(submissions) == graded and set(submissions.values()) == {1}, submissions

    # once more: nothing left to do, nothing changes
    report = (root / "reports" / f"grades-{ASSIGNMENT}.csv").read_bytes()
    third = _grade_and_wait(root)
    assert third.returncode == 0, third.stdout + third.stderr
    assert (third.stdout + third.stderr).count("unchanged since the last run, kept") == len(QUICK)
    assert (root / "reports" / f"grades-{ASSIGNMENT}.csv").read_bytes() == report
    assert _submissions(root) == submissions


def test_one_batch_per_course_root_at_a_time(course_copy):
    from autograder.batch import Batch
    from autograder.nbgrader_env import PipelineError

    root = course_copy(("source", "release"), name="lock")
    first = Batch(root, ASSIGNMENT)
    first._hold_batch_lock()
    with pytest.raises(PipelineError, match=r"already running on this course root \(pid \d+\)"):
        Batch(root, ASSIGNMENT)._hold_batch_lock()
    first._batch_lock.close()  # the first batch ends: the next one may start
    Batch(root, ASSIGNMENT)._hold_batch_lock()


@pytest.mark.slow
def test_a_fix_to_a_check_regrades_everyone(course_copy, tmp_path):
    """The rows of an earlier run are kept only while the code the test cells call is unchanged: a fix to a
    check in course/ (here: the message of `require`) regrades every student without --regrade."""
    import course
    from autograder.samples import build_submissions

    students = ("untouched", "broken-json")
    root = course_copy(("source", "release"), name="fixed-check")
    build_submissions(root, ASSIGNMENT, [s for s in SAMPLES if s.student in students])
    first = _grade_and_wait(root)
    assert first.returncode == 0, first.stdout + first.stderr
    graded_notebook = root / "autograded" / "untouched" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "are not defined. Run every cell above" in graded_notebook.read_text(encoding="utf-8")

    # the same course package with one check fixed, first on the path of the grader, its workers and kernels
    packages = tmp_path / "packages"
    shutil.copytree(
        Path(course.__file__).resolve().parent, packages / "course", ignore=shutil.ignore_patterns("__pycache__")
    )
    core = packages / "course" / "grading" / "core.py"
    text = core.read_text(encoding="utf-8")
    assert text.count("not defined. Run every cell") == 1
    core.write_text(text.replace("not defined. Run every cell", "not defined (fixed check). Run every cell"))
    extra = {"PYTHONPATH": str(packages)}
    second = _grade_and_wait(root, **extra)
    output = second.stdout + second.stderr
    assert second.returncode == 0, output
    assert "unchanged since the last run, kept" not in output
    assert sorted(line.split(":")[0] for line in output.splitlines() if line.startswith(students)) == sorted(students)
    assert "are not defined (fixed check). Run every cell" in graded_notebook.read_text(encoding="utf-8")
