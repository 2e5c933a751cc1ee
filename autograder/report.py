"""The report stage: the grades CSV (``reports/grades-ASSIGNMENT.csv``) and a picture of it.

:func:`write_csv` writes one row per student: the fixed columns
(:data:`FIXED_COLUMNS`), then one column per graded cell (``grade_id``, or
``notebook:grade_id`` when the assignment has several notebooks) holding its
score, or nothing while it waits for manual grading. :func:`read_grades` reads
it back; its graded-cell columns are the columns after the fixed ones whose
values are numbers (other columns, or anything not numeric, are ignored).

:func:`plot_scores` draws one PNG with two panels: the total scores of all
students (a histogram stacked by status) and, per graded cell, the share of the
``graded`` submissions that got full marks on it. :func:`status_counts` counts
the statuses.

The figure is drawn on a :class:`matplotlib.figure.Figure` of its own, so the
caller's pyplot backend is left as it is.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from .records import GradeResult, atomic_write
from .statuses import GRADED, REPORT_COLUMNS, STATUSES

FIXED_COLUMNS = REPORT_COLUMNS  # the CSV's fixed columns; the columns after them are graded cells
STATUS_COLORS = {
    "graded": "#4c9a2a",
    "timeout": "#e69f00",
    "memory": "#8e6bbf",
    "crashed": "#d62728",
    "malformed": "#8c564b",
    "missing": "#9e9e9e",
}
OTHER_COLOR = "#17becf"


def result_row(result: GradeResult, several_notebooks: bool) -> dict[str, str]:
    """One CSV row: the fixed columns, then ``grade_id`` (or ``notebook:grade_id``) columns."""
    row = {
        "student": result.student,
        "status": result.status,
        "score": _num(result.score),
        "max_score": _num(result.max_score),
        "auto_score": _num(result.auto_score),
        "auto_max_score": _num(result.auto_max_score),
        "needs_manual_grade": str(result.needs_manual_grade),
        "seconds": f"{result.seconds:g}",
        "message": result.message,
        "flags": result.flags,
    }
    for key, score in result.cells.items():
        row[key if several_notebooks else key.split(":", 1)[1]] = _num(score)
    return row


def write_csv(path: Path, results: list[GradeResult], *, merge: bool = False) -> Path:
    """Write the report, one row per student (sorted). With ``merge``, rows already in
    ``path`` for other students are kept (grading a few students updates their rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notebooks = {key.split(":", 1)[0] for r in results for key in r.cells}
    rows = {r.student: result_row(r, len(notebooks) > 1) for r in results}
    columns = list(FIXED_COLUMNS)
    if merge and path.exists():
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns += [c for c in reader.fieldnames or [] if c not in columns]
            for old in reader:
                rows.setdefault(old["student"], old)
    for row in rows.values():
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    for student in sorted(rows):
        writer.writerow(rows[student])
    atomic_write(path, buffer.getvalue())
    return path


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


@dataclass
class Grades:
    """The grades CSV, read: its rows (dicts of strings) and its graded-cell columns, in order."""

    rows: list[dict[str, str]]
    tests: list[str]


def read_grades(csv_path: Path) -> Grades:
    """Read a grades CSV; the graded-cell columns are those after the fixed ones whose values are numbers or empty."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    tests = [
        column
        for column in columns
        if column not in FIXED_COLUMNS
        and all(_number(row.get(column)) is not None or not (row.get(column) or "").strip() for row in rows)
    ]
    return Grades(rows, tests)


def status_counts(csv_path: Path) -> dict[str, int]:
    """How many students have each status: every known status (0 if none), then any other, in that order."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in read_grades(csv_path).rows:
        status = (row.get("status") or "").strip() or "unknown"
        counts[status] = counts.get(status, 0) + 1
    return counts


def pass_rates(grades: Grades, max_points: dict[str, float] | None = None) -> list[tuple[str, float, int, int]]:
    """Per graded cell: ``(test, max points, full marks, scored)`` among the ``graded`` rows.

    ``scored`` leaves out the rows where the cell waits for manual grading (empty).
    The max points are ``max_points[test]`` or else the best score anyone got.
    """
    graded = [row for row in grades.rows if row.get("status") == GRADED]
    rates = []
    for test in grades.tests:
        top = (max_points or {}).get(test)
        if top is None:
            top = max((_number(row.get(test)) or 0.0 for row in grades.rows), default=0.0)
        scores = [s for s in (_number(row.get(test)) for row in graded) if s is not None]
        full = sum(1 for s in scores if top > 0 and s >= top - 1e-9)
        rates.append((test, top, full, len(scores)))
    return rates


def plot_scores(csv_path: Path, out_path: Path, title: str, *, max_points: dict[str, float] | None = None) -> Path:
    """Draw the grades of ``csv_path`` into the PNG ``out_path`` and return it.

    Left: a histogram of every student's total score from 0 to ``max_score``,
    stacked by status, the legend giving the count of each. Right: per graded
    cell, the share of ``graded`` submissions with full marks on it (labelled with
    its max points: ``max_points[test]``, else the best score in the CSV).
    """
    from matplotlib.figure import Figure

    grades = read_grades(csv_path)
    rates = pass_rates(grades, max_points)
    fig = Figure(figsize=(13, max(4.5, 0.38 * len(rates) + 1.8)), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.15]})
    _draw_histogram(left, grades.rows)
    _draw_pass_rates(right, rates, sum(1 for row in grades.rows if row.get("status") == GRADED))
    fig.suptitle(f"{title} ({len(grades.rows)} student{'' if len(grades.rows) == 1 else 's'})")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png", dpi=100)
    return out_path


def _draw_histogram(ax, rows: list[dict[str, str]]) -> None:
    """Total scores, stacked by status (statuses in their usual order, then any other)."""
    top = max((_number(row.get("max_score")) or 0.0 for row in rows), default=0.0)
    top = top if top > 0 else max([1.0] + [_number(row.get("score")) or 0.0 for row in rows])
    by_status: dict[str, list[float]] = {}
    for row in rows:
        status = (row.get("status") or "").strip() or "unknown"
        by_status.setdefault(status, []).append(min(max(_number(row.get("score")) or 0.0, 0.0), top))
    order = [s for s in STATUSES if s in by_status] + sorted(s for s in by_status if s not in STATUSES)
    ax.set_title("Total score")
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("students")
    ax.set_xlim(0, top)
    if not order:
        ax.text(0.5, 0.5, "no students", ha="center", va="center", transform=ax.transAxes, color="gray")
        return
    ax.hist(
        [by_status[s] for s in order],
        bins=_bins(top),
        stacked=True,
        color=[STATUS_COLORS.get(s, OTHER_COLOR) for s in order],
        label=[f"{s} ({len(by_status[s])})" for s in order],
        edgecolor="white",
        linewidth=0.5,
    )
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.25)
    ax.legend(title="status (students)", loc="best", fontsize="small")


def _draw_pass_rates(ax, rates: list[tuple[str, float, int, int]], graded: int) -> None:
    """One horizontal bar per graded cell (first on top): the share of the ``graded`` rows with full marks."""
    ax.set_title(f"Full marks per test ({graded} graded submission{'' if graded == 1 else 's'})")
    ax.set_xlim(0, 1.18)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1], labels=["0%", "25%", "50%", "75%", "100%"])
    if not rates or not graded:
        why = "no graded cells" if not rates else "no graded submissions"
        ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="gray")
    if not rates:
        ax.set_yticks([])
        return
    positions = list(range(len(rates)))[::-1]
    shares = [full / scored if scored else 0.0 for _, _, full, scored in rates]
    ax.barh(positions, shares, color=STATUS_COLORS[GRADED], height=0.7)
    ax.set_yticks(positions, labels=[f"{test} ({_points(top)})" for test, top, _, _ in rates], fontsize="small")
    for y, (_, _, full, scored) in zip(positions, rates, strict=True) if graded else ():
        note = f"{full}/{scored}" if scored else "awaiting manual grading"
        ax.text(min(full / scored, 1.0) + 0.01 if scored else 0.01, y, note, va="center", fontsize="x-small")
    ax.set_ylim(-0.6, len(rates) - 0.4)


def _bins(top: float) -> list[float]:
    """Bin edges from 0 to ``top``: one per point up to 40 points, else 25 equal bins."""
    if top <= 40 and float(top).is_integer():
        return [float(i) for i in range(int(top) + 1)]
    count = 25 if top > 40 else math.ceil(top)
    return [top * i / count for i in range(count + 1)]


def _points(top: float) -> str:
    if top <= 0:
        return "? pts"
    return f"{top:g} pt" if top == 1 else f"{top:g} pts"


def _number(value: str | None) -> float | None:
    """A CSV cell as a float, or None when it is empty or not a finite number."""
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
