"""autograder.intake: which submission folders can be graded, decided before nbgrader runs (fast)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.intake import MAX_MESSAGE, MAX_NOTEBOOK_MB, check_notebook, inspect
from autograder.statuses import MALFORMED, MISSING


def _notebook(**top) -> dict:
    """A tiny valid v4 notebook as JSON data (``top`` overrides top-level keys)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("hi")])
    data = json.loads(nbformat.writes(nb))
    data.update(top)
    return data


def _write(folder: Path, name: str, content: str | bytes | dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _check(status, message, want_status, *words):
    assert status == want_status, message
    assert "\n" not in message and len(message) <= MAX_MESSAGE, message
    assert "Traceback" not in message
    for word in words:
        assert word in message, message


def test_the_default_limit():
    assert MAX_NOTEBOOK_MB == 50


def test_a_valid_notebook_can_be_graded(tmp_path):
    _write(tmp_path, "lenet5.ipynb", _notebook())
    assert inspect(tmp_path, ["lenet5"]) == (None, "")


def test_the_release_notebook_can_be_graded(course_root):
    assert inspect(course_root / "release" / "lenet5", ["lenet5"]) == (None, "")


def test_some_notebooks_absent_is_graded_with_a_note(tmp_path):
    _write(tmp_path, "a.ipynb", _notebook())
    status, message = inspect(tmp_path, ["a", "b", "c"])
    assert status is None
    assert "b.ipynb" in message and "c.ipynb" in message and "a.ipynb" not in message


# ----------------------------------------------------------------------------------------------
# missing


def test_no_folder_is_missing(tmp_path):
    _check(*inspect(tmp_path / "nope", ["lenet5"]), MISSING, "lenet5.ipynb")


def test_empty_folder_is_missing(tmp_path):
    _check(*inspect(tmp_path, ["lenet5"]), MISSING, "no notebook submitted", "lenet5.ipynb")


def test_a_misnamed_notebook_is_named_with_how_to_fix_it(tmp_path):
    _write(tmp_path, "LeNet5 (1).ipynb", _notebook())
    _write(tmp_path, "notes.txt", "not a notebook")
    status, message = inspect(tmp_path, ["lenet5"])
    _check(status, message, MISSING, "'LeNet5 (1).ipynb'", "not lenet5.ipynb", "rename the file to lenet5.ipynb")
    assert "notes.txt" not in message


def test_a_notebook_in_a_subfolder_is_named(tmp_path):
    _write(tmp_path / "lenet5", "lenet5.ipynb", _notebook())
    _write(tmp_path / ".ipynb_checkpoints", "lenet5-checkpoint.ipynb", _notebook())
    status, message = inspect(tmp_path, ["lenet5"])
    _check(status, message, MISSING, "'lenet5/lenet5.ipynb'")
    assert "checkpoint" not in message


def test_many_misnamed_notebooks_keep_the_message_short(tmp_path):
    for i in range(30):
        _write(tmp_path, f"a rather long notebook name number {i:02d}.ipynb", _notebook())
    status, message = inspect(tmp_path, ["lenet5"])
    _check(status, message, MISSING, "found", "more")


# ----------------------------------------------------------------------------------------------
# malformed


@pytest.mark.parametrize("content", ["", "   \n\t\n", b""], ids=["zero-bytes", "whitespace", "zero-bytes-binary"])
def test_an_empty_file_is_malformed(tmp_path, content):
    _write(tmp_path, "lenet5.ipynb", content)
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "empty")


def test_a_huge_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    path = _write(tmp_path, "lenet5.ipynb", "x")
    with open(path, "r+b") as handle:  # sparse: 3 MB of nothing, cheap to make
        handle.truncate(3 * 1024 * 1024)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read before the size check"))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: pytest.fail("read before the size check"))
    status, message = inspect(tmp_path, ["lenet5"], max_mb=2)
    _check(status, message, MALFORMED, "lenet5.ipynb", "3.0 MB", "2 MB limit", "clear")


def test_a_file_just_under_the_limit_is_read(tmp_path):
    path = _write(tmp_path, "lenet5.ipynb", _notebook())
    assert inspect(tmp_path, ["lenet5"], max_mb=path.stat().st_size / 1024 / 1024 + 0.001) == (None, "")


@pytest.mark.parametrize(
    "text",
    ['{\n "cells": [\n  {\n   "cell_type": "code",\n   "source": ["x = 1"', "not json at all", "{'cells': []}"],
    ids=["cut-off", "prose", "python-dict"],
)
def test_invalid_json_is_malformed(tmp_path, text):
    _write(tmp_path, "lenet5.ipynb", text)
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "not valid notebook JSON")


def test_deeply_nested_json_is_malformed_not_a_crash(tmp_path):
    _write(tmp_path, "lenet5.ipynb", "[" * 100_000 + "]" * 100_000)
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb")


@pytest.mark.parametrize("data", [[1, 2], "a string", 42, None, {"hello": "world"}], ids=str)
def test_json_that_is_not_a_notebook_is_malformed(tmp_path, data):
    _write(tmp_path, "lenet5.ipynb", json.dumps(data))
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "not a Jupyter notebook")


def test_cells_that_are_not_a_list_are_malformed(tmp_path):
    _write(tmp_path, "lenet5.ipynb", _notebook(cells="x = 1"))
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "not a Jupyter notebook")


@pytest.mark.parametrize("version", [3, 5, "4", 4.0, None, True])
def test_other_nbformat_versions_are_malformed(tmp_path, version):
    _write(tmp_path, "lenet5.ipynb", _notebook(nbformat=version))
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "version", "version 4")


def test_a_v3_notebook_is_not_converted(tmp_path):
    v3 = {"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [], "metadata": {}}]}
    _write(tmp_path, "lenet5.ipynb", v3)
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "version 3")


def test_no_nbformat_key_is_malformed(tmp_path):
    data = _notebook()
    del data["nbformat"]
    _check(*(inspect(_write(tmp_path, "lenet5.ipynb", data).parent, ["lenet5"])), MALFORMED, "nbformat")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("metadata"),
        lambda d: d["cells"][0].pop("source"),
        lambda d: d["cells"][0].update(cell_type="weird"),
        lambda d: d["cells"][1].update(outputs=[]),
        lambda d: d.update(metadata=3),
    ],
    ids=["no-metadata", "no-source", "bad-cell-type", "markdown-with-outputs", "metadata-not-object"],
)
def test_schema_errors_are_malformed(tmp_path, change):
    data = _notebook()
    change(data)
    _write(tmp_path, "lenet5.ipynb", data)
    status, message = inspect(tmp_path, ["lenet5"])
    _check(status, message, MALFORMED, "lenet5.ipynb", "does not follow the notebook format")
    assert "{" not in message, "no dump of the cell"


def test_one_bad_notebook_of_several_makes_it_malformed(tmp_path):
    _write(tmp_path, "a.ipynb", _notebook())
    _write(tmp_path, "b.ipynb", "")
    _check(*inspect(tmp_path, ["a", "b"]), MALFORMED, "b.ipynb")


# ----------------------------------------------------------------------------------------------
# unreadable: still an answer, never an exception


def test_a_folder_named_like_the_notebook_is_malformed(tmp_path):
    (tmp_path / "lenet5.ipynb").mkdir()
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "folder")


def test_undecodable_bytes_are_malformed(tmp_path):
    _write(tmp_path, "lenet5.ipynb", b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage")
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "UTF-8")


def test_a_byte_order_mark_is_malformed(tmp_path):
    _write(tmp_path, "lenet5.ipynb", b"\xef\xbb\xbf" + json.dumps(_notebook()).encode())
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "byte-order mark")


def test_a_dangling_link_is_malformed(tmp_path):
    (tmp_path / "lenet5.ipynb").symlink_to(tmp_path / "gone.ipynb")
    _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "cannot be read")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_malformed(tmp_path):
    path = _write(tmp_path, "lenet5.ipynb", _notebook())
    path.chmod(0)
    try:
        _check(*inspect(tmp_path, ["lenet5"]), MALFORMED, "lenet5.ipynb", "cannot be read")
    finally:
        path.chmod(0o644)


def test_unreadable_file_errors_are_reported(tmp_path, monkeypatch):
    """Also as root: any OSError while reading is a plain message."""
    path = _write(tmp_path, "lenet5.ipynb", _notebook())

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    message = check_notebook(path)
    assert message == "lenet5.ipynb cannot be read (permission denied)"


def test_the_batch_refuses_linked_folders_and_notebooks(tmp_path):
    """A link in submitted/ could make the grader (which reads more than students can) read the solution."""
    from autograder.batch import Submission
    from autograder.batch import inspect as batch_inspect
    from autograder.statuses import MALFORMED

    solution = tmp_path / "source" / "lenet5"
    solution.mkdir(parents=True)
    (solution / "lenet5.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    linked_folder = tmp_path / "submitted" / "a" / "lenet5"
    linked_folder.parent.mkdir(parents=True)
    linked_folder.symlink_to(solution)
    status, message = batch_inspect(Submission("a", linked_folder), ["lenet5"])
    assert status == MALFORMED and "symbolic link" in message
    linked_file = tmp_path / "submitted" / "b" / "lenet5"
    linked_file.mkdir(parents=True)
    (linked_file / "lenet5.ipynb").symlink_to(solution / "lenet5.ipynb")
    status, message = batch_inspect(Submission("b", linked_file), ["lenet5"])
    assert status == MALFORMED and "symbolic link" in message
