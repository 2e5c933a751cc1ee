"""autograder.samples: every kind of sample spec, built into a copy of the course (fast; no grading)."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.intake import inspect
from autograder.samples import EXPECT_KEYS, MB, RAISE_LINE, Sample, build_submissions, load_samples
from autograder.statuses import STATUSES

ASSIGNMENT = "lenet5"
NOTEBOOK = "lenet5.ipynb"


@pytest.fixture(scope="module")
def root(course_copy):
    return course_copy(("source", "release"), name="samples")


def _build(root, student="s", base="release", **spec):
    (folder,) = build_submissions(root, ASSIGNMENT, [Sample(student=student, base=base, **spec)])
    return folder


def _read(folder, name=NOTEBOOK) -> nbformat.NotebookNode:
    return nbformat.read(str(folder / name), as_version=nbformat.NO_CONVERT)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _ids(nb) -> list[str | None]:
    return [_grade_id(cell) for cell in nb.cells]


def _cell(nb, grade_id):
    return next(cell for cell in nb.cells if _grade_id(cell) == grade_id)


@pytest.fixture(scope="module")
def release(root):
    return nbformat.read(str(root / "release" / ASSIGNMENT / NOTEBOOK), as_version=4)


# ----------------------------------------------------------------------------------------------
# the fixtures themselves


def test_the_fixtures_load_and_use_known_keys():
    samples = load_samples(ASSIGNMENT)
    assert {"broken-json", "wrong-nbformat", "empty-file", "huge-output", "misnamed", "no-notebook"} <= {
        s.student for s in samples
    }
    for sample in samples:
        assert sample.description, sample.student
        assert set(sample.expect) <= set(EXPECT_KEYS), sample.student
        assert sample.expect["status"] in STATUSES, sample.student


def test_unknown_keys_in_a_spec_are_an_error(tmp_path):
    (tmp_path / "typo.json").write_text(json.dumps({"base": "release", "raise_inn": ["x"]}))
    with pytest.raises(ValueError, match="raise_inn"):
        load_samples(ASSIGNMENT, tmp_path)


@pytest.mark.parametrize(
    "student", ["wrong-nbformat", "empty-file", "huge-output", "misnamed", "no-notebook", "broken-json"]
)
def test_the_intake_samples_are_settled_before_grading(course_copy, student):
    """Each malformed/missing fixture, built, gets its expected status and message from the intake."""
    root = course_copy(("source", "release"), name=student)
    (sample,) = [s for s in load_samples(ASSIGNMENT) if s.student == student]
    (folder,) = build_submissions(root, ASSIGNMENT, [sample])
    status, message = inspect(folder, [ASSIGNMENT])
    assert status == sample.expect["status"], message
    assert sample.expect.get("message_contains", "") in message


# ----------------------------------------------------------------------------------------------
# each kind of spec


def test_release_and_solution(root, release):
    assert _read(_build(root)).cells == release.cells
    solved = _read(_build(root, base="solution"))
    assert "NotImplementedError" not in _cell(solved, "pad_images").source
    assert "BEGIN SOLUTION" not in _cell(solved, "pad_images").source


def test_text_and_empty_text(root):
    folder = _build(root, base="text", text="")
    assert (folder / NOTEBOOK).read_bytes() == b""


def test_filename_writes_a_misnamed_file(root):
    folder = _build(root, base="solution", filename="LeNet5 (1).ipynb")
    assert sorted(p.name for p in folder.iterdir()) == ["LeNet5 (1).ipynb"]
    assert _read(folder, "LeNet5 (1).ipynb").nbformat == 4


def test_no_files_leaves_an_empty_folder(root):
    folder = _build(root, no_files=True)
    assert folder.is_dir() and not any(folder.iterdir())


def test_a_rebuild_replaces_the_folder(root):
    _build(root, student="again")
    folder = _build(root, student="again", no_files=True)
    assert not any(folder.iterdir())


@pytest.mark.parametrize("version", [3, 5])
def test_nbformat_is_written_as_is(root, version):
    folder = _build(root, base="solution", nbformat=version)
    data = json.loads((folder / NOTEBOOK).read_text(encoding="utf-8"))
    assert data["nbformat"] == version and "cells" in data and "worksheets" not in data


def test_huge_output_makes_the_file_that_big(root):
    folder = _build(root, huge_output_mb=0.5)
    size = (folder / NOTEBOOK).stat().st_size
    assert 0.5 * MB < size < 0.5 * MB * 1.2 + 100_000
    nb = _read(folder)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    (output,) = first_code.outputs
    assert output.output_type == "stream" and len(output.text) == int(0.5 * MB)
    nbformat.validate(nb)


def test_raise_in_prepend_and_replace(root):
    folder = _build(
        root,
        base="solution",
        raise_in=["pad_images"],
        prepend={"build_lenet5": "import time"},
        replace={"train_modern": "model = None", "pad_images": "replaced = True"},
    )
    nb = _read(folder)
    assert _cell(nb, "pad_images").source == "replaced = True", "replace comes after raise_in"
    assert _cell(nb, "build_lenet5").source.startswith("import time\n")
    assert "NotImplementedError" not in _cell(nb, "build_lenet5").source, "the solution is filled in first"
    assert _cell(nb, "train_modern").source == "model = None"


def test_raise_in_alone(root):
    assert _cell(_read(_build(root, raise_in=["pad_images"])), "pad_images").source.startswith(RAISE_LINE + "\n")


def test_nbgrader_and_cell_metadata(root, release):
    folder = _build(
        root,
        nbgrader_metadata={"test_pad_images": {"schema_version": 99, "points": 5}},
        cell_metadata={"test_pad_images": {"tags": ["slow"], "editable": True}, "setup": {"nbgrader": {"x": 1}}},
    )
    nb = _read(folder)
    cell = _cell(nb, "test_pad_images")
    assert cell.metadata.nbgrader.schema_version == 99 and cell.metadata.nbgrader.points == 5
    assert cell.metadata.tags == ["slow"] and cell.metadata.editable is True
    assert nb.cells[_ids(release).index("setup")].metadata.nbgrader == {"x": 1}, "a top-level key replaces it whole"


def test_duplicate(root, release):
    nb = _read(_build(root, duplicate=["test_pad_images"]))
    ids = _ids(nb)
    i = ids.index("test_pad_images")
    assert ids[i + 1] == "test_pad_images" and len(ids) == len(release.cells) + 1
    assert nb.cells[i].source == nb.cells[i + 1].source and nb.cells[i].id != nb.cells[i + 1].id
    nbformat.validate(nb)


def test_move(root, release):
    nb = _read(_build(root, move=[["test_pad_images", "pad_images"]]))
    ids = _ids(nb)
    assert ids.index("test_pad_images") + 1 == ids.index("pad_images")
    assert sorted(map(str, ids)) == sorted(map(str, _ids(release)))


def test_delete_removes_every_copy(root, release):
    nb = _read(_build(root, duplicate=["test_pad_images"], delete=["test_pad_images", "intro"]))
    assert "test_pad_images" not in _ids(nb) and "intro" not in _ids(nb)
    assert len(nb.cells) == len(release.cells) - 2


def test_append_code(root, release):
    nb = _read(_build(root, append_code=["print('one')", "x = 2"]))
    assert [cell.source for cell in nb.cells[-2:]] == ["print('one')", "x = 2"]
    assert all(cell.cell_type == "code" and "nbgrader" not in cell.metadata for cell in nb.cells[-2:])
    assert len(nb.cells) == len(release.cells) + 2


def test_edit_order_duplicate_then_move_then_delete(root):
    nb = _read(
        _build(
            root,
            replace={"pad_images": "a = 1"},
            duplicate=["pad_images"],
            move=[["test_pad_images", "setup"]],
            delete=["intro"],
            append_code=["b = 2"],
        )
    )
    ids = [grade_id for grade_id in _ids(nb) if grade_id]
    assert ids[:3] == ["setup_text", "test_pad_images", "setup"]
    assert [c.source for c in nb.cells if _grade_id(c) == "pad_images"] == ["a = 1", "a = 1"], "copies the replaced one"
    assert nb.cells[-1].source == "b = 2"


@pytest.mark.parametrize(
    "spec",
    [
        {"raise_in": ["nope"]},
        {"prepend": {"nope": "x"}},
        {"replace": {"nope": "x"}},
        {"nbgrader_metadata": {"nope": {}}},
        {"cell_metadata": {"nope": {}}},
        {"duplicate": ["nope"]},
        {"delete": ["nope"]},
        {"move": [["nope", "setup"]]},
        {"move": [["setup", "nope"]]},
    ],
    ids=lambda spec: next(iter(spec)),
)
def test_unknown_grade_ids_are_an_error(root, spec):
    with pytest.raises(ValueError, match="nope"):
        _build(root, **spec)


def test_moving_a_cell_before_itself_is_an_error(root):
    with pytest.raises(ValueError, match="itself"):
        _build(root, move=[["setup", "setup"]])


def test_unknown_base_is_an_error(root):
    with pytest.raises(ValueError, match="base"):
        _build(root, base="nonsense")


def test_requires_and_expect_are_stored():
    sample = Sample(
        student="s",
        base="solution",
        requires="sandbox",
        expect={"cells": {"test_pad_images": 2}, "message_contains": "x", "output_contains": ["y"]},
    )
    assert sample.requirements == ["sandbox"]
    assert Sample(student="t", base="release").requirements == []
    assert Sample(student="u", base="release", requires=["sandbox", "gpu"]).requirements == ["sandbox", "gpu"]
    assert sample.expect["cells"] == {"test_pad_images": 2}
