"""Grading a batch of submissions (``course grade ASSIGNMENT``).

Layout (nbgrader's): ``submitted/STUDENT/ASSIGNMENT/*.ipynb`` in,
``autograded/STUDENT/ASSIGNMENT/`` and ``feedback/STUDENT/ASSIGNMENT/*.html``
out, scores in ``gradebook.db``; this module adds
``reports/grades-ASSIGNMENT.csv`` (one row per student, with a status) and
per-student logs in ``reports/logs/ASSIGNMENT/``. Its working files live in
``.grading/ASSIGNMENT/`` (git-ignored).

For each submission, :meth:`Batch.grade`:

1. decides ``missing``/``malformed`` before nbgrader sees the files
   (:mod:`autograder.intake`; a symbolic link is refused too);
2. builds a **private course root** ``.grading/A/STUDENT/``: a copy of the
   gradebook and the submitted notebook rebuilt on the release
   (:mod:`autograder.normalise`: deleted, duplicated or moved cells and edited
   metadata are put right), and scans it for code that tampers with the grader
   (:mod:`autograder.scan`, reported in the ``flags`` column);
3. hands it to the slot's worker (:mod:`autograder.worker`, a child process kept
   for the whole batch, :mod:`autograder.worker_process`) that runs nbgrader's
   ``Autograde`` (the kernel in :mod:`autograder.sandbox`, the test cells'
   verdicts in :mod:`autograder.verdict`) and ``GenerateFeedback``, under a
   wall-clock limit; a worker that overruns or dies is killed and replaced;
4. copies the student's results into the course's gradebook in one
   transaction (:mod:`autograder.gradebook_sync`) and their autograded notebook
   and feedback into ``autograded/`` and ``feedback/``, under a lock;
5. records the finished row in ``.grading/A/state/STUDENT.json`` together with
   a fingerprint of the submission, the assignment and the limits.

``--jobs N`` runs N of these at once (slot k runs its kernels as its own user,
see :mod:`autograder.sandbox`). Only finished rows are recorded, so a batch
that was interrupted (even by ``kill -9``) is finished by running it again:
rows whose fingerprint still matches are kept, the others are graded, and the
CSV is rewritten from the records after every submission.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .nbgrader_env import PipelineError, check_assignment, gradebook_url, source_notebooks
from .records import GradeResult, Records
from .report import write_csv
from .statuses import CRASHED, GRADED, TIMEOUT
from .worker_process import WorkerProcess

DEFAULT_TIMEOUT_S = 1800  # wall-clock seconds per notebook
DEFAULT_CELL_TIMEOUT_S = 300  # wall-clock seconds per cell (nbgrader's default of 30 s is too short for training)
DEFAULT_MEMORY_MB = 8192  # address space (RLIMIT_AS) of the kernel; TensorFlow needs 3-4 GB of it
DEFAULT_CPU_S = 1800  # CPU seconds (RLIMIT_CPU) of the kernel, all its threads together
DEFAULT_PROCESSES = 1024  # processes + threads of the kernel's user (RLIMIT_NPROC; needs the separate user)
DEFAULT_FILE_MB = 1024  # largest file the kernel may write (RLIMIT_FSIZE)
MAX_EXTRA_FILE_MB = 50  # files handed in beside the notebook that are larger are not copied
STARTUP_ALLOWANCE_S = 300  # on top of the notebook's limit: nbgrader, kernel start and feedback


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
class Limits:
    """What one submission may use. None means "no limit".

    The memory, CPU, process and file-size limits are set with ``setrlimit`` on
    the notebook's kernel (Linux; see :mod:`autograder.sandbox`). ``cell_s`` and
    ``notebook_s`` are wall-clock limits per cell and per notebook, enforced by
    the grading step; a cell that hits one is interrupted and the tests after it
    score 0.
    """

    memory_mb: int | None = DEFAULT_MEMORY_MB
    cpu_s: int | None = DEFAULT_CPU_S
    processes: int | None = DEFAULT_PROCESSES
    file_mb: int | None = DEFAULT_FILE_MB
    cell_s: int = DEFAULT_CELL_TIMEOUT_S
    notebook_s: int = DEFAULT_TIMEOUT_S

    def describe(self) -> str:
        parts = [
            f"{self.memory_mb} MB memory" if self.memory_mb else "no memory limit",
            f"{self.cpu_s} CPU s" if self.cpu_s else "no CPU limit",
            f"{self.processes} processes" if self.processes else "no process limit",
        ]
        times = f"{self.cell_s} s per cell, {self.notebook_s} s per notebook"
        return f"{', '.join(parts)} per kernel; {times}" if _LINUX else f"{times} (no memory/CPU limits: not Linux)"


_LINUX = sys.platform.startswith("linux")


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
        if student.is_dir() and not student.is_symlink() and (student / assignment).is_dir()
    ]


def inspect(submission: Submission, expected: list[str]) -> tuple[str | None, str]:
    """``(status, message)``: status None means "grade it" (see :mod:`autograder.intake`)."""
    from .intake import inspect as intake

    return intake(submission.folder, expected)


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


def _replace_tree(source: Path, dest: Path) -> None:
    """``dest`` becomes a copy of ``source`` (links copied as links, never followed)."""
    staging = dest.with_name(f".{dest.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, symlinks=True)
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, dest)


class Batch:
    """One ``course grade`` run: the shared set-up and :meth:`grade` for each submission."""

    def __init__(
        self,
        root: Path,
        assignment: str,
        *,
        limits: Limits | None = None,
        jobs: int = 1,
        regrade: bool = False,
        guard: bool = True,
        sandbox: bool = True,
    ) -> None:
        from course.data.sources import kit_folder

        from . import sandbox as sandbox_module

        self.root, self.assignment = Path(root).resolve(), assignment
        self.limits = limits or Limits()
        self.jobs, self.regrade, self.guard = max(1, int(jobs)), regrade, guard
        off = {name: False for name in ("limits", "user", "network", "files")}
        self.caps = sandbox_module.probe() if sandbox and _LINUX else off
        self.use_launcher = bool(sandbox and _LINUX)
        self.work = self.root / ".grading" / assignment
        self.states = self.work / "state"
        self.logs = self.root / "reports" / "logs" / assignment
        self.lock = threading.Lock()
        self.slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.jobs):
            self.slots.put(slot)
        self.workers = [WorkerProcess(self.root, self.logs / f"_worker{slot}.stderr") for slot in range(self.jobs)]
        self.cells: list[GradeCellInfo] = []
        self.uids: list[int] = []  # the sandbox users of the slots (claimed machine-wide in prepare)
        self._uid_locks: list = []
        self.expected = [p.stem for p in source_notebooks(self.root, assignment)]
        self.data_dir = kit_folder()  # absolute: the kernel works in another folder
        settings = (repr(asdict(self.limits)), f"guard {guard}", f"sandbox {sorted(self.caps.items())}")
        self.records = Records(self.states, self.root, assignment, settings)

    # -- set-up -----------------------------------------------------------------------------------
    def prepare(self, warn: Callable[[str], None]) -> None:
        """Register the assignment, snapshot the gradebook, clear what an interrupted run left."""
        from .release import ensure_registered
        from .sandbox import claim_uids, kill_user

        missing = [
            name for name in self.expected if not (self.root / "release" / self.assignment / f"{name}.ipynb").is_file()
        ]
        if missing:  # submissions are rebuilt on the release: without it nothing can be graded
            raise PipelineError(
                f"release/{self.assignment}/ lacks {', '.join(n + '.ipynb' for n in missing)}: "
                f"run `course release {self.assignment}` first"
            )
        warning = ensure_registered(self.root, self.assignment, self.logs / "_register.log")
        if warning:
            warn(warning)
        self._hold_batch_lock()
        self.cells = grade_cells(self.root, self.assignment)
        if self.caps["user"]:
            self.uids, self._uid_locks = claim_uids(self.jobs)
            for uid in self.uids:  # what an interrupted run left behind with these uids
                kill_user(uid)
        self.work.mkdir(parents=True, exist_ok=True)
        self.states.mkdir(exist_ok=True)
        for leftover in self.work.iterdir():
            if leftover.is_dir() and leftover.name != "state":
                shutil.rmtree(leftover, ignore_errors=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.root / "gradebook.db", self.work / "template.db")

    def _hold_batch_lock(self) -> None:
        """One batch per assignment and course root at a time (held until this process ends)."""
        import fcntl

        self.work.mkdir(parents=True, exist_ok=True)
        handle = open(self.work / ".lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise PipelineError(
                f"`course grade {self.assignment}` is already running on this course root ({owner})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._batch_lock = handle

    # -- one submission -----------------------------------------------------------------------------
    def _empty_result(self, student: str, status: str, message: str) -> GradeResult:
        return GradeResult(
            student,
            status,
            max_score=sum(c.max_score for c in self.cells),
            auto_max_score=sum(c.max_score for c in self.cells if c.autograded),
            message=message,
            cells={f"{c.notebook}:{c.grade_id}": 0.0 for c in self.cells},
        )

    def grade(self, submission: Submission) -> GradeResult:
        """Grade one submission (or return its record when nothing changed)."""
        if not self.regrade:
            kept = self.records.recorded(submission.student, submission.folder)
            if kept is not None:
                return kept
        started = time.monotonic()
        status, message = inspect(submission, self.expected)
        if status is not None:
            result = self._empty_result(submission.student, status, message)
            self._publish(submission.student, None)
        else:
            slot = self.slots.get()
            try:
                result = self._grade_in_slot(submission, slot, message)
            finally:
                self.slots.put(slot)
        result.seconds = round(time.monotonic() - started, 1)
        self.records.record(submission.folder, result)
        return result

    def _grade_in_slot(self, submission: Submission, slot: int, intake_message: str) -> GradeResult:
        from .sandbox import kill_user

        student = submission.student
        private = self.work / student
        shutil.rmtree(private, ignore_errors=True)
        flags = self._build_private_root(submission, private)
        uid = self.uids[slot] if self.uids else None
        job, runtime = self._write_job(private, student, uid)
        status, message, retry = self._run_worker(private, student, job, slot)
        kill_user(uid)
        if runtime is not None:
            shutil.rmtree(runtime, ignore_errors=True)
        result_file = private / "result.json"
        outcome = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else None
        merged = outcome is not None and outcome["autograde"]["ok"]
        result = self._empty_result(student, status, "; ".join(m for m in (intake_message, message) if m))
        result.flags, result.retry = flags, retry
        self._publish(student, private if merged else None, feedback_ok=bool(outcome and outcome["feedback"]["ok"]))
        if merged:
            scores = scores_from_gradebook(self.root, self.assignment, student, self.cells)
            result.score, result.auto_score = scores["score"], scores["auto_score"]
            result.needs_manual_grade, result.cells = scores["needs_manual_grade"], scores["cells"]
        shutil.rmtree(private, ignore_errors=True)
        return result

    def _build_private_root(self, submission: Submission, private: Path) -> str:
        """The private course root: gradebook copy + rebuilt notebooks. Returns the flags line."""
        from .normalise import normalise
        from .scan import assignment_shortcuts, scan_notebook, summarize

        folder = private / "submitted" / submission.student / self.assignment
        folder.mkdir(parents=True)
        private.chmod(0o711)
        shutil.copy2(self.work / "template.db", private / "gradebook.db")
        (private / "gradebook.db").chmod(0o600)
        notes, findings = [], []
        for name in self.expected:
            path = submission.folder / f"{name}.ipynb"
            if not path.is_file():
                continue
            submitted = nbformat.read(str(path), as_version=4)
            release = nbformat.read(str(self.root / "release" / self.assignment / f"{name}.ipynb"), as_version=4)
            rebuilt, repaired = normalise(submitted, release)
            notes += [f"{name}: {note}" if len(self.expected) > 1 else note for note in repaired]
            findings += scan_notebook(submitted, shortcuts=assignment_shortcuts(self.assignment))
            nbformat.write(rebuilt, str(folder / f"{name}.ipynb"))
        for extra in submission.folder.iterdir():  # data files the student handed in with the notebook
            if extra.suffix == ".ipynb" or not extra.is_file() or extra.is_symlink():
                continue
            if extra.stat().st_size > MAX_EXTRA_FILE_MB * 2**20:
                notes.append(f"ignored {extra.name} (over {MAX_EXTRA_FILE_MB} MB)")
                continue
            shutil.copy2(extra, folder / extra.name)
        scanned = summarize(findings)
        return "; ".join(part for part in (scanned and f"review: {scanned}", "; ".join(notes)) if part)

    def _write_job(self, private: Path, student: str, uid: int | None) -> tuple[Path, Path | None]:
        """The worker's job file, and the kernel's runtime folder (None without the launcher)."""
        from .sandbox import make_runtime_dir, prepare_home
        from .worker import Job

        limits = self.limits
        home = private / "home"
        prepare_home(home, uid)
        spec_path, runtime = None, None
        if self.use_launcher:
            spec = self._sandbox_spec(private, student, home, uid)
            runtime = make_runtime_dir(uid)
            spec.runtime = str(runtime)
            if spec.hide:
                spec.expose_rw.append(spec.runtime)
            spec_path = str(spec.write(private / "sandbox.json"))
        job = Job(
            course_root=str(self.root),
            private_root=str(private),
            assignment=self.assignment,
            student=student,
            log=str(self.logs / f"{student}.log"),
            kernel_log=str(self.logs / f"{student}.stderr"),
            cell_timeout_s=limits.cell_s,
            notebook_timeout_s=limits.notebook_s,
            memory_mb=limits.memory_mb or 0,
            sandbox_spec=spec_path,
            sandbox_uid=uid,
            guard=self.guard,
            # the id the submission is graded as: assignments with per-student numbers (theory_quiz) read it
            env={"COURSE_STUDENT_ID": student, **({"COURSE_DATA_DIR": str(self.data_dir)} if self.data_dir else {})},
        )
        return job.write(private / "job.json"), runtime

    def _sandbox_spec(self, private: Path, student: str, home: Path, uid: int | None):
        import autograder
        import course
        from course.data.sources import keras_cache_folder

        from .sandbox import Spec

        code = [Path(course.__file__).resolve().parent, Path(autograder.__file__).resolve().parent]
        hide, expose_ro = [], []
        if self.caps["files"]:
            hide = [str(self.root), str(Path.home())]
            for package in code:  # the repository the grader runs from (its source/, .git, ...)
                if (package.parent / "nbgrader_config.py").exists() or (package.parent / ".git").exists():
                    hide.append(str(package.parent))
            expose_ro = [str(p) for p in code] + [sys.prefix, sys.base_prefix]
            if self.data_dir:
                expose_ro.append(str(self.data_dir))
        keras_cache = keras_cache_folder()
        env = {}
        if keras_cache.is_dir():  # datasets the grader downloaded: the kernel reads them there
            expose_ro.append(str(keras_cache))
            env["KERAS_HOME"] = str(keras_cache.parent)
        workdir = private / "autograded" / student / self.assignment
        limits = self.limits
        return Spec(
            uid=uid,
            network=not self.caps["network"],
            hide=hide,
            expose_ro=expose_ro,
            expose_rw=[str(workdir), str(home)] if hide else [],
            private_tmp=bool(hide),
            memory_mb=limits.memory_mb,
            cpu_s=limits.cpu_s,
            nproc=limits.processes if uid is not None else None,
            fsize_mb=limits.file_mb,
            home=str(home),
            env=env,
        )

    def _run_worker(self, private: Path, student: str, job: Path, slot: int) -> tuple[str, str, bool]:
        """Run the job in the slot's worker; return ``(status, message, retry)`` (retry: the grader failed,
        not the notebook)."""
        wall = self.limits.notebook_s + STARTUP_ALLOWANCE_S
        (self.logs / f"{student}.stderr").write_text("", encoding="utf-8")  # the worker appends the job's output
        answer = self.workers[slot].grade(job, wall)
        if answer == "timeout":
            return TIMEOUT, f"grading took longer than {wall:g} s and was stopped", False
        result_file = private / "result.json"
        if not result_file.exists():
            return CRASHED, f"the grading process died; see {self.logs / student}.stderr", True
        outcome = json.loads(result_file.read_text(encoding="utf-8"))
        if not outcome["autograde"]["ok"]:
            return CRASHED, f"nbgrader could not autograde: {outcome['autograde']['error']}", False
        status, message = (outcome.get("stop") or GRADED), outcome.get("message", "")
        if message and status != GRADED:
            message += "; the tests that had not run score 0"
        if not outcome["feedback"]["ok"]:
            message = "; ".join(m for m in (message, f"feedback failed: {outcome['feedback']['error']}") if m)
        return status, message, False

    def _publish(self, student: str, private: Path | None, feedback_ok: bool = False) -> None:
        """Under the lock: the student's grades into the gradebook, their notebook and feedback into place."""
        from .gradebook_sync import drop_submission, merge_submission

        autograded = self.root / "autograded" / student / self.assignment
        feedback = self.root / "feedback" / student / self.assignment
        with self.lock:
            if private is None:
                drop_submission(gradebook_url(self.root), self.assignment, student)
                shutil.rmtree(autograded, ignore_errors=True)
                shutil.rmtree(feedback, ignore_errors=True)
                return
            merge_submission(
                gradebook_url(self.root), f"sqlite:///{private / 'gradebook.db'}", self.assignment, student
            )
            _replace_tree(private / "autograded" / student / self.assignment, autograded)
            if feedback_ok:
                _replace_tree(private / "feedback" / student / self.assignment, feedback)
            else:
                shutil.rmtree(feedback, ignore_errors=True)

    # -- the batch ----------------------------------------------------------------------------------
    def run(
        self,
        submissions: list[Submission],
        *,
        report: Path | None = None,
        on_start: Callable[[Submission], None] | None = None,
        on_done: Callable[[GradeResult], None] | None = None,
    ) -> list[GradeResult]:
        everyone = [s.student for s in discover(self.root, self.assignment)]

        def one(submission: Submission) -> GradeResult:
            if on_start:
                on_start(submission)
            try:
                result = self.grade(submission)
            except Exception as err:  # a bug or a broken file: that row, never the batch
                result = self._empty_result(
                    submission.student, CRASHED, f"the grader failed: {type(err).__name__}: {err}"
                )
                result.retry = True
                self.records.record(submission.folder, result)
            if report is not None:
                with self.lock:
                    write_csv(report, self.records.all_recorded(everyone))
            if on_done:
                on_done(result)
            return result

        try:
            if self.jobs == 1:
                return [one(s) for s in submissions]
            with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade") as pool:
                return list(pool.map(one, submissions))
        finally:
            self.close()

    def close(self) -> None:
        """End the slots' workers (a batch that is not closed ends them when this process ends)."""
        for worker in self.workers:
            worker.close()


def grade_batch(
    root: Path,
    assignment: str,
    *,
    limits: Limits | None = None,
    students: Iterable[str] | None = None,
    jobs: int = 1,
    regrade: bool = False,
    guard: bool = True,
    sandbox: bool = True,
    report: Path | None = None,
    on_start: Callable[[Submission], None] | None = None,
    on_done: Callable[[GradeResult], None] | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> list[GradeResult]:
    """Grade every submission of ``assignment`` (or only ``students``); see :class:`Batch`.

    ``guard=False`` runs test cells as nbgrader does (for demonstrations: see the
    tests); ``sandbox=False`` starts kernels without the launcher (no rlimits, no
    namespaces, the grader's user), as on a machine where none is available.
    ``report``: the CSV to rewrite after every submission (every student with a
    record, not only those graded now). ``on_start``/``on_done`` are called
    around each submission (progress display, from the grading threads);
    ``warn`` receives one-line warnings (e.g. a stale release)."""
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
    batch = Batch(root, assignment, limits=limits, jobs=jobs, regrade=regrade, guard=guard, sandbox=sandbox)
    batch.prepare(warn)
    return batch.run(submissions, report=report, on_start=on_start, on_done=on_done)
