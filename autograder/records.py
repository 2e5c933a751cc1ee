"""What a grading batch remembers between runs: one finished row per student, with a fingerprint.

A row is recorded in ``.grading/ASSIGNMENT/state/STUDENT.json`` when the
student's submission is done, together with a fingerprint of everything the
result depends on:

* the student's files (the submission folder);
* the assignment: its source notebooks (hidden tests included), its release
  notebooks (submissions are rebuilt on them) and ``nbgrader_config.py``;
* all the code that runs while grading: every module of the ``autograder``
  package and every module of the ``course`` package, since a test cell can
  call anything in ``course`` (``course.grading.*``, ``course.data``,
  ``course.train``...), so a fix to a check regrades everyone;
* the settings: :data:`HARNESS_VERSION`, the limits, guard and sandbox.

Running the batch again keeps a row only while its fingerprint still matches,
so an interrupted batch resumes and anything that changed is graded again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

HARNESS_VERSION = 4  # part of every fingerprint: bump it to regrade everything for a reason the files do not show


@dataclass
class GradeResult:
    """One student's row of the report."""

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
    flags: str = ""  # what the grader had to repair, and code worth a look (autograder.scan)
    reused: bool = False  # kept from an earlier run (same fingerprint)
    retry: bool = False  # the grader itself failed (not the submission): grade it again next run


def digest(paths: Iterable[Path], *extra: str) -> str:
    """A SHA-256 over ``extra`` and the file names and bytes of ``paths`` (links and folders count as such)."""
    hasher = hashlib.sha256()
    for item in extra:
        hasher.update(item.encode() + b"\0")
    for path in paths:
        hasher.update(path.name.encode() + b"\0")
        try:
            hasher.update(path.read_bytes() if path.is_file() and not path.is_symlink() else b"<not a file>")
        except OSError:
            hasher.update(b"<unreadable>")
    return hasher.hexdigest()


def code_files() -> dict[str, Path]:
    """Every Python file of the ``autograder`` and ``course`` packages (the code that grades, and the code
    a test cell can import), by its name inside the packages' folder (``course/grading/core.py``)."""
    import autograder
    import course

    files: dict[str, Path] = {}
    for package in (autograder, course):
        folder = Path(package.__file__).resolve().parent
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[path.relative_to(folder.parent).as_posix()] = path
    return files


def assignment_files(root: Path, assignment: str) -> list[Path]:
    """The files that define an assignment's grading: source and release notebooks, nbgrader's config."""
    source = sorted((root / "source" / assignment).glob("*.ipynb"))
    release = sorted((root / "release" / assignment).glob("*.ipynb"))
    return [*source, *release, root / "nbgrader_config.py"]


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a ``kill -9``) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Records:
    """The finished rows of one assignment's batches, in ``folder`` (``.grading/ASSIGNMENT/state``)."""

    def __init__(self, folder: Path, root: Path, assignment: str, settings: Iterable[str] = ()) -> None:
        self.folder = folder
        code = code_files()
        self.batch_digest = digest(
            [*assignment_files(root, assignment), *code.values()], f"harness {HARNESS_VERSION}", *settings, *code
        )

    def fingerprint(self, student: str, folder: Path) -> str:
        """What the row of ``student``, who handed in ``folder``, depends on."""
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        return digest(files, self.batch_digest, student)

    def recorded(self, student: str, folder: Path) -> GradeResult | None:
        """The recorded row, if its fingerprint still matches and it is not marked for a retry."""
        try:
            state = json.loads((self.folder / f"{student}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if state.get("fingerprint") != self.fingerprint(student, folder):
            return None
        result = GradeResult(**state["result"])
        if result.retry:
            return None
        result.reused = True
        return result

    def record(self, folder: Path, result: GradeResult) -> None:
        state = {"fingerprint": self.fingerprint(result.student, folder), "result": {**asdict(result), "reused": False}}
        atomic_write(self.folder / f"{result.student}.json", json.dumps(state, indent=1))

    def all_recorded(self, students: Iterable[str]) -> list[GradeResult]:
        """Every recorded row of ``students`` (matching or not), sorted by student."""
        results = []
        for student in sorted(students):
            path = self.folder / f"{student}.json"
            if path.exists():
                try:
                    results.append(GradeResult(**json.loads(path.read_text(encoding="utf-8"))["result"]))
                except (OSError, ValueError, TypeError):
                    continue
        return results
