"""autograder.report: the grades picture and status counts, from synthetic grades CSVs (fast)."""

from __future__ import annotations

import csv

import matplotlib
import pytest

from autograder.records import GradeResult
from autograder.report import FIXED_COLUMNS, pass_rates, plot_scores, read_grades, status_counts, write_csv
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


def _result(student, status, cells, **extra):
    return GradeResult(student, status, score=sum(v or 0 for v in cells.values()), max_score=9, cells=cells, **extra)


@pytest.mark.parametrize("notebooks", [1, 2])
def test_what_the_batch_writes_reads_back_as_the_graded_cells(tmp_path, notebooks):
    """write_csv's columns and read_grades' graded cells agree: every cell column and nothing else is a test,
    even when the fixed columns hold numbers (seconds, scores) or numeric-looking text (message, flags)."""
    names = ["lenet5:test_pad_images", "lenet5:test_shapes", "lenet5:written_answer"]
    if notebooks == 2:
        names[1] = "extra:test_shapes"
    rows = [
        _result(
            "bob", "graded", dict(zip(names, [2.0, 3.0, None], strict=True)), seconds=12.5, message="12", flags="3"
        ),
        _result("alice", "timeout", dict(zip(names, [2.0, 0.0, 4.0], strict=True)), seconds=30.0, message="used 30 s"),
        _result("carol", "missing", dict(zip(names, [0.0, 0.0, 0.0], strict=True))),
    ]
    path = write_csv(tmp_path / "grades.csv", rows)
    grades = read_grades(path)
    expected = names if notebooks == 2 else [name.split(":", 1)[1] for name in names]
    assert grades.tests == expected
    assert [row["student"] for row in grades.rows] == ["alice", "bob", "carol"]
    bob = grades.rows[1]
    assert (bob["status"], bob["seconds"], bob["message"], bob["flags"]) == ("graded", "12.5", "12", "3")
    assert bob[expected[2]] == "" and bob[expected[1]] == "3"  # waiting for manual grading: empty
    assert status_counts(path) == {"graded": 1, "timeout": 1, "memory": 0, "crashed": 0, "malformed": 0, "missing": 1}


def test_write_csv_can_keep_other_students_rows(tmp_path):
    path = write_csv(tmp_path / "grades.csv", [_result("alice", "graded", {"nb:t": 1.0})])
    write_csv(path, [_result("bob", "missing", {"nb:t": 0.0})], merge=True)
    assert [(r["student"], r["t"]) for r in read_grades(path).rows] == [("alice", "1"), ("bob", "0")]
    write_csv(path, [_result("bob", "graded", {"nb:t": 2.0})])
    assert [r["student"] for r in read_grades(path).rows] == ["bob"]


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
