"""Running nbgrader's converters on the course root, with the course's config.

The ``course`` command does not shell out to the ``nbgrader`` command (which
takes seconds just to start and reads user-level Jupyter config too): it loads
the project's ``nbgrader_config.py`` and runs nbgrader's converter classes
(``GenerateAssignment``, ``Autograde``, ``GenerateFeedback``) directly, with
their log going to a file. Grading still happens in a child process per
submission (see :mod:`autograder.batch`), so a crash never takes the batch down.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "nbgrader_config.py"

# nbgrader's gradebook code trips SQLAlchemy's "object not in session" warning on every
# submission it touches; it is harmless and would bury the grader's own output. Every
# gradebook the course opens is found through gradebook_url() below, in this module.
warnings.filterwarnings("ignore", message=r".*not in session.*")


class PipelineError(Exception):
    """A failure the ``course`` command reports as one clear line (no traceback)."""


# ----------------------------------------------------------------------------------------------
# the course root and its assignments


def find_course_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding
    ``nbgrader_config.py``: the course root that nbgrader's folders live in."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise PipelineError(
        f"no course root found: neither {here} nor a folder above it holds {CONFIG_FILE} "
        "(run the command inside the course repository or pass --root)"
    )


def assignments(root: Path) -> list[str]:
    """Names of the assignments in ``source/`` (folders holding at least one notebook)."""
    source = root / "source"
    if not source.is_dir():
        raise PipelineError(f"no source folder: {source} does not exist (assignments live in source/NAME/)")
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def check_assignment(root: Path, name: str) -> str:
    """Return ``name`` if ``source/NAME`` holds notebooks, else raise a clear error."""
    known = assignments(root)
    if name not in known:
        listed = ", ".join(known) if known else "none"
        raise PipelineError(f"unknown assignment '{name}': source/ has {listed}")
    return name


def source_notebooks(root: Path, assignment: str) -> list[Path]:
    """The assignment's notebooks in ``source/ASSIGNMENT``, sorted."""
    return sorted((root / "source" / assignment).glob("*.ipynb"))


# ----------------------------------------------------------------------------------------------
# config and converters


def load_config(root: Path):
    """The course's nbgrader config (only ``ROOT/nbgrader_config.py``), rooted at ``root``."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    except ConfigFileNotFound as err:
        raise PipelineError(f"{root / CONFIG_FILE} is missing") from err
    config.CourseDirectory.root = str(root)
    return config


def gradebook_url(root: Path) -> str:
    """The gradebook's SQLAlchemy URL (``sqlite:///ROOT/gradebook.db`` unless configured)."""
    ensure_tools_on_path()
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=load_config(root)).db_url


@dataclass
class ConverterResult:
    """What one nbgrader converter run did: ``ok``, and if not, ``error`` (one line)."""

    ok: bool
    error: str = ""


def _last_error_line(log_text: str, exc: BaseException | None) -> str:
    """A one-line reason: nbgrader's most telling ERROR log line, else the exception."""
    errors = [
        line.split("] ", 1)[-1].strip()
        for line in log_text.splitlines()
        if line.startswith("[ERROR]") and "traceback" not in line.lower()
    ]
    # nbgrader ends with a generic "see the above traceback" line; prefer the specific one.
    specific = [e for e in errors if not re.match(r"(Please see|There was an error processing assignment ')", e)]
    if specific:
        return specific[0]
    if exc is not None and str(exc):
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return errors[0] if errors else (type(exc).__name__ if exc else "unknown nbgrader error")


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin`` folder on ``PATH``.

    nbgrader runs the ``alembic`` command (installed beside it) to open the
    gradebook; when ``course`` is started as ``.venv/bin/course`` without
    activating the environment, that folder is not on ``PATH``.
    """
    tools = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if tools not in parts:
        os.environ["PATH"] = os.pathsep.join([tools, *filter(None, parts)])


def run_converter(
    converter: str,
    root: Path,
    assignment: str,
    student: str = ".",
    *,
    log_path: Path | None = None,
    force: bool = True,
    coursedir_overrides: dict[str, Any] | None = None,
    config=None,
    **traits: Any,
) -> ConverterResult:
    """Run one nbgrader converter (``"GenerateAssignment"``, ``"Autograde"``,
    ``"GenerateFeedback"``) for one assignment (and student), in this process.

    Its log is appended to ``log_path`` (or dropped); failures come back as a
    :class:`ConverterResult` rather than an exception. ``config`` replaces the
    course's config (the grading worker passes one pointed at a private root).
    """
    import nbgrader.converters as converters
    from nbgrader.coursedir import CourseDirectory
    from traitlets.log import get_logger

    ensure_tools_on_path()

    config = load_config(root) if config is None else config
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = student
    for name, value in (coursedir_overrides or {}).items():
        setattr(coursedir, name, value)

    logger = get_logger()
    handler: logging.Handler
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, encoding="utf-8")
    else:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s", "%H:%M:%S"))
    captured = _ListHandler()
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.addHandler(captured)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    exc: BaseException | None = None
    try:
        app = getattr(converters, converter)(coursedir=coursedir, config=config)
        app.force = force
        for name, value in traits.items():
            setattr(app, name, value)
        app.start()
    except Exception as err:  # nbgrader raises NbGraderException and friends
        exc = err
    finally:
        logger.removeHandler(handler)
        logger.removeHandler(captured)
        handler.close()
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    if exc is None:
        return ConverterResult(True)
    return ConverterResult(False, _last_error_line(captured.text(), exc))


class _ListHandler(logging.Handler):
    """Keeps formatted log records in memory (for the one-line error summary)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)
