"""The committed release/ is what source/ generates, and gives nothing away."""

from __future__ import annotations

import ast
import importlib
import inspect

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


#: ``require`` returns the student's own objects (a function, a model): nbgrader does not read those as a score.
SHOWS_NO_SCORE = {"require"}


def _shown_value(code: str, checks) -> str | None:
    """What the cell's last statement would show as its ``Out[]``, if it can show anything: a call of a
    ``grading`` check that returns a value, or any other expression. ``None`` when it shows nothing."""
    body = ast.parse(code).body
    last = body[-1] if body else None
    if not isinstance(last, ast.Expr):
        return None
    call = last.value
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
        return None
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and ast.unparse(call.func.value) == "grading"
    ):
        name = call.func.attr
        returns = inspect.signature(getattr(checks, name)).return_annotation
        if returns in (None, "None") or name in SHOWS_NO_SCORE:
            return None
    return ast.unparse(call)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_visible_test_cell_shows_no_value(assignment):
    """nbgrader reads a test cell's ``Out[]`` as a partial score when it is a number: a check that returned
    an accuracy (0.98 of 4 points) made Validate report "passed some but not all of the tests" for a correct
    solution. So a released test cell ends in a statement that shows nothing."""
    checks = importlib.import_module(f"course.grading.{assignment}")
    for path in sorted((ROOT / "release" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and nbgrader.get("grade") and not nbgrader.get("solution"):
                shown = _shown_value(cell.source, checks)
                assert shown is None, f"{nbgrader['grade_id']} shows the value of {shown}"


def test_a_check_that_returns_a_value_is_caught():
    class Checks:
        def check_a(self) -> None: ...
        def check_b(self) -> float: ...
        def require(self): ...

    checks = Checks()
    assert _shown_value("grading.check_a()\nprint(1)", checks) is None
    assert _shown_value("x = grading.check_b()", checks) is None
    assert _shown_value("grading.require(globals(), 'f')", checks) is None
    assert _shown_value("grading.check_b()", checks) == "grading.check_b()"
    assert _shown_value("accuracy", checks) == "accuracy"


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
