"""The committed release/ is what source/ generates, and gives nothing away."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT

from autograder.leaks import check_release, find_leaks, secret_lines
from autograder.nbgrader_env import assignments
from autograder.release import differences

ASSIGNMENTS = assignments(ROOT)


def test_there_is_an_assignment():
    assert ASSIGNMENTS, "source/ holds no assignment"


@pytest.mark.slow
def test_release_is_in_sync_with_source(course_cli, course_copy):
    """Regenerating every assignment in a copy of the course changes nothing."""
    copy = course_copy(("source", "release"))
    proc = course_cli("release", "--root", str(copy), timeout=600)
    assert proc.returncode == 0, (
        f"release/ is out of date: run `course release --force` and commit it\n{proc.stdout}{proc.stderr}"
    )
    for name in ASSIGNMENTS:
        assert f"{name}: up to date" in proc.stdout, proc.stdout
    assert differences(copy / "release", ROOT / "release") == []
    assert (copy / "gradebook.db").exists(), "release registers the assignments in the gradebook"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_or_hidden_test(assignment):
    sources = sorted((ROOT / "source" / assignment).glob("*.ipynb"))
    secrets = [secret_lines(path) for path in sources]
    assert any(s["solution"] for s in secrets), "the source should have solution regions"
    assert any(s["hidden test"] for s in secrets), "the source should have hidden tests"
    for path in (ROOT / "release" / assignment).rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
    assert check_release(ROOT, assignment) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebooks_have_no_outputs(assignment):
    for path in sorted((ROOT / "release" / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path


def _pair(tmp_path, solution_line: str, released_line: str):
    cells = [
        nbformat.v4.new_code_cell(f"def f():\n    ### BEGIN SOLUTION\n    {solution_line}\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell("assert f() == 3\n### BEGIN HIDDEN TESTS\nassert f() + 1 == 4\n### END HIDDEN TESTS"),
    ]
    source, release = tmp_path / "source.ipynb", tmp_path / "release.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(source))
    cells = [nbformat.v4.new_code_cell(f"def f():\n    {released_line}"), nbformat.v4.new_code_cell("assert f() == 3")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(release))
    return source, release


def test_leak_checker_finds_a_leaked_solution(tmp_path):
    source, release = _pair(tmp_path, "return 1 + 2", "return 1 + 2")
    problems = find_leaks(source, release)
    assert problems and "solution line" in problems[0]


def test_leak_checker_accepts_a_clean_release(tmp_path):
    source, release = _pair(tmp_path, "return 1 + 2", "raise NotImplementedError()")
    assert find_leaks(source, release) == []
