"""The student edition of the course (``course student-edition [DEST]``).

This repository is the instructor's: ``source/`` holds every solution and hidden
test, ``solutions/<assignment>/`` the executed solutions, ``autograder/fixtures/``
the sample submissions. Students get a copy without any of it, written into DEST
(default ``build/student-edition/``), laid out to be pushed as a git repository
of its own or zipped for an LMS (``--zip`` writes ``DEST.zip``):

* ``release/`` (every assignment's student version, as committed), ``notebooks/``
  (the lectures, without outputs), the ``course`` library, ``requirements.txt``
  (the same pins; ``-e .`` installs the student package), and, unless
  ``handouts=False``, the lecture handouts (``solutions/*.ipynb|html``, lectures
  only) in ``handouts/``;
* generated here: a ``pyproject.toml`` for the package ``course`` alone (the same
  dependency floors, no ``autograder``, no ``course`` command), a short
  ``README.md`` for students, a ``Makefile`` (``make setup``, ``make check``, ``make lab``) and a
  ``.gitignore``.

In a git checkout only the files git tracks are copied (:func:`tracked_files`), so a
file the instructor never committed stays behind and is listed in the summary.

Everything written is then scanned (:func:`verify`): a forbidden path
(:data:`FORBIDDEN`), a file holding an nbgrader region delimiter (solution,
hidden tests, mark scheme: :data:`autograder.cells.MARKERS`) or the text of an
answer (a solution, a hidden test line, the answer key's code:
:mod:`autograder.answer_texts`) fails the build, and DEST is removed again, so a
leaking edition is never left behind to publish.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from .answer_texts import Answer, answer_texts, leaks
from .cells import MARKERS
from .nbgrader_env import PipelineError
from .questions import questions_table

DEFAULT_DEST = Path("build") / "student-edition"
IGNORED = ("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")

#: What the instructor's repository holds and the edition never does, with the reason (top-level names).
FORBIDDEN: dict[str, str] = {
    "source": "assignment sources: solutions and hidden tests",
    "solutions": "executed assignment solutions (only lecture handouts ship, in handouts/)",
    "autograder": "the grader, and sample submissions with their solution.json",
    "tests": "the instructor's test suite, which reads source/ and the fixtures",
    "bench": "the instructor's benchmarks",
    "gradebook.db": "nbgrader's gradebook",
    "nbgrader_config.py": "the nbgrader course root's configuration (instructor only)",
    ".ci": "the course's CI scripts",
}
#: File names that are forbidden at any depth.
FORBIDDEN_NAMES = ("gradebook.db", "nbgrader_config.py", "solution.json")

_SETUP = "python -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python -m course.lab_setup"

README_TEMPLATE = """\
# {title} (student edition)

An open, hands-on course on convolutional networks: lectures as Jupyter notebooks
with runnable demos, autograded assignments, and a small Python library (`course/`)
that the notebooks import instead of repeating code.

## The ten questions

{questions}

Lectures are in `notebooks/`{handouts}; assignments are in `release/<assignment>/`.

## Setup

Python 3.10-3.12, from this folder:

```bash
{setup}   # or: make setup
make check              # a minute: lecture 01 in smoke mode, so you know the setup works
.venv/bin/jupyter lab   # or: make lab
```

`requirements.txt` pins every package and installs the `course` library from this
folder (`-e .`). GPU users: install `tensorflow[and-cuda]` at the pinned version
in the same environment.

## Data

The notebooks load their datasets with `course.data`, offline first: set
`COURSE_DATA_DIR` to the course's offline data kit if your instructor gave you one
(`export COURSE_DATA_DIR=/path/to/data` before `jupyter lab`), otherwise the
loaders use the Keras cache and the official downloads. Each loader prints where
its data came from.

## Working on an assignment

1. Read the lectures, then open the assignment, e.g. `release/lenet5/lenet5.ipynb`.
2. Write your code where it says `# YOUR CODE HERE` and your answers where it says
   `YOUR ANSWER HERE`. Do not delete or copy cells: the grader finds them by their ids.
3. Run the test cells as you go: these visible tests give instant feedback.
   Restart the kernel and run all cells before you submit.
4. Every notebook starts with a `parameters` cell: the defaults give the real
   result, `SMOKE = True` a quick run that only checks the code works.
5. The theory quiz (`release/theory_quiz/`) gives each student their own numbers:
   set `STUDENT_ID` in its parameters cell to the id you submit under.

Your submission is graded with hidden tests as well as the visible ones, so make
your code correct, not just good enough for the visible checks.

## Licence

{licence}
"""

MAKEFILE = """\
# `make setup` once, `make check` to see that it works, then `make lab`.
PYTHON ?= python3
VENV   ?= .venv

.PHONY: setup check lab

setup:
\ttest -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
\t$(VENV)/bin/python -m pip install -r requirements.txt
\t$(VENV)/bin/python -m course.lab_setup

check:
\tmkdir -p build
\tCOURSE_SMOKE=1 $(VENV)/bin/papermill --cwd notebooks -p SMOKE True \\
\t\tnotebooks/01_cnn_vs_fc.ipynb build/check-01_cnn_vs_fc.ipynb
\t@echo "the setup works: lecture 01 ran in smoke mode (build/check-01_cnn_vs_fc.ipynb)"

lab:
\t$(VENV)/bin/jupyter lab
"""

GITIGNORE = "\n".join([".venv/", "__pycache__/", "*.egg-info/", ".ipynb_checkpoints/", "build/", ""])

REQUIREMENTS_HEADER = """\
# Exact pins for the course (Python 3.10-3.12, CPU). `pip install -r requirements.txt`
# installs everything, the course library included (editable, from this folder).
"""


@dataclass
class Edition:
    dest: Path
    files: list[str] = field(default_factory=list)  # relative to dest, sorted
    size: int = 0  # bytes
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (path in the repository, why)
    zip_path: Path | None = None


# -- where it goes ---------------------------------------------------------------------------------


def check_destination(root: Path, dest: Path, *, force: bool = False, zip_too: bool = False) -> None:
    """Refuse a DEST inside the repository other than under build/, and an existing one without ``force``."""
    root, dest = root.resolve(), dest.resolve()
    if dest == root or root.is_relative_to(dest):
        raise PipelineError(f"{dest} holds the course repository; choose a folder outside it or under build/")
    if dest.is_relative_to(root):
        rel = dest.relative_to(root)
        if rel.parts[0] != "build" or len(rel.parts) < 2:
            raise PipelineError(
                f"{rel} is inside the course repository; write the student edition under build/ or outside it"
            )
    if dest.exists() and not dest.is_dir():
        raise PipelineError(f"{dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise PipelineError(f"{dest} is not empty; rerun with --force to replace it")
    if zip_too and zip_of(dest).exists() and not force:
        raise PipelineError(f"{zip_of(dest)} exists; rerun with --force to replace it")


def zip_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".zip")


# -- what goes in ----------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    """The files under ``folder``, caches and checkpoints (:data:`IGNORED`) left out."""
    return [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and not any(fnmatch(part, pattern) for part in path.relative_to(folder).parts for pattern in IGNORED)
    ]


def tracked_files(root: Path) -> set[str] | None:
    """The files git tracks in ``root`` (relative paths), or None when ``root`` is not a git checkout.

    In a checkout the edition copies only these: a scratch notebook with answers pasted in, or any other
    file the instructor never committed, stays behind."""
    import subprocess

    if not (root / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {name for name in proc.stdout.decode("utf-8", errors="replace").split("\0") if name}


def copied_files(root: Path, handouts: bool = True) -> dict[str, Path]:
    """What the edition copies from the repository: {path in the edition: path in the repository}
    (in a git checkout, only files git tracks: :func:`tracked_files`)."""
    for needed in ("release", "notebooks", "course", "requirements.txt", "pyproject.toml"):
        if not (root / needed).exists():
            raise PipelineError(f"the course repository {root} holds no {needed}")
    copies = {}
    for folder in ("release", "notebooks", "course"):
        for path in _files(root / folder):
            copies[str(path.relative_to(root))] = path
    missing = [
        p.name for p in sorted((root / "source").glob("*")) if p.is_dir() and not (root / "release" / p.name).is_dir()
    ]
    if missing:
        raise PipelineError(f"release/ lacks {', '.join(missing)}: run `course release` first")
    if handouts:
        lectures = {p.stem for p in (root / "notebooks").glob("*.ipynb")}
        for path in sorted((root / "solutions").glob("*")):
            if path.is_file() and path.suffix in (".ipynb", ".html") and path.stem in lectures:
                copies[f"handouts/{path.name}"] = path
    tracked = tracked_files(root)
    if tracked is not None:
        copies = {rel: path for rel, path in copies.items() if str(path.relative_to(root)) in tracked}
    return copies


def untracked(root: Path, handouts: bool = True) -> list[str]:
    """Files the edition would copy outside a git checkout, but leaves behind because git does not track them."""
    tracked = tracked_files(root)
    if tracked is None:
        return []
    folders = ["release", "notebooks", "course"] + (["solutions"] if handouts else [])
    candidates = [path for folder in folders if (root / folder).is_dir() for path in _files(root / folder)]
    return sorted(rel for rel in (str(p.relative_to(root)) for p in candidates) if rel not in tracked)


def left_out(root: Path, handouts: bool = True) -> list[tuple[str, str]]:
    """The instructor-only parts present in ``root``, each with why it stays behind."""
    out = [(name + ("/" if (root / name).is_dir() else ""), why) for name, why in FORBIDDEN.items()]
    out = [(name, why) for name, why in out if (root / name.rstrip("/")).exists()]
    if not handouts and (root / "solutions").is_dir():
        out = [(n, w if n != "solutions/" else "handouts left out (--no-handouts)") for n, w in out]
    out.append(("README.md, Makefile", "the instructor's; the edition has its own"))
    why = "not tracked by git: only what the repository holds goes to students"
    out += [(name, why) for name in untracked(root, handouts)]
    return out


def _string(text: str, key: str, default: str = "") -> str:
    match = re.search(rf'^{re.escape(key)}\s*=\s*"([^"]*)"', text, re.M)
    return match.group(1) if match else default


def _list(text: str, key: str) -> list[str] | None:
    match = re.search(rf"^{re.escape(key)}\s*=\s*\[(.*?)\]", text, re.M | re.S)
    return re.findall(r'"([^"]+)"', match.group(1)) if match else None


def _toml_list(items: list[str]) -> str:
    return "[\n" + "".join(f'    "{item}",\n' for item in items) + "]"


def student_pyproject(instructor: str) -> str:
    """A pyproject.toml for the package ``course`` alone, with the instructor's dependency floors."""
    dependencies = _list(instructor, "dependencies")
    if dependencies is None:
        raise PipelineError("pyproject.toml has no dependencies list to copy the floors from")
    extras = {name: _list(instructor, name) for name in ("tensorflow", "serve")}
    lines = [
        "[build-system]",
        'requires = ["setuptools>=77"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f'name = "{_string(instructor, "name", "cnn-course")}"',
        f'version = "{_string(instructor, "version", "0.1.0")}"',
        'description = "CNN Architectures in Practice: the library behind the course notebooks (student edition)"',
        'readme = "README.md"',
        f'requires-python = "{_string(instructor, "requires-python", ">=3.10")}"',
        f'license = "{_string(instructor, "license", "MIT")}"',
        f"dependencies = {_toml_list(dependencies)}",
        "",
        "[project.optional-dependencies]",
        *(f"{name} = {_toml_list(items)}" for name, items in extras.items() if items),
        "",
        "[tool.setuptools.packages.find]",
        'include = ["course*"]',
        "",
    ]
    return "\n".join(lines)


def student_requirements(instructor: str) -> str:
    """The instructor's pins with a student header (their own comment lines at the top replaced)."""
    body = instructor.splitlines(keepends=True)
    while body and body[0].startswith("#"):
        body.pop(0)
    text = REQUIREMENTS_HEADER + "".join(body)
    if "autograder" in text:
        raise PipelineError("requirements.txt names autograder; the student edition cannot install it")
    if not any(line.strip() in ("-e .", ".") for line in text.splitlines()):
        text += "-e .\n"
    return text


def student_readme(root: Path, handouts: bool = True) -> str:
    readme = (root / "README.md").read_text(encoding="utf-8") if (root / "README.md").is_file() else ""
    title = (re.search(r"^# (.+)$", readme, re.M) or [None, "CNN Architectures in Practice"])[1]
    licence = _string((root / "pyproject.toml").read_text(encoding="utf-8"), "license", "MIT")
    return README_TEMPLATE.format(
        title=title.strip(),
        questions=questions_table(readme),
        handouts=" (executed, with their figures, in `handouts/`)" if handouts else "",
        setup=_SETUP,
        licence=f"{licence} (see `pyproject.toml`).",
    )


def generated_files(root: Path, handouts: bool = True) -> dict[str, str]:
    """The files written from templates here: {path in the edition: text}."""
    return {
        "README.md": student_readme(root, handouts),
        "pyproject.toml": student_pyproject((root / "pyproject.toml").read_text(encoding="utf-8")),
        "requirements.txt": student_requirements((root / "requirements.txt").read_text(encoding="utf-8")),
        "Makefile": MAKEFILE,
        ".gitignore": GITIGNORE,
    }


# -- the check ------------------------------------------------------------------------------------


def verify(dest: Path, answers: list[Answer] = ()) -> list[str]:
    """Every problem in the edition at ``dest``: forbidden paths, files holding a region delimiter, and
    files holding one of ``answers`` (:func:`autograder.answer_texts.answer_texts`)."""
    problems = []
    lectures = {p.stem for p in (dest / "notebooks").glob("*.ipynb")}
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        rel = path.relative_to(dest)
        if rel.parts[0] in FORBIDDEN or path.name in FORBIDDEN_NAMES:
            problems.append(f"{rel}: forbidden path ({FORBIDDEN.get(rel.parts[0], 'instructor only')})")
            continue
        if rel.parts[0] == "handouts" and (len(rel.parts) != 2 or path.stem not in lectures):
            problems.append(f"{rel}: not a lecture handout (executed assignment solutions never ship)")
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found = [marker for marker in MARKERS if marker in text]
        if found:
            problems.append(f"{rel}: holds {', '.join(repr(m) for m in found)}")
    return problems + leaks(dest, list(answers))


# -- the build ------------------------------------------------------------------------------------


def write_zip(dest: Path) -> Path:
    """``DEST.zip``: every file of DEST under the folder name DEST's name."""
    target = zip_of(dest)
    target.unlink(missing_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in dest.rglob("*") if p.is_file()):
            archive.write(path, f"{dest.name}/{path.relative_to(dest).as_posix()}")
    return target


COLAB_CELL = """\
# On Google Colab only: install the course library from the student edition (elsewhere this cell does nothing).
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{requirement}"], check=True)
"""


def add_colab_cells(dest: Path, repository: str, branch: str = "main") -> list[str]:
    """Give every notebook of the edition at ``dest`` a code cell after its title cell that, on Colab only, installs the
    ``course`` library from the edition's GitHub repository (``OWNER/NAME``); return the notebooks changed.
    The handout site's "Open in Colab" links (:mod:`autograder.site_build`) open these copies."""
    import nbformat

    requirement = f"cnn-course @ git+https://github.com/{repository}@{branch}"
    changed = []
    for path in sorted(list((dest / "notebooks").glob("*.ipynb")) + list((dest / "release").glob("*/*.ipynb"))):
        nb = nbformat.read(str(path), as_version=4)
        cell = nbformat.v4.new_code_cell(COLAB_CELL.format(requirement=requirement))
        cell.id = "colab-install"
        title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(title + 1, cell)
        nbformat.write(nb, str(path))
        changed.append(str(path.relative_to(dest)))
    return changed


def build(
    root: Path,
    dest: Path,
    *,
    force: bool = False,
    zip_too: bool = False,
    handouts: bool = True,
    repository: str | None = None,
    branch: str = "main",
) -> Edition:
    """Write the student edition of the course at ``root`` into ``dest`` (see the module docs); with
    ``repository`` (where the edition will be pushed), each notebook can install the library on Colab."""
    root, dest = root.resolve(), dest.resolve()
    if repository and not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise PipelineError(f"--repository must be a GitHub OWNER/NAME, not {repository!r}")
    check_destination(root, dest, force=force, zip_too=zip_too)
    copies = copied_files(root, handouts)
    generated = generated_files(root, handouts)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        for rel, source in copies.items():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
        for rel, text in generated.items():
            (dest / rel).write_text(text, encoding="utf-8")
        if repository:
            add_colab_cells(dest, repository, branch)
        problems = verify(dest, answer_texts(root))
        if problems:
            raise PipelineError(
                f"the student edition would leak, so nothing was kept: {'; '.join(problems[:5])}"
                f"{' ...' if len(problems) > 5 else ''} ({len(problems)} problem(s) in all)"
            )
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    edition = Edition(dest, files, sum((dest / f).stat().st_size for f in files), left_out(root, handouts))
    if zip_too:
        edition.zip_path = write_zip(dest)
    return edition
