"""The student edition on a machine of its own: its setup command (``make setup``) installs it into a
fresh virtual environment, ``make check`` runs lecture 01 in smoke mode, and every release notebook runs,
in smoke mode, up to the first task the student has to write.

The environment is a student's: no ``PYTHONPATH``, no virtual environment active, nothing from this
repository on the path; only ``HOME`` (pip's cache), ``PATH`` and the data kit come along. The other
lectures are the same files (``test_student_edition``) and run in smoke mode in ``test_lectures``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import subprocess_env

ROOT = Path(__file__).resolve().parent.parent


def _student_env() -> dict[str, str]:
    ours = subprocess_env()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    for name in ("COURSE_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if name in ours:
            env[name] = ours[name]
    return env


def _run(command: list[str], cwd: Path, timeout: float, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env={**_student_env(), **extra}, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory, course_cli):
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed: the student edition's setup command needs it")
    dest = tmp_path_factory.mktemp("student") / "cnn-course-student"
    proc = course_cli("student-edition", str(dest), "--no-handouts", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _run(["make", "setup"], dest, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return dest


@pytest.mark.slow
def test_setup_installs_the_course_from_the_edition_and_no_grader(installed):
    code = "import importlib.util, course; print(course.__file__, importlib.util.find_spec('autograder') is None)"
    proc = _run([str(installed / ".venv" / "bin" / "python"), "-c", code], installed, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    where, no_grader = proc.stdout.split()[-2:]
    assert Path(where).is_relative_to(installed) and no_grader == "True", proc.stdout


@pytest.mark.slow
def test_make_check_runs_lecture_01_in_smoke_mode(installed):
    proc = _run(["make", "check"], installed, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "the setup works" in proc.stdout
    nb = json.loads((installed / "build" / "check-01_cnn_vs_fc.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors and nb["metadata"]["papermill"]["parameters"] == {"SMOKE": True}


@pytest.mark.slow
def test_every_release_notebook_runs_up_to_the_first_task(installed):
    """Untouched, a release stops at its first task: nbgrader's ``raise NotImplementedError()``, in an answer
    cell or in the first cell that calls the student's unwritten function. Every cell before it (imports,
    parameters, data) runs in the student's environment."""
    papermill = str(installed / ".venv" / "bin" / "papermill")
    for path in sorted((installed / "release").glob("*/*.ipynb")):
        out = installed / "build" / f"release-{path.name}"
        proc = _run(
            [papermill, "--cwd", str(path.parent), "-p", "SMOKE", "True", str(path), str(out)],
            installed,
            timeout=600,
            COURSE_SMOKE="1",
        )
        nb = json.loads(out.read_text(encoding="utf-8"))
        failed = [(cell, o) for cell in nb["cells"] for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert proc.returncode != 0 and len(failed) == 1, (path.name, proc.stderr[-3000:])
        cell, error = failed[0]
        assert error["ename"] == "NotImplementedError", (path.name, error["ename"], error["evalue"])
        ran = [c for c in nb["cells"][: nb["cells"].index(cell)] if c["cell_type"] == "code"]
        assert ran and all(c.get("execution_count") for c in ran), path.name
