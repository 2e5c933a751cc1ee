"""Grading a batch of submissions (``course grade ASSIGNMENT``).

Layout (nbgrader's): ``submitted/STUDENT/ASSIGNMENT/*.ipynb`` in,
``autograded/STUDENT/ASSIGNMENT/`` and ``feedback/STUDENT/ASSIGNMENT/*.html``
out, scores in ``gradebook.db``; this module adds
``reports/grades-ASSIGNMENT.csv`` and per-student logs in
``reports/logs/ASSIGNMENT/``.

Design, so that isolation, limits, ``--jobs`` and resuming can be added later:

1. :func:`discover` lists the submissions; :func:`inspect` looks at each one
   *before* nbgrader does and settles the cases nbgrader handles badly:
   ``missing`` (no notebook of the assignment submitted) and ``malformed``
   (a notebook that is not valid notebook JSON). Both score 0.
2. :func:`grade_one` grades one submission in a child process
   (``python -m autograder.worker``) under a wall-clock limit, and turns the
   outcome into a :class:`GradeResult`: ``graded``, ``crashed`` (nbgrader
   failed; score 0), ``timeout`` (the child was killed, or the notebook used
   up its CPU seconds; score 0) or ``memory`` (the notebook hit its memory
   limit; score 0). The child runs under :class:`Limits` (rlimits). It has no
   other side effects than nbgrader's own outputs and the student's log, so a
   pool of them can run in parallel and a finished row can be cached.
3. :func:`grade_batch` maps :func:`grade_one` over the submissions in order,
   never stopping on a bad one, and :func:`write_csv` writes the report.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import nbformat

from .nbgrader_env import PipelineError, check_assignment, gradebook_url, source_notebooks
from .worker import OUT_OF_MEMORY

GRADED, CRASHED, MALFORMED, MISSING, TIMEOUT, MEMORY = "graded", "crashed", "malformed", "missing", "timeout", "memory"
STATUSES = (GRADED, CRASHED, MALFORMED, MISSING, TIMEOUT, MEMORY)
DEFAULT_TIMEOUT_S = 1800
DEFAULT_MEMORY_MB = 8192  # address space (RLIMIT_AS) of the worker and, separately, of its kernel
DEFAULT_CPU_S = 1800  # CPU seconds (RLIMIT_CPU), counted per process: worker and kernel each
FIXED_COLUMNS = (
    "student",
    "status",
    "score",
    "max_score",
    "auto_score",
    "auto_max_score",
    "needs_manual_grade",
    "seconds",
    "message",
)


@dataclass
class Submission:
    student: str
    folder: Path


@dataclass
class GradeCellInfo:
    """One graded cell of the assignment (from the gradebook)."""

    notebook: str
    grade_id: str
    max_score: float
    autograded: bool  # an "autograder tests" cell (not a manually graded answer)


@dataclass
class GradeResult:
    student: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    auto_score: float = 0.0
    auto_max_score: float = 0.0
    needs_manual_grade: int = 0
    seconds: float = 0.0
    message: str = ""
    cells: dict[str, float | None] = field(default_factory=dict)  # "notebook:grade_id" -> score


# ----------------------------------------------------------------------------------------------
# what is there to grade


def discover(root: Path, assignment: str) -> list[Submission]:
    """Every ``submitted/STUDENT/ASSIGNMENT`` folder, by student id."""
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return [
        Submission(student.name, student / assignment)
        for student in sorted(submitted.iterdir())
        if (student / assignment).is_dir()
    ]


def inspect(submission: Submission, expected: list[str]) -> tuple[str | None, str]:
    """Decide ``missing`` / ``malformed`` before grading.

    Returns ``(status, message)``: status None means "grade it"; the message
    then names any missing notebooks (nbgrader scores those 0).
    """
    present = [name for name in expected if (submission.folder / f"{name}.ipynb").is_file()]
    if not present:
        return MISSING, f"no notebook submitted (expected {', '.join(n + '.ipynb' for n in expected)})"
    for name in present:
        path = submission.folder / f"{name}.ipynb"
        try:
            nb = nbformat.read(str(path), as_version=4)
            nbformat.validate(nb)
        except Exception as err:  # JSON errors, schema errors, unreadable files
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return MALFORMED, f"{name}.ipynb is not a valid notebook: {reason[:200]}"
    absent = [name for name in expected if name not in present]
    return None, (f"missing notebook(s) scored 0: {', '.join(absent)}" if absent else "")


# ----------------------------------------------------------------------------------------------
# the gradebook side


def grade_cells(root: Path, assignment: str) -> list[GradeCellInfo]:
    """The assignment's graded cells, in notebook order, from the gradebook and source."""
    from nbgrader.api import Gradebook

    order = {}
    for path in source_notebooks(root, assignment):
        nb = nbformat.read(str(path), as_version=4)
        for index, cell in enumerate(nb.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id:
                order[(path.stem, grade_id)] = index
    cells: list[GradeCellInfo] = []
    with Gradebook(gradebook_url(root)) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            manual = {c.name for c in notebook.solution_cells}
            for cell in notebook.grade_cells:
                cells.append(GradeCellInfo(notebook.name, cell.name, float(cell.max_score), cell.name not in manual))
    cells.sort(key=lambda c: (c.notebook, order.get((c.notebook, c.grade_id), 10**6), c.grade_id))
    return cells


def scores_from_gradebook(root: Path, assignment: str, student: str, cells: list[GradeCellInfo]) -> dict:
    """Scores of one graded student: totals plus one entry per graded cell."""
    from nbgrader.api import Gradebook

    by_key: dict[tuple[str, str], object] = {}
    with Gradebook(gradebook_url(root)) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                by_key[(notebook.name, grade.name)] = (grade.score, grade.auto_score, grade.needs_manual_grade)
    out = {"score": 0.0, "auto_score": 0.0, "needs_manual_grade": 0, "cells": {}}
    for cell in cells:
        score, auto, needs_manual = by_key.get((cell.notebook, cell.grade_id), (0.0, 0.0, False))
        key = f"{cell.notebook}:{cell.grade_id}"
        out["score"] += float(score or 0.0)
        if cell.autograded:
            out["auto_score"] += float(auto or 0.0)
        out["needs_manual_grade"] += int(bool(needs_manual))
        out["cells"][key] = None if needs_manual else float(score or 0.0)
    return out


# ----------------------------------------------------------------------------------------------
# grading


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the worker and everything it started (kernels run in sessions of their own)."""
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        children = []
    for child in children:
        try:
            child.kill()
        except Exception:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


@dataclass
class Limits:
    """Per-submission resource limits, set with ``setrlimit`` in the grading child.

    They are inherited by the notebook kernel the child starts, and count per
    process (the kernel gets its own ``memory_mb`` of address space and its own
    ``cpu_s`` CPU seconds). Linux only; elsewhere they are skipped. Not limited:
    the number of processes (``RLIMIT_NPROC`` counts per user and is not
    enforced for root), network access and which files the kernel can read or write.
    None means "no limit".
    """

    memory_mb: int | None = DEFAULT_MEMORY_MB
    cpu_s: int | None = DEFAULT_CPU_S

    def describe(self) -> str:
        memory = f"{self.memory_mb} MB memory" if self.memory_mb else "no memory limit"
        cpu = f"{self.cpu_s} CPU s" if self.cpu_s else "no CPU limit"
        return f"{memory}, {cpu} per process" if _CAN_LIMIT else "no memory/CPU limits (not Linux)"

    def preexec(self) -> Callable[[], None] | None:
        """A ``preexec_fn`` that applies the limits in the child (None where unsupported)."""
        if not _CAN_LIMIT or not (self.memory_mb or self.cpu_s):
            return None
        memory_mb, cpu_s = self.memory_mb, self.cpu_s

        def apply() -> None:
            import resource

            if memory_mb:
                size = memory_mb * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (size, size))
            if cpu_s:  # SIGXCPU at the soft limit, SIGKILL 5 s later should it be caught
                resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))

        return apply


_CAN_LIMIT = sys.platform.startswith("linux")


def run_worker(
    root: Path, assignment: str, student: str, timeout_s: float, log_dir: Path, limits: Limits | None = None
) -> tuple[str, str]:
    """Run ``python -m autograder.worker`` for one student; return ``(status, message)``."""
    limits = limits or Limits()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path, result_path = log_dir / f"{student}.log", log_dir / f"{student}.json"
    for path in (log_path, result_path):
        path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "autograder.worker", str(root), assignment, student,
               "--result", str(result_path), "--log", str(log_path),
               "--cpu-seconds", str(limits.cpu_s or 0)]  # fmt: skip
    with open(log_dir / f"{student}.stderr", "w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(command, cwd=root, stdout=stderr, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=limits.preexec())  # fmt: skip
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            return TIMEOUT, f"grading took longer than {timeout_s:g} s and was stopped"
    if not result_path.exists():
        if _CAN_LIMIT and limits.cpu_s and proc.returncode == -signal.SIGXCPU:
            return TIMEOUT, f"the grading process used up its {limits.cpu_s} CPU seconds and was stopped"
        return CRASHED, f"the grading process died (exit status {proc.returncode}); see {log_dir / student}.stderr"
    outcome = json.loads(result_path.read_text(encoding="utf-8"))
    if outcome.get("limit") == "memory":
        return MEMORY, f"the notebook ran out of memory (limit: {limits.memory_mb} MB) and was not graded"
    if outcome.get("limit") == "cpu":
        return TIMEOUT, f"the notebook used up its {limits.cpu_s} CPU seconds and was stopped"
    if not outcome["autograde"]["ok"]:
        died = (log_dir / f"{student}.stderr").read_text(encoding="utf-8", errors="replace")  # the kernel's too
        if limits.memory_mb and any(sign in died for sign in OUT_OF_MEMORY):
            return MEMORY, f"the notebook ran out of memory (limit: {limits.memory_mb} MB) and was not graded"
        return CRASHED, f"nbgrader could not autograde: {outcome['autograde']['error']}"
    if not outcome["feedback"]["ok"]:
        return GRADED, f"graded, but feedback failed: {outcome['feedback']['error']}"
    return GRADED, ""


def grade_one(
    root: Path,
    assignment: str,
    submission: Submission,
    cells: list[GradeCellInfo],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    limits: Limits | None = None,
) -> GradeResult:
    """Grade one submission (in a child process) and return its report row."""
    started = time.monotonic()
    expected = [p.stem for p in source_notebooks(root, assignment)]
    max_score = sum(c.max_score for c in cells)
    auto_max = sum(c.max_score for c in cells if c.autograded)
    result = GradeResult(submission.student, MISSING, max_score=max_score, auto_max_score=auto_max)
    status, message = inspect(submission, expected)
    if status is None:
        status, run_message = run_worker(root, assignment, submission.student, timeout_s,
                                         root / "reports" / "logs" / assignment, limits)  # fmt: skip
        message = "; ".join(m for m in (message, run_message) if m)
    result.status, result.message = status, message
    if status == GRADED:
        scores = scores_from_gradebook(root, assignment, submission.student, cells)
        result.score, result.auto_score = scores["score"], scores["auto_score"]
        result.needs_manual_grade, result.cells = scores["needs_manual_grade"], scores["cells"]
    else:
        result.cells = {f"{c.notebook}:{c.grade_id}": 0.0 for c in cells}
        # never leave an earlier run's feedback around for a submission that now scores 0
        shutil.rmtree(root / "feedback" / submission.student / assignment, ignore_errors=True)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def grade_batch(
    root: Path,
    assignment: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    limits: Limits | None = None,
    students: Iterable[str] | None = None,
    on_start: Callable[[Submission], None] | None = None,
    on_done: Callable[[GradeResult], None] | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[GradeResult]:
    """Grade every submission of ``assignment`` (or only ``students``), one after another.

    ``on_start``/``on_done`` are called around each submission (progress display);
    ``warn`` receives one-line warnings (e.g. a stale release)."""
    from .release import ensure_registered

    check_assignment(root, assignment)
    submissions = discover(root, assignment)
    if students is not None:
        wanted = set(students)
        unknown = wanted - {s.student for s in submissions}
        if unknown:
            raise PipelineError(f"no submission of '{assignment}' from: {', '.join(sorted(unknown))}")
        submissions = [s for s in submissions if s.student in wanted]
    if not submissions:
        raise PipelineError(f"nothing to grade: no folder submitted/*/{assignment} under {root}")
    warning = ensure_registered(root, assignment, root / "reports" / "logs" / assignment / "_register.log")
    if warning:
        warn(warning)
    cells = grade_cells(root, assignment)
    results = []
    for submission in submissions:
        if on_start:
            on_start(submission)
        result = grade_one(root, assignment, submission, cells, timeout_s=timeout_s, limits=limits)
        results.append(result)
        if on_done:
            on_done(result)
    return results


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
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        for student in sorted(rows):
            writer.writerow(rows[student])
    return path


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"
