"""autograder.report: the grades picture and status counts, from synthetic grades CSVs (fast)."""

from __future__ import annotations

import csv

import matplotlib
import pytest

from autograder.report import FIXED_COLUMNS, IGNORED_COLUMNS, pass_rates, plot_scores, read_grades, status_counts
from autograder.statuses import STATUSES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TESTS = ["test_pad_images", "test_lenet5_shapes", "written_answer"]
MAX = {"test_pad_images": 2, "test_lenet5_shapes": 3, "written_answer": 4}


def _row(student, status, cells=None, message="", flags=""):
    cells = cells if cells is not None else {t: "0" for t in TESTS}
    auto = sum(float(cells[t]) for t in TESTS[:2] if cells.get(t))
    manual = float(cells["written_answer"]) if cells.get("written_answer") else 0.0
    return {
        "student": student,
        "status": status,
        "score": f"{auto + manual:g}",
        "max_score": "9",
        "auto_score": f"{auto:g}",
        "auto_max_score": "5",
        "needs_manual_grade": "0" if cells.get("written_answer") else "1",
        "seconds": "12.5",
        "message": message,
        **cells,
        "flags": flags,
    }


def _write(path, rows, columns=None):
    columns = columns or [*FIXED_COLUMNS, *TESTS, "flags"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _batch(tmp_path):
    return _write(
        tmp_path / "grades.csv",
        [
            _row("alice", "graded", {"test_pad_images": "2", "test_lenet5_shapes": "3", "written_answer": ""}),
            _row("bob", "graded", {"test_pad_images": "2", "test_lenet5_shapes": "0", "written_answer": "4"}),
            _row("carol", "graded", {"test_pad_images": "0", "test_lenet5_shapes": "1.5", "written_answer": ""}),
            _row("dave", "timeout", message="used up its 30 CPU seconds", flags="slow"),
            _row("erin", "malformed", message="lenet5.ipynb is empty"),
            _row("frank", "missing", message="found 'LeNet5 (1).ipynb' but not lenet5.ipynb"),
            _row("gina", "missing", message="no notebook submitted"),
        ],
    )


def _assert_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 5000


def test_the_batch_fixed_columns_are_known():
    """No column the batch always writes is taken for a graded cell."""
    batch = pytest.importorskip("autograder.batch", exc_type=ImportError)
    assert set(batch.FIXED_COLUMNS) <= set(FIXED_COLUMNS) | set(IGNORED_COLUMNS)


def test_status_counts(tmp_path):
    counts = status_counts(_batch(tmp_path))
    assert list(counts)[: len(STATUSES)] == list(STATUSES)
    assert counts == {"graded": 3, "timeout": 1, "memory": 0, "crashed": 0, "malformed": 1, "missing": 2}


def test_status_counts_keeps_unknown_statuses(tmp_path):
    path = _write(tmp_path / "g.csv", [_row("a", "graded"), _row("b", "cached"), _row("c", "")])
    counts = status_counts(path)
    assert counts["graded"] == 1 and counts["cached"] == 1 and counts["unknown"] == 1


def test_graded_cell_columns_skip_flags_and_text(tmp_path):
    rows = [dict(_row("a", "graded"), notes="late"), dict(_row("b", "missing"), notes="")]
    path = _write(tmp_path / "g.csv", rows, [*FIXED_COLUMNS, *TESTS, "flags", "notes"])
    assert read_grades(path).tests == TESTS


def test_pass_rates_among_graded_with_full_marks(tmp_path):
    rates = {test: rest for test, *rest in pass_rates(read_grades(_batch(tmp_path)), MAX)}
    assert rates["test_pad_images"] == [2, 2, 3]
    assert rates["test_lenet5_shapes"] == [3, 1, 3]
    assert rates["written_answer"] == [4, 1, 1], "cells awaiting manual grading are left out"


def test_pass_rates_infer_max_points_from_the_best_score(tmp_path):
    rates = {test: rest for test, *rest in pass_rates(read_grades(_batch(tmp_path)))}
    assert rates["test_pad_images"][0] == 2 and rates["test_lenet5_shapes"][0] == 3


def test_plot_scores_writes_a_png(tmp_path):
    out = plot_scores(_batch(tmp_path), tmp_path / "out" / "grades.png", "lenet5")
    assert out == tmp_path / "out" / "grades.png"
    _assert_png(out)


def test_plot_scores_with_given_max_points(tmp_path):
    _assert_png(plot_scores(_batch(tmp_path), tmp_path / "grades.png", "lenet5", max_points=MAX))


def test_no_students(tmp_path):
    path = _write(tmp_path / "g.csv", [])
    assert sum(status_counts(path).values()) == 0
    _assert_png(plot_scores(path, tmp_path / "g.png", "nobody"))


def test_only_a_header_of_fixed_columns(tmp_path):
    path = _write(tmp_path / "g.csv", [], list(FIXED_COLUMNS))
    _assert_png(plot_scores(path, tmp_path / "g.png", "nothing"))


def test_no_graded_submission(tmp_path):
    path = _write(tmp_path / "g.csv", [_row("a", "missing"), _row("b", "malformed"), _row("c", "crashed")])
    assert status_counts(path)["graded"] == 0
    assert all(scored == 0 for *_, scored in pass_rates(read_grades(path)))
    _assert_png(plot_scores(path, tmp_path / "g.png", "all bad"))


def test_a_single_student(tmp_path):
    path = _write(tmp_path / "g.csv", [_row("a", "graded", {t: str(MAX[t]) for t in TESTS})])
    _assert_png(plot_scores(path, tmp_path / "g.png", "one"))
    assert [full for _, _, full, _ in pass_rates(read_grades(path))] == [1, 1, 1]


def test_scores_missing_or_odd_do_not_break_the_plot(tmp_path):
    odd = dict(_row("a", "graded"), score="", max_score="", auto_score="nan")
    path = _write(tmp_path / "g.csv", [odd, dict(_row("b", "graded"), score="12", max_score="9")])
    _assert_png(plot_scores(path, tmp_path / "g.png", "odd"))


def test_the_pyplot_backend_is_left_alone(tmp_path):
    before = matplotlib.get_backend()
    plot_scores(_batch(tmp_path), tmp_path / "g.png", "lenet5")
    assert matplotlib.get_backend() == before
