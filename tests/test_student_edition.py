"""``course student-edition``: the course without answers, for students."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.answer_texts import answer_texts
from autograder.cells import MARKERS
from autograder.student_edition import FORBIDDEN

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = {"release", "notebooks", "course", "handouts", "README.md", "requirements.txt", "pyproject.toml"}
TOP_LEVEL |= {"Makefile", ".gitignore"}


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def edition(tmp_path_factory, course_cli):
    dest = tmp_path_factory.mktemp("edition") / "cnn-course-student"
    proc = course_cli("student-edition", str(dest), "--zip", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest, proc.stdout


def test_layout_and_summary(edition):
    dest, stdout = edition
    assert {p.name for p in dest.iterdir()} == TOP_LEVEL
    assert "left out source/" in stdout and "verified:" in stdout and "zip:" in stdout, stdout


def test_nothing_forbidden_and_no_marker(edition):
    dest, _ = edition
    for rel in _files(dest):
        assert rel.split("/")[0] not in FORBIDDEN, rel
        assert Path(rel).name not in ("gradebook.db", "nbgrader_config.py", "solution.json"), rel
        text = (dest / rel).read_bytes().decode("utf-8", errors="ignore")
        assert not [m for m in MARKERS if m in text], rel
    assert {str(p.relative_to(dest / "handouts")) for p in (dest / "handouts").rglob("*")} <= {
        p.name for p in (ROOT / "solutions").glob("*") if p.is_file()
    }


def test_release_and_lectures_are_the_repositorys(edition):
    dest, _ = edition
    for folder, pattern in (("release", "*/*.ipynb"), ("notebooks", "*.ipynb")):
        wanted = sorted((ROOT / folder).glob(pattern))
        assert wanted
        for path in wanted:
            rel = path.relative_to(ROOT)
            assert filecmp.cmp(path, dest / rel, shallow=False), rel
    assert {p.name for p in (dest / "release").iterdir()} == {p.name for p in (ROOT / "source").iterdir() if p.is_dir()}


def test_student_package_is_course_only(edition):
    dest, _ = edition
    pyproject = (dest / "pyproject.toml").read_text(encoding="utf-8")
    assert 'include = ["course*"]' in pyproject
    assert "autograder" not in pyproject and "[project.scripts]" not in pyproject
    assert "serve = [" in pyproject and '"keras>=3.6"' in pyproject
    requirements = (dest / "requirements.txt").read_text(encoding="utf-8")
    assert "autograder" not in requirements and "-e ." in requirements.splitlines()
    readme = (dest / "README.md").read_text(encoding="utf-8")
    assert "hidden tests" in readme and "COURSE_DATA_DIR" in readme and "assignment `lenet5`" in readme
    assert "pip install -r requirements.txt" in readme


def test_zip_holds_the_same_files(edition):
    dest, _ = edition
    with zipfile.ZipFile(dest.with_name(dest.name + ".zip")) as archive:
        names = {name.split("/", 1)[1] for name in archive.namelist()}
        assert all(name.startswith(dest.name + "/") for name in archive.namelist())
    assert names == _files(dest)


def test_course_imports_from_the_edition_and_the_autograder_does_not(edition):
    """Without site-packages (``-S``; the instructor's editable install would find both packages),
    with ``PYTHONPATH=DEST`` only: ``course`` comes from DEST and ``autograder`` is nowhere."""
    dest, _ = edition
    code = (
        "import importlib.util, course; print(course.__file__); print(importlib.util.find_spec('autograder') is None)"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=dest,
        env={"PYTHONPATH": str(dest), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    where, no_autograder = proc.stdout.split()[-2:]
    assert Path(where).is_relative_to(dest) and no_autograder == "True", proc.stdout


def _student_course(course_copy) -> Path:
    root = course_copy(("source", "release", "notebooks", "course"), name="student-edition")
    for name in ("README.md", "requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)
    return root


def test_a_planted_solution_fails_naming_the_file(course_copy, course_cli, tmp_path):
    root = _student_course(course_copy)
    planted = root / "release" / "lenet5" / "lenet5.ipynb"
    nb = json.loads(planted.read_text(encoding="utf-8"))
    nb["cells"][-1]["source"] = "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n"
    planted.write_text(json.dumps(nb), encoding="utf-8")
    dest = tmp_path / "edition"
    proc = course_cli("student-edition", str(dest), "--root", str(root), "--no-handouts", timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "release/lenet5/lenet5.ipynb" in proc.stderr and "BEGIN SOLUTION" in proc.stderr, proc.stderr
    assert not dest.exists()


def test_answer_texts_hold_every_kind_of_answer():
    answers = answer_texts(ROOT)
    kinds = {answer.where.rsplit("(", 1)[-1].rstrip(")") for answer in answers if "(" in answer.where}
    assert {"solution", "hidden test"} <= kinds, kinds
    keys = {answer.where for answer in answers if answer.where.startswith("autograder.answer_key.")}
    assert {"autograder.answer_key.feature_maps.tile", "autograder.answer_key.xray.grad_cam_map"} <= keys
    sources = {answer.where.split(",")[0] for answer in answers if answer.where.startswith("source/")}
    assert sources == {str(p.relative_to(ROOT)) for p in (ROOT / "source").glob("*/*.ipynb")}


def test_an_answer_copied_without_markers_fails_naming_each_file(course_copy, course_cli, tmp_path):
    """A solution block pasted into a lecture, a hidden test line into the library, the answer key's tiling
    re-indented into a module: each is found by its text, though no nbgrader marker is left."""
    root = _student_course(course_copy)
    answers = answer_texts(ROOT)
    solution = next(a for a in answers if a.where.startswith("source/lenet5/") and "(solution)" in a.where)
    hidden = next(a for a in answers if a.where.startswith("source/lenet5/") and "(hidden test)" in a.where)
    tile = next(a for a in answers if a.where == "autograder.answer_key.feature_maps.tile")
    lecture = root / "notebooks" / "01_cnn_vs_fc.ipynb"
    nb = json.loads(lecture.read_text(encoding="utf-8"))
    nb["cells"][-1]["source"] = "    " + solution.text.replace("\n", "\n    ")
    lecture.write_text(json.dumps(nb), encoding="utf-8")
    with (root / "course" / "viz.py").open("a", encoding="utf-8") as module:
        module.write(f"\n# {hidden.text}\n\ndef _tile(images, columns, pad=1, pad_value=1.0):\n")
        module.write("".join(f"        {line}\n" for line in tile.text.splitlines()))
    dest = tmp_path / "edition"
    proc = course_cli("student-edition", str(dest), "--root", str(root), "--no-handouts", timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"notebooks/01_cnn_vs_fc.ipynb: holds the text of {solution.where}" in proc.stderr, proc.stderr
    assert f"course/viz.py: holds the text of {hidden.where}" in proc.stderr, proc.stderr
    assert "course/viz.py: holds the text of autograder.answer_key.feature_maps.tile" in proc.stderr
    assert not dest.exists()


def test_a_non_empty_destination_needs_force(course_cli, tmp_path):
    dest = tmp_path / "edition"
    dest.mkdir()
    (dest / "old.txt").write_text("old", encoding="utf-8")
    proc = course_cli("student-edition", str(dest), "--no-handouts", timeout=120)
    assert proc.returncode == 1 and "--force" in proc.stderr, proc.stderr
    assert (dest / "old.txt").exists()
    proc = course_cli("student-edition", str(dest), "--no-handouts", "--force", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not (dest / "old.txt").exists() and not (dest / "handouts").exists()


@pytest.mark.parametrize("inside", ["release/edition", "build", "."])
def test_a_destination_in_the_repository_outside_build_is_refused(course_cli, inside):
    proc = course_cli("student-edition", str(ROOT / inside), timeout=120)
    assert proc.returncode == 1 and "student-edition: error:" in proc.stderr, proc.stderr
    assert not (ROOT / "release" / "edition").exists()


def test_in_a_git_checkout_only_tracked_files_go_to_students(course_copy, course_cli, tmp_path):
    """A file the instructor never committed (here a lecture copy with notes) stays behind, and the
    summary names it; outside git every file of the folders is copied, as the tests above show."""
    root = _student_course(course_copy)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "course"], check=True)
    scratch = root / "notebooks" / "scratch-with-notes.ipynb"
    shutil.copy2(next((root / "notebooks").glob("*.ipynb")), scratch)
    dest = tmp_path / "edition"
    proc = course_cli("student-edition", str(dest), "--root", str(root), "--no-handouts", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (dest / "notebooks" / scratch.name).exists()
    assert "notebooks/scratch-with-notes.ipynb" in proc.stdout and "not tracked by git" in proc.stdout
    assert (dest / "release" / "lenet5" / "lenet5.ipynb").exists()


def test_with_a_repository_every_notebook_installs_the_library_on_colab_only(course_cli, tmp_path):
    dest = tmp_path / "edition"
    proc = course_cli(
        "student-edition", str(dest), "--no-handouts", "--repository", "example-org/cnn-course-student", timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    notebooks = sorted((dest / "notebooks").glob("*.ipynb")) + sorted((dest / "release").glob("*/*.ipynb"))
    assert len(notebooks) == len(list((ROOT / "notebooks").glob("*.ipynb"))) + len(list(ROOT.glob("release/*/*.ipynb")))
    url = "cnn-course @ git+https://github.com/example-org/cnn-course-student@main"
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert cells[0]["cell_type"] == "markdown" and cells[1]["id"] == "colab-install", path
        code = "".join(cells[1]["source"])
        assert url in code, path
    # outside Colab the cell does nothing: run it with a pip that would fail loudly
    run = subprocess.run(
        [sys.executable, "-c", code.replace("sys.executable", "'/nonexistent/python'")], capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout == run.stderr == "", run.stderr
    bad = course_cli("student-edition", str(tmp_path / "bad"), "--no-handouts", "--repository", "not a repo")
    assert bad.returncode == 1 and "OWNER/NAME" in bad.stderr and not (tmp_path / "bad").exists()
