"""`course handouts`: executed notebooks and stand-alone HTML, and clear failures."""

from __future__ import annotations

import importlib
import shutil

import nbformat
import pytest
from conftest import ROOT

from autograder.handouts import handout_notebooks, output_stem, strip_native_logs

NOTEBOOKS = handout_notebooks(ROOT)


def graded_run_is_the_smoke_run(notebook) -> bool:
    """Whether the grading tests already execute this assignment's solution exactly as ``--smoke`` would:
    its checks module gives the smoke and grading modes the same budget, and the notebook never branches on
    the mode (``RUN.mode``)."""
    checks = importlib.import_module(f"course.grading.{notebook.parent.name}")
    same_budget = getattr(checks, "SMOKE_BUDGET", None) == getattr(checks, "AUTOGRADE_BUDGET", None)
    return same_budget and "RUN.mode" not in notebook.read_text(encoding="utf-8")


# Lectures run in smoke mode under nbval (tests/test_lectures.py), and the grading tests run every
# assignment's solution; here the handout pipeline runs on one lecture and on the assignments whose smoke
# run differs from their graded run, so no notebook is executed twice the same way by the suite.
SMOKE_HANDOUTS = [
    p
    for p in NOTEBOOKS
    if (p.parent.name == "notebooks" and p.name.startswith("01b_"))
    or (p.parent.name != "notebooks" and not graded_run_is_the_smoke_run(p))
]


def test_the_skipped_assignments_are_the_ones_with_one_budget():
    skipped = {p.parent.name for p in NOTEBOOKS if p.parent.name != "notebooks" and p not in SMOKE_HANDOUTS}
    assert "vgg16_transfer" in skipped and "inception_cifar10" not in skipped and "lenet5" not in skipped


@pytest.mark.slow
def test_smoke_handouts_embed_their_figures(course_cli, tmp_path):
    assert NOTEBOOKS, "no lecture or assignment notebook"
    assert any(p.parent.name == "notebooks" for p in SMOKE_HANDOUTS), "one lecture is rendered"
    out = tmp_path / "handouts"
    paths = [str(p.relative_to(ROOT)) for p in SMOKE_HANDOUTS]
    proc = course_cli("handouts", "--smoke", "--out", str(out), *paths, timeout=900, MPLBACKEND="Agg")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for notebook in SMOKE_HANDOUTS:
        stem = out / output_stem(ROOT, notebook)
        page = stem.with_suffix(".html")
        assert page.exists(), f"no HTML for {notebook}"
        html = page.read_text(encoding="utf-8")
        executed = nbformat.read(str(stem.with_suffix(".ipynb")), as_version=4)
        outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
        figures = [o.data["image/png"] for o in outputs if "image/png" in o.get("data", {})]
        code = "".join(c.source for c in executed.cells if c.cell_type == "code")
        if "plt." in code or "viz." in code:
            assert figures, f"{notebook} draws figures, but its executed copy holds none"
        for figure in figures:
            assert f"data:image/png;base64,{figure.strip()[:200]}" in html, f"{page.name} lacks one of its figures"
        assert not [o for o in outputs if o.output_type == "error"], notebook
        printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        assert "Run mode: smoke" in printed, f"{notebook} did not run in smoke mode"
        assert "absl::InitializeLog" not in printed, "TensorFlow's native log lines are dropped"
        assert "CPU cores" in executed.metadata.course.hardware, "the run records the machine it ran on"
    # the handout site, built from what ran: the smoke pages, each with its run box, and the rest named as left out
    site = out / "site" / "html"
    for notebook in SMOKE_HANDOUTS:
        page = (site / output_stem(ROOT, notebook).with_suffix(".html")).read_text(encoding="utf-8")
        assert "How this page was made" in page and "smoke (" in page and "CPU cores" in page
    assert (site / "index.html").is_file() and (site / "_static" / "mathjax" / "MathJax.js").is_file()
    not_run = next(p for p in NOTEBOOKS if p not in SMOKE_HANDOUTS)
    assert f"site: {output_stem(ROOT, not_run)}.ipynb is not in " in proc.stdout, proc.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_a_published_handout_is_its_notebook_as_it_reads_now(notebook):
    """solutions/ holds executed copies: a notebook edited since its handout was made needs a new run
    (`course handouts PATH`), or the handout shows code and prose that the course no longer has."""
    published = ROOT / "solutions" / output_stem(ROOT, notebook).with_suffix(".ipynb")
    if not published.exists():
        pytest.skip(f"{notebook.name} has no published handout")
    cells = lambda nb: [(c.cell_type, c.source) for c in nb.cells]  # noqa: E731
    now = cells(nbformat.read(str(notebook), as_version=4))
    handout = cells(nbformat.read(str(published), as_version=4))
    changed = [i for i, (a, b) in enumerate(zip(now, handout, strict=False)) if a != b]
    assert len(now) == len(handout) and not changed, f"cells changed since the handout ran: {changed}"


def _notebook(path, *sources):
    cells = [nbformat.v4.new_code_cell("SMOKE = False", metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_a_failing_notebook_is_named_and_the_others_still_run(course_cli, tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    _notebook(root / "notebooks" / "01_breaks.ipynb", "x = 1", "raise ValueError('broken on purpose')")
    _notebook(root / "notebooks" / "02_fine.ipynb", "print('smoke' if SMOKE else 'full')")
    proc = course_cli("handouts", "--smoke", "--root", str(root), timeout=300)
    assert proc.returncode == 1
    failed = next(line for line in proc.stdout.splitlines() if line.startswith("FAILED"))
    assert failed.startswith("FAILED  notebooks/01_breaks.ipynb: cell ")
    assert "ValueError: broken on purpose" in failed
    assert "ok      notebooks/02_fine.ipynb" in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("course handouts: error: 1 of 2 notebook(s) failed: notebooks/01_breaks.ipynb")
    smoke = root / "build" / "handouts-smoke"
    assert (smoke / "02_fine.html").exists() and (smoke / "01_breaks.html").exists()
    executed = nbformat.read(str(smoke / "02_fine.ipynb"), as_version=4)
    assert "smoke" in "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert not (root / "solutions").exists(), "--smoke never writes the real handouts"


def test_native_tensorflow_log_lines_are_dropped():
    cell = nbformat.v4.new_code_cell("import keras")
    cell.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text=(
                "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                "I0000 00:00:1795658958.471257    3124 port.cc:153] oneDNN custom operations are on.\n"
                "E0000 00:00:1795658961.504465    3124 cuda_platform.cc:52] failed call to cuInit\n"
            ),
        ),
        nbformat.v4.new_output(
            "stream", name="stderr", text="I0000 00:00:17.5    31 port.cc:1] x\nUserWarning: kept\n"
        ),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 00:00:17.5    31 port.cc:1] stdout is kept\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert strip_native_logs(nb) == 4
    assert [o.text for o in nb.cells[0].outputs] == [
        "UserWarning: kept\n",
        "I0000 00:00:17.5    31 port.cc:1] stdout is kept\n",
    ]
