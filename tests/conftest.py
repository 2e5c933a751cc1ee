"""Shared fixtures: the course root, temporary copies of it, and running the ``course`` command."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course_root() -> Path:
    """The repository root, which is also the nbgrader course root."""
    return ROOT


def copy_course(dest: Path, parts: tuple[str, ...] = ("source", "release")) -> Path:
    """Copy ``nbgrader_config.py`` and the folders ``parts`` of the course into ``dest``.

    The copy is a course root of its own (nbgrader_config.py roots nbgrader at the
    folder holding it), with its own gradebook; the ``course`` and ``autograder``
    packages still come from the installed project.
    """
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    for part in parts:
        if (ROOT / part).exists():
            shutil.copytree(
                ROOT / part, dest / part, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
            )
    return dest


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory):
    """A factory: ``course_copy(parts=("source", "release"))`` -> a new temporary course root
    (session-scoped, so module-scoped fixtures can use it too)."""

    def make(parts: tuple[str, ...] = ("source", "release"), name: str = "course") -> Path:
        return copy_course(tmp_path_factory.mktemp(name) / "course", parts)

    return make


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for ``course`` subprocesses: quiet TensorFlow, the offline data kit."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    kit = ROOT.parent / "shared" / "data"
    if "COURSE_DATA_DIR" not in env and kit.is_dir():
        env["COURSE_DATA_DIR"] = str(kit)
    env.pop("COURSE_SMOKE", None)
    env.pop("NBGRADER_EXECUTION", None)
    env.update(extra)
    return env


def run_course(*args: str, cwd: Path | None = None, timeout: float = 600, **env: str):
    """Run ``python -m autograder.cli ARGS`` (what the ``course`` script runs) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=cwd or ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def course_cli():
    """``course_cli("release", "--root", path)`` -> CompletedProcess (stdout/stderr captured)."""
    return run_course


def isolate_data(monkeypatch, tmp_path) -> None:
    """For course.data tests: a private HOME and Keras cache, no kit, offline, and a network that fails
    the test if used (call ``course.data.clear_cache()`` before and after)."""
    import course.data as data

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")

    def no_network(url, timeout):
        pytest.fail(f"unexpected network access to {url}")

    monkeypatch.setattr(data.download, "_urlopen", no_network)


def grade_samples(course_copy, course_cli, assignment: str, limits: tuple[str, ...], timeout: float = 1200):
    """Build ``assignment``'s sample submissions in a fresh copy of the course and grade them in one
    ``course grade`` batch with ``limits``; returns ``(course root, {student: row of the CSV report})``."""
    import csv

    from autograder.samples import build_submissions, load_samples

    root = course_copy(("source", "release"), name=assignment.replace("_", "-"))
    build_submissions(root, assignment, load_samples(assignment))
    proc = course_cli("grade", assignment, "--root", str(root), *limits, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "reports" / f"grades-{assignment}.csv", newline="", encoding="utf-8") as handle:
        return root, {row["student"]: row for row in csv.DictReader(handle)}


def assert_graded_as_expected(root: Path, assignment: str, row: dict, sample, auto_max: float, max_score: float):
    """One CSV row of :func:`grade_samples` against its sample's ``expect``: status, maxima, the autograded
    score, the failing test cells at 0 and every other autograded test at its full points, exact ``cells``."""
    from autograder.batch import grade_cells

    expect = sample.expect
    assert row["status"] == expect["status"], row
    assert float(row["auto_max_score"]) == auto_max and float(row["max_score"]) == max_score, row
    wanted = expect["auto_score"]
    assert float(row["auto_score"]) == {"full": auto_max, "zero": 0.0}.get(wanted, wanted), row
    if "failing" in expect:
        for cell in grade_cells(root, assignment):
            if cell.autograded:
                full = 0 if cell.grade_id in expect["failing"] else cell.max_score
                assert float(row[cell.grade_id]) == full, f"{cell.grade_id}: {row}"
    for grade_id, score in expect.get("cells", {}).items():
        assert float(row[grade_id]) == score, f"{grade_id}: {row}"


#: Debian's Chromium for the browser test (``COURSE_CHROMIUM`` names another); ``None`` where there is none.
CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
#: Whether test_browser.py can run here: Chromium and the ``playwright`` package.
BROWSER = bool(CHROMIUM) and importlib.util.find_spec("playwright") is not None


def _student_env() -> dict[str, str]:
    """A student's environment: no PYTHONPATH, no virtual environment active, nothing of this repository;
    only HOME (pip's cache), PATH, the data kit and the package index come along."""
    ours = subprocess_env()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    for name in ("COURSE_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if name in ours:
            env[name] = ours[name]
    return env


def run_as_student(command: list[str], cwd: Path, timeout: float, **extra: str) -> subprocess.CompletedProcess:
    """Run ``command`` in :func:`_student_env` (plus ``extra``), capturing its output."""
    return subprocess.run(
        command, cwd=cwd, env={**_student_env(), **extra}, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def installed_edition(tmp_path_factory):
    """The student edition (no handouts), installed by its own ``make setup`` in a fresh virtual
    environment, as a student would (about 90 s with pip's cache warm); its folder."""
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed: the student edition's setup command needs it")
    dest = tmp_path_factory.mktemp("student") / "cnn-course-student"
    proc = run_course("student-edition", str(dest), "--no-handouts", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_as_student(["make", "setup"], dest, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return dest
