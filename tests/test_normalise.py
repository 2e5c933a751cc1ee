"""autograder.normalise: a submission rebuilt on the release (order, count and metadata of its cells)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.normalise import normalise


def _cell(kind, source, grade_id=None, **flags):
    cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if grade_id:
        meta = {"grade": False, "solution": False, "locked": False, "grade_id": grade_id, "schema_version": 3}
        meta.update(flags)
        cell.metadata["nbgrader"] = meta
    return cell


def _release():
    return new_notebook(
        cells=[
            _cell("markdown", "# Task", "intro", locked=True),
            _cell("code", "import numpy as np", "setup", locked=True),
            _cell("code", "def f():\n    raise NotImplementedError()", "answer", solution=True),
            _cell("code", "assert f() == 1", "test_f", grade=True, locked=True, points=2),
            _cell("markdown", "Explain.", "question", locked=True),
            _cell("markdown", "YOUR ANSWER HERE", "written", grade=True, solution=True, points=3),
        ]
    )


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_an_untouched_release_comes_back_the_same():
    release = _release()
    out, notes = normalise(nbformat.from_dict(release), release)
    assert _ids(out) == _ids(release) and [c.source for c in out.cells] == [c.source for c in release.cells]
    assert notes == []
    nbformat.validate(out)


def test_answers_and_own_cells_are_kept_in_place():
    release = _release()
    submitted = nbformat.from_dict(release)
    submitted.cells[2].source = "def f():\n    return 1"
    submitted.cells.insert(3, new_code_cell("print(f())"))  # the student's own cell, after the answer
    out, notes = normalise(submitted, release)
    assert out.cells[2].source == "def f():\n    return 1"
    assert out.cells[3].source == "print(f())" and "nbgrader" not in out.cells[3].metadata
    assert _ids(out) == ["intro", "setup", "answer", None, "test_f", "question", "written"]
    assert notes == []


def test_deleted_duplicated_and_moved_cells_are_put_right():
    release = _release()
    submitted = nbformat.from_dict(release)
    test_cell = submitted.cells[3]
    submitted.cells = [
        submitted.cells[0],
        test_cell,
        submitted.cells[1],
        submitted.cells[2],
        test_cell,
        submitted.cells[5],
    ]
    del submitted.cells[0]  # the intro goes too
    out, notes = normalise(submitted, release)
    assert _ids(out) == _ids(release)
    joined = "; ".join(notes)
    assert "restored deleted cells: intro, question" in joined
    assert "dropped duplicated cells: test_f" in joined
    assert "put the assignment's cells back in their order" in joined


def test_edited_metadata_and_locked_sources_come_from_the_release():
    release = _release()
    submitted = nbformat.from_dict(release)
    submitted.cells[3].metadata.nbgrader.update(points=100, locked=False, grade=False)
    submitted.cells[3].source = "pass"
    submitted.cells[2].metadata.nbgrader.update(grade=True, points=10)
    out, notes = normalise(submitted, release)
    assert out.cells[3].metadata.nbgrader == release.cells[3].metadata.nbgrader
    assert out.cells[3].source == "assert f() == 1"
    assert out.cells[2].metadata.nbgrader == release.cells[2].metadata.nbgrader
    assert "reset edited cell metadata: answer, test_f" in "; ".join(notes)


def test_unknown_grade_ids_lose_their_nbgrader_metadata():
    release = _release()
    submitted = nbformat.from_dict(release)
    submitted.cells.append(_cell("code", "assert True", "bonus", grade=True, points=50, locked=True))
    out, notes = normalise(submitted, release)
    assert "bonus" not in _ids(out) and out.cells[-1].source == "assert True"
    assert "ignored unknown grade ids: bonus" in "; ".join(notes)


@pytest.mark.parametrize("minor", [4, 5])
def test_the_result_is_a_valid_notebook(minor):
    release = _release()
    release.nbformat_minor = minor
    submitted = nbformat.from_dict(release)
    submitted.cells.append(submitted.cells[2])
    out, _ = normalise(submitted, release)
    nbformat.validate(out)
    if minor >= 5:
        ids = [c["id"] for c in out.cells]
        assert len(ids) == len(set(ids))
