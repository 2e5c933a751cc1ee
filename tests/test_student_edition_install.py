"""The student edition on a machine of its own: its setup command (``make setup``) installs it into a
fresh virtual environment, ``make check`` runs lecture 01 in smoke mode, and every release notebook runs,
in smoke mode, up to the first task the student has to write.

The environment is a student's: no ``PYTHONPATH``, no virtual environment active, nothing from this
repository on the path; only ``HOME`` (pip's cache), ``PATH`` and the data kit come along. The other
lectures are the same files (``test_student_edition``) and run in smoke mode in ``test_lectures``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BROWSER, run_as_student


@pytest.fixture(scope="module")
def installed(installed_edition):
    return installed_edition


@pytest.mark.slow
def test_setup_installs_the_course_from_the_edition_and_no_grader(installed):
    code = "import importlib.util, course; print(course.__file__, importlib.util.find_spec('autograder') is None)"
    proc = run_as_student([str(installed / ".venv" / "bin" / "python"), "-c", code], installed, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    where, no_grader = proc.stdout.split()[-2:]
    assert Path(where).is_relative_to(installed) and no_grader == "True", proc.stdout
    # and the course's Jupyter set-up (course.lab_setup) went into the edition's environment
    assert (installed / ".venv" / "etc" / "ipython" / "ipython_kernel_config.py").is_file()
    assert (installed / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json").is_file()


@pytest.mark.slow
def test_make_check_runs_lecture_01_in_smoke_mode(installed):
    proc = run_as_student(["make", "check"], installed, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "the setup works" in proc.stdout
    nb = json.loads((installed / "build" / "check-01_cnn_vs_fc.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors and nb["metadata"]["papermill"]["parameters"] == {"SMOKE": True}


@pytest.mark.slow
@pytest.mark.skipif(BROWSER, reason="test_browser.py runs every release up to its first task, in JupyterLab")
def test_every_release_notebook_runs_up_to_the_first_task(installed):
    """Untouched, a release stops at its first task: nbgrader's ``raise NotImplementedError()``, in an answer
    cell or in the first cell that calls the student's unwritten function. Every cell before it (imports,
    parameters, data) runs in the student's environment."""
    papermill = str(installed / ".venv" / "bin" / "papermill")
    for path in sorted((installed / "release").glob("*/*.ipynb")):
        out = installed / "build" / f"release-{path.name}"
        proc = run_as_student(
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
        stderr = [o["text"] for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert not [text for text in stderr if "absl::InitializeLog" in "".join(text)], (path.name, stderr[:2])
        ran = [c for c in nb["cells"][: nb["cells"].index(cell)] if c["cell_type"] == "code"]
        assert ran and all(c.get("execution_count") for c in ran), path.name
