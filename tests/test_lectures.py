"""Every lecture notebook runs cleanly in smoke mode under nbval (errors fail; outputs are not compared)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, subprocess_env

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_lectures():
    assert LECTURES


@pytest.mark.slow
@pytest.mark.parametrize("notebook", LECTURES, ids=[p.name for p in LECTURES])
def test_lecture_runs_under_nbval(notebook):
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        "--nbval-cell-timeout=600",
        "-p",
        "no:cacheprovider",
        "-x",
        "-q",
        str(notebook.relative_to(ROOT)),
    ]
    proc = subprocess.run(
        command, cwd=ROOT, env=subprocess_env(COURSE_SMOKE="1"), capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[:8000] + proc.stderr[-2000:]  # -x: the first failing cell
    assert " passed" in proc.stdout and "failed" not in proc.stdout
