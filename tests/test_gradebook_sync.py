"""autograder.gradebook_sync: one student's grades merge in one transaction; a kill at any point leaves the
gradebook as it was before the merge or as it is after it, never in between."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import kill_merge
import pytest
from nbgrader.api import Gradebook

HELPER = Path(kill_merge.__file__)


def _env() -> dict[str, str]:
    env = dict(os.environ)  # nbgrader runs `alembic` from the environment's bin folder
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _kill_everywhere(tmp_path, scenario: str, *flags: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(HELPER), str(tmp_path / scenario), scenario, *flags],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", ["new", "update", "drop"])
def test_a_kill_at_any_point_leaves_the_gradebook_before_or_after(tmp_path, scenario):
    report = _kill_everywhere(tmp_path, scenario)
    outcomes = report["outcomes"]
    assert report["changed"] and report["statements"] >= 10, report
    assert len(outcomes) == report["statements"] + 2  # before each statement, before the commit, after
    assert set(outcomes.values()) <= {"before", "after"}, Counter(outcomes.values())
    last = [point for point in outcomes if point not in ("commit", "after")]
    assert all(outcomes[point] == "before" for point in [*last, "commit"])
    assert outcomes["after"] == "after"


def test_the_kills_catch_a_merge_made_of_nbgraders_own_commits(tmp_path):
    """Without one_transaction, nbgrader's methods commit part way: some kills leave half a submission."""
    outcomes = _kill_everywhere(tmp_path, "new", "--naive")["outcomes"]
    assert "neither" in outcomes.values(), Counter(outcomes.values())


def test_a_merge_keeps_grades_given_by_hand(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _env()["PATH"])
    main, private = kill_merge.build(tmp_path, "update")
    kill_merge.run("update", main, private)
    with Gradebook(f"sqlite:///{main}") as gb:
        grade = lambda name: gb.find_grade(name, kill_merge.NOTEBOOK, kill_merge.ASSIGNMENT, kill_merge.STUDENT)  # noqa: E731
        assert (grade("test_one").auto_score, grade("test_two").auto_score) == (2, 0)  # the new autograded scores
        assert grade("answer").manual_score == 3 and not grade("answer").needs_manual_grade
        others = gb.find_submission(kill_merge.ASSIGNMENT, "someone_else")
        assert others.score == 2  # the other student is untouched
