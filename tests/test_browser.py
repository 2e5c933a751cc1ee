"""A student in JupyterLab, in a real browser: Playwright drives Debian's headless Chromium against the student
edition, installed with its own ``make setup`` (the ``installed_edition`` fixture).

Every assignment as released (in smoke mode, ``COURSE_SMOKE=1``): Run All stops at the first task with
nbgrader's ``NotImplementedError``, no cell shows TensorFlow's start-up lines, no pop-up covers the
notebook, and nbgrader's Validate button lists the failing tests with their messages. LeNet-5 and the theory
quiz with the solution pasted into their answer cells (in smoke mode): every cell runs, and Validate reports
success (the other four assignments' solutions train for a minute or more each; they are graded in CI
instead). Each state is saved as a screenshot in ``build/screenshots/``. Skipped, with the reason, where
Playwright or Chromium cannot be had: ``.ci/run`` installs both (``apt-get install chromium``, and
``requirements-test.txt`` pins ``playwright``, whose own browser download is never used)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM, ROOT

from autograder.samples import build_notebook, load_samples

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM, reason="no Chromium on this machine (apt-get install chromium)"),
]
SCREENSHOTS = ROOT / "build" / "screenshots"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "release").iterdir() if (p / f"{p.name}.ipynb").is_file())
SOLVED = ("lenet5", "theory_quiz")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _solved(assignment: str) -> str:
    return f"release/{assignment}/{assignment}-solved.ipynb"


def _solved_copy(edition: Path, assignment: str) -> None:
    """The release with the reference solution pasted into its answer cells, in smoke mode."""
    sample = next(s for s in load_samples(assignment) if s.student == "solution")
    name = f"{assignment}/{assignment}.ipynb"
    nb = nbformat.reads(build_notebook(sample, ROOT / "release" / name, ROOT / "source" / name), as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source = parameters.source.replace("SMOKE = False", "SMOKE = True")
    nbformat.write(nb, str(edition / _solved(assignment)))


@pytest.fixture(scope="module")
def lab(installed_edition):
    for assignment in SOLVED:
        _solved_copy(installed_edition, assignment)
    port, token = _free_port(), "course-browser-test"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NBGRADER_EXECUTION")}
    process = subprocess.Popen(
        [
            str(installed_edition / ".venv" / "bin" / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={installed_edition}",
            "--LabApp.expose_app_in_browser=True",
        ],
        cwd=installed_edition,
        # Smoke mode (course.runtime): the releases' cells, the stop at the first task and Validate are the same,
        # but feature_maps' default run trains AlexNet on the flowers before its first task (3.5 min on 2 cores
        # on a machine whose Keras cache is empty, as CI's is).
        env={**env, "COURSE_SMOKE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(lab):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        yield page
        browser.close()


def _open(page, lab, notebook: str) -> None:
    base, token = lab
    for _ in range(120):  # the server takes a few seconds to start
        try:
            page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}")
            break
        except sync_api.Error:
            time.sleep(0.5)
    page.wait_for_selector(".jp-Notebook")
    page.wait_for_function(
        "path => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = w && w.context && w.context.path === path && w.sessionContext.session"
        "   && w.sessionContext.session.kernel;"
        " return k && k.status === 'idle'; }",
        arg=notebook,
    )


def _run_all(page) -> list[dict]:
    """Run All, wait until the kernel is idle with nothing queued; the notebook's cells as JSON."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const busy = [...w.content.node.querySelectorAll('.jp-InputArea-prompt')]"
        "   .some(p => p.textContent.includes('*'));"
        " return !busy && w.sessionContext.session.kernel.status === 'idle'; }",
        timeout=300_000,
        polling=1000,
    )
    return page.evaluate("window.jupyterapp.shell.currentWidget.content.model.toJSON().cells")


def _validate(page, screenshot: str) -> str:
    """nbgrader's Validate button; the text of the result it shows (a dialog with ``#validation-message``),
    saved as ``screenshot`` before the dialog is closed."""
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    message = page.locator("#validation-message")
    message.wait_for(timeout=300_000)
    text = message.inner_text()
    page.screenshot(path=str(SCREENSHOTS / screenshot))
    page.keyboard.press("Escape")
    return text


def _errors(cells: list[dict]) -> list[dict]:
    return [o for cell in cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _stderr(cells: list[dict]) -> str:
    return "".join(
        "".join(o.get("text", "")) for cell in cells for o in cell.get("outputs", []) if o.get("name") == "stderr"
    )


def _show_first_error(page) -> None:
    """Scroll the first error output into view, as a student would look for it."""
    error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
    if error.count():
        error.scroll_into_view_if_needed()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_release_as_a_student_first_sees_it(page, lab, assignment):
    """Run All stops at the first task with nbgrader's NotImplementedError; no TensorFlow start-up lines,
    no pop-up; Validate lists the failing tests with their messages."""
    _open(page, lab, f"release/{assignment}/{assignment}.ipynb")
    cells = _run_all(page)
    _show_first_error(page)
    page.screenshot(path=str(SCREENSHOTS / f"{assignment}-released.png"))
    errors = _errors(cells)
    # The first error is the first task's. (Run All relies on the kernel aborting the cells queued behind an
    # error; a cell that reaches the kernel after that short window still runs, and fails for want of the
    # answer above it.)
    assert errors and errors[0]["ename"] == "NotImplementedError", [(e["ename"], e["evalue"]) for e in errors]
    assert "absl::InitializeLog" not in _stderr(cells) and "oneDNN" not in _stderr(cells)
    assert not page.get_by_text("official Jupyter news").count(), "the Jupyter news pop-up is showing"
    text = _validate(page, f"{assignment}-released-validate.png")
    assert "The following cell failed:" in text and ("NotImplementedError" in text or "AssertionError" in text)
    assert "Success!" not in text, text[:2000]


@pytest.mark.parametrize("assignment", SOLVED)
def test_the_solution_passes_in_the_browser_and_validates(page, lab, assignment):
    _open(page, lab, _solved(assignment))
    cells = _run_all(page)
    page.screenshot(path=str(SCREENSHOTS / f"{assignment}-solved.png"))
    assert not _errors(cells), [(e["ename"], e["evalue"][:300]) for e in _errors(cells)]
    tests = [c for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c["cell_type"] == "code"]
    assert tests and all(c.get("execution_count") for c in tests)
    text = _validate(page, f"{assignment}-solved-validate.png")
    assert "Success! Your notebook passes all the tests." in text, text[:2000]
