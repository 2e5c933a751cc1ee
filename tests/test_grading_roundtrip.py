"""nbgrader round trip on a copy of the course: sample submissions -> `course grade` -> CSV, gradebook, feedback.

The samples are built from ``autograder/fixtures/lenet5/*.json`` and the current
source/release (see ``autograder/samples.py``) and graded in ONE batch with
``--jobs 2``; every sample's ``expect`` block is checked exactly. The attack
samples are also graded once with the test cells run in the kernel (``guard=False``,
as plain nbgrader runs them), to show that each of them would have scored points it
did not earn without the boundary.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re

import nbformat
import pytest

from autograder.batch import TIMEOUT, Limits, grade_batch, grade_cells
from autograder.feedback import HideHiddenTests, failing_lines
from autograder.leaks import secret_lines
from autograder.samples import load_samples
from autograder.sandbox import BASE_UID, probe

ASSIGNMENT = "lenet5"
SAMPLES = load_samples(ASSIGNMENT)
SANDBOX = all(probe().values())
RUNNABLE = [s for s in SAMPLES if SANDBOX or "sandbox" not in s.requirements]
# The solution needs at most 20 s per cell and 50 CPU s on an idle machine. This machine's speed varies up to
# threefold between runs of the same code (page faults, which count as CPU seconds, rose up to thirtyfold in
# the slow runs), so the limits leave that much room; the endless loop meets the per-cell limit
# long before the CPU limit, since it cannot burn more CPU seconds than wall-clock seconds.
LIMITS = ("--memory-mb", "6144", "--cpu-seconds", "240", "--cell-timeout", "60", "--processes", "256", "--jobs", "2")


def _text(path) -> str:
    """What a reader of an HTML page sees: tags dropped, entities decoded, spaces collapsed."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<style.*?</style>|<script.*?</script>", " ", raw, flags=re.S)
    return _squash(html.unescape(re.sub(r"<[^>]+>", "", raw)))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _hidden_lines(root) -> list[str]:
    lines = []
    for path in sorted((root / "source" / ASSIGNMENT).glob("*.ipynb")):
        lines += secret_lines(path)["hidden test"]
    return lines


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _guarded_files(root):
    """Files a submission must not be able to change (the grader reads them)."""
    from pathlib import Path

    import course

    package = Path(course.__file__).resolve().parent
    return [
        package / "grading" / f"{ASSIGNMENT}.py",
        package / "grading" / "core.py",
        root / "nbgrader_config.py",
        root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
    ]


def _course_with(course_copy, name: str, students):
    """A new copy of the course holding the samples ``students`` in submitted/."""
    from autograder.samples import build_submissions

    root = course_copy(("source", "release"), name=name)
    build_submissions(root, ASSIGNMENT, [s for s in SAMPLES if s.student in students])
    return root


def _rows(root) -> dict[str, dict]:
    with open(root / "reports" / f"grades-{ASSIGNMENT}.csv", newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _outputs(root, student) -> str:
    texts = []
    for path in (root / "autograded" / student / ASSIGNMENT).glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                texts.append(output.get("text", "") + output.get("evalue", "") + json.dumps(output.get("data", {})))
    return "\n".join(texts)


@pytest.fixture(scope="module")
def graded(course_copy, course_cli):
    """Grade every sample in one `course grade --jobs 2` call; return (root, {student: csv row}, stdout)."""
    from autograder.samples import build_submissions

    root = course_copy(("source", "release"), name="grading")
    build_submissions(root, ASSIGNMENT, RUNNABLE)
    before = {path: _digest(path) for path in _guarded_files(root)}
    # limits low enough to keep the bombs, loops and sleeps cheap; the solution grades with
    # about 40 CPU s and under 4 GB of address space (TensorFlow on 2 cores)
    proc = course_cli("grade", ASSIGNMENT, "--root", str(root), *LIMITS, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6144 MB memory, 240 CPU s, 256 processes per kernel; 60 s per cell" in proc.stdout
    assert "sandbox:" in proc.stdout
    after = {path: _digest(path) for path in _guarded_files(root)}
    assert before == after, "a submission changed a file the grader reads"
    return root, _rows(root), proc.stdout


def test_samples_cover_the_required_cases():
    assert len(SAMPLES) >= 15
    expects = [s.expect for s in SAMPLES]
    assert any(e.get("auto_score") == "full" for e in expects), "a correct solution"
    assert any(e.get("auto_score") == "zero" and e.get("status") == "graded" for e in expects), "a blank one"
    assert any(e.get("failing") and e.get("status") == "graded" for e in expects), "a partial one"
    for status in ("malformed", "missing", "crashed", "memory", "timeout"):
        assert any(e.get("status") == status for e in expects), status
    names = {s.student for s in SAMPLES}
    attacks = {
        "patch-grading",
        "fake-grading-name",
        "patch-numpy",
        "fake-guard",
        "swallow-exceptions",
        "input-transformer",
        "ast-transformer",
        "fake-output",
        "edit-metadata",
        "shuffled-cells",
        "write-files",
        "sys-exit",
        "os-exit",
        "exit-call",
        "forge-receipt",
        "forge-obfuscated",
        "lying-objects",
        "detects-grading",
        "lambda-model",
    }
    assert attacks <= names
    assert {"broken-json", "wrong-nbformat", "empty-file", "huge-output", "misnamed", "no-notebook"} <= names
    assert all(s.description for s in SAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.student for s in SAMPLES])
def test_sample_is_graded_as_expected(graded, sample):
    if sample not in RUNNABLE:
        pytest.skip(f"needs the full sandbox ({', '.join(k for k, ok in probe().items() if not ok)} unavailable here)")
    root, rows, _ = graded
    row = rows[sample.student]
    expect = sample.expect
    assert row["status"] == expect["status"], row
    auto, auto_max = float(row["auto_score"]), float(row["auto_max_score"])
    assert auto_max == 16 and float(row["max_score"]) == 20, row
    wanted = expect.get("auto_score")
    if wanted == "full":
        assert auto == auto_max, row
    elif wanted == "zero":
        assert auto == 0 and float(row["score"]) == 0, row
    elif wanted is not None:
        assert auto == float(wanted), row
    cells = grade_cells(root, ASSIGNMENT)
    if "failing" in expect:
        autograded = [c.grade_id for c in cells if c.autograded]
        full = {c.grade_id: c.max_score for c in cells}
        assert set(expect["failing"]) <= set(autograded)
        for grade_id in autograded:
            wanted_cell = 0.0 if grade_id in expect["failing"] else full[grade_id]
            assert float(row[grade_id]) == wanted_cell, f"{grade_id}: {row}"
    for grade_id, score in expect.get("cells", {}).items():
        assert float(row[grade_id]) == float(score), f"{grade_id}: {row}"
    if expect["status"] in ("malformed", "missing"):
        assert all(float(row[c.grade_id]) == 0 for c in cells), row
    if expect["status"] != "graded":
        assert row["message"], "a reason is given"
    if "message_contains" in expect:
        assert expect["message_contains"] in row["message"], row
    if "flags_contains" in expect:
        assert expect["flags_contains"] in row["flags"], row
    outputs = _outputs(root, sample.student)
    for text in expect.get("output_contains", []):
        assert text in outputs, f"{text!r} not printed"
    for text in expect.get("output_excludes", []):
        assert text not in outputs, f"{text!r} printed"


@pytest.mark.slow
def test_bad_submissions_do_not_stop_the_batch(graded):
    _, rows, _ = graded
    assert set(rows) == {s.student for s in RUNNABLE}
    for status in ("malformed", "missing", "crashed", "memory", "timeout"):
        bad = [s for s, r in rows.items() if r["status"] == status]
        graded_after = [s for s, r in rows.items() if r["status"] == "graded" and s > min(bad)]
        assert bad and graded_after, f"a {status} sample sorts before graded ones, and they were graded"


@pytest.mark.slow
def test_gradebook_matches_the_report(graded):
    """Two grading jobs wrote to the gradebook: it holds each graded student once, with the CSV's scores."""
    from nbgrader.api import Gradebook

    from autograder.nbgrader_env import gradebook_url

    root, rows, _ = graded
    with Gradebook(gradebook_url(root)) as gb:
        submissions = {s.student.id: s for s in gb.find_assignment(ASSIGNMENT).submissions}
        reached = {student for student, row in rows.items() if row["status"] not in ("malformed", "missing")}
        assert reached - {s for s, r in rows.items() if "grading process died" in r["message"]} <= set(submissions)
        for student, submission in submissions.items():
            assert float(rows[student]["score"]) == pytest.approx(submission.score), student


@pytest.mark.slow
def test_no_kernel_process_is_left_behind(graded):
    psutil = pytest.importorskip("psutil")
    left = [
        p.info
        for p in psutil.process_iter(["pid", "uids", "name"])
        if p.info["uids"] and p.info["uids"].real >= BASE_UID
    ]
    assert not left, f"processes of the sandbox users survived the batch: {left[:5]}"


@pytest.mark.slow
def test_manual_answer_is_left_to_the_grader(graded):
    root, rows, _ = graded
    manual = [c for c in grade_cells(root, ASSIGNMENT) if not c.autograded]
    assert int(rows["solution"]["needs_manual_grade"]) == len(manual)
    assert float(rows["solution"]["max_score"]) == float(rows["solution"]["auto_max_score"]) + sum(
        c.max_score for c in manual
    )


@pytest.mark.slow
def test_feedback_holds_no_hidden_test(graded):
    root, rows, _ = graded
    hidden = [_squash(line) for line in _hidden_lines(root)]
    assert hidden
    for student, row in rows.items():
        autograded_dir = root / "autograded" / student / ASSIGNMENT
        if not autograded_dir.exists():
            assert row["status"] in ("malformed", "missing", "crashed", "timeout"), row
            assert not (root / "feedback" / student / ASSIGNMENT).exists()
            continue
        pages = sorted((root / "feedback" / student / ASSIGNMENT).glob("*.html"))
        assert pages, f"no feedback for {student}"
        for page in pages:
            text = _text(page)
            assert "HIDDEN TESTS" not in text
            if student not in ("fake-output", "fake-guard", "forge-receipt"):  # they print receipt-like lines
                assert "[course grader]" not in text, "receipts stay out of feedback"
            leaked = [line for line in hidden if line in text]
            assert not leaked, f"{page.name} of {student} shows hidden test lines: {leaked[:3]}"
            if row["status"] == "memory":  # says why, in plain words, also in cells with hidden tests
                assert "this cell did not run: the notebook ran out of memory" in text
                assert "NotRun in a hidden test" not in text


@pytest.mark.slow
def test_report_and_plot(graded):
    root, rows, stdout = graded
    plot = root / "reports" / f"scores-{ASSIGNMENT}.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"reports/scores-{ASSIGNMENT}.png" in stdout
    assert list(rows) == sorted(rows), "one row per student, sorted"


@pytest.mark.slow
def test_attacks_score_without_the_guard(course_copy):
    """With the test cells in the kernel, the attack samples score what their ``undefended_auto_score``
    says: the samples are real attacks, and running the tests outside the kernel is what stops them."""
    attacks = [s for s in SAMPLES if "undefended_auto_score" in s.expect]
    assert len(attacks) >= 5
    root = _course_with(course_copy, "undefended", {s.student for s in attacks})
    limits = Limits(memory_mb=6144, cpu_s=240, processes=256, cell_s=120, notebook_s=600)
    results = {
        r.student: r for r in grade_batch(root, ASSIGNMENT, limits=limits, jobs=2, guard=False, warn=lambda _: None)
    }
    for sample in attacks:
        assert results[sample.student].auto_score == sample.expect["undefended_auto_score"], results[sample.student]


@pytest.mark.slow
def test_a_notebook_over_its_time_limit_is_stopped(course_copy):
    root = _course_with(course_copy, "slow", {"solution"})
    limits = Limits(memory_mb=6144, cpu_s=60, cell_s=60, notebook_s=6)
    (result,) = grade_batch(root, ASSIGNMENT, limits=limits, warn=lambda _: None)
    assert result.status == TIMEOUT and result.auto_score < 16, result.message
    assert "the notebook ran longer than its 6 s limit" in result.message


def test_a_wait_outside_any_cell_that_runs_out_of_time_is_a_timeout_error():
    """On a slow machine the notebook's limit can run out while the kernel is still answering kernel_info or
    setting up the boundary; nbclient would then fail an assertion (a `crashed` row), the grader needs a
    TimeoutError to report the notebook's limit."""
    import asyncio

    from autograder.execute import GuardedExecute

    with pytest.raises(TimeoutError, match="did not answer within 4 s"):
        asyncio.run(GuardedExecute()._async_handle_timeout(4, None))


def test_a_starting_kernel_gets_the_startup_time_not_the_limit_per_cell():
    """kernel_info and the boundary's set-up wait for a kernel that is still importing (on a busy machine, for
    longer than a short --cell-timeout): they get nbclient's startup_timeout, and never more than the
    notebook's time left."""
    import time

    import nbformat

    from autograder.execute import GuardedExecute

    execute = GuardedExecute(timeout=20, startup_timeout=60)
    execute._deadline = None
    cell = nbformat.v4.new_code_cell("pass")
    assert (execute._get_timeout(None), execute._get_timeout(cell)) == (60, 20)
    execute._deadline = time.monotonic() + 30.5
    assert (execute._get_timeout(None), execute._get_timeout(cell)) == (30, 20)
    assert execute._deadline_hit is False  # the cell's own limit came first


# ----------------------------------------------------------------------------------------------
# the feedback preprocessor on its own (fast)

TB_HIDDEN = ["\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 3\x1b[39m", "secret context"]
TB_VISIBLE = ["Cell In[4], line 1\n----> 1 assert f(1) == 2\n      2 ### BEGIN HIDDEN TESTS\n      3 assert f(9) == 99"]


def _test_cell(traceback, evalue):
    cell = nbformat.v4.new_code_cell(
        "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(9) == 99, 'want 99'\n### END HIDDEN TESTS\nprint('done')"
    )
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue=evalue, traceback=traceback)]
    return cell


def test_failing_lines_reads_ipython_tracebacks():
    assert failing_lines(TB_HIDDEN) == [3]
    assert failing_lines(TB_VISIBLE) == [1]
    assert failing_lines(["no line info"]) == []


def test_hidden_failure_is_replaced_by_a_plain_message():
    cell, _ = HideHiddenTests().preprocess_cell(_test_cell(TB_HIDDEN, "want 99"), {}, 0)
    assert "f(9)" not in cell.source and "HIDDEN" not in cell.source
    assert cell.source.splitlines()[0] == "assert f(1) == 2" and cell.source.endswith("print('done')")
    error = cell.outputs[0]
    assert error.evalue == "" and len(error.traceback) == 1
    assert "hidden test" in error.traceback[0] and "99" not in error.traceback[0]


def test_visible_failure_keeps_its_message_but_not_the_context():
    cell, _ = HideHiddenTests().preprocess_cell(_test_cell(TB_VISIBLE, "f(1) should be 2"), {}, 0)
    (line,) = cell.outputs[0].traceback
    assert "f(1) should be 2" in line and "assert f(1) == 2" in line and "f(9)" not in line


def test_cells_without_hidden_tests_are_untouched():
    cell = nbformat.v4.new_code_cell("assert 1 == 2")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=["tb"])]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "assert 1 == 2" and cell.outputs[0].traceback == ["tb"]


@pytest.mark.slow
def test_grading_without_the_sandbox_gives_the_same_scores(course_copy):
    """Where no sandbox is available (not root, not Linux), grading still works and the boundary still holds."""
    root = _course_with(course_copy, "nosandbox", {"untouched", "patch-grading", "fake-output"})
    limits = Limits(memory_mb=None, cpu_s=None, processes=None, cell_s=120, notebook_s=600)
    results = grade_batch(root, ASSIGNMENT, limits=limits, jobs=2, sandbox=False, warn=lambda _: None)
    for result in results:
        assert (result.status, result.auto_score) == ("graded", 0.0), result


def test_grading_needs_the_release(course_copy, course_cli):
    import shutil

    root = _course_with(course_copy, "norelease", {"untouched"})
    shutil.rmtree(root / "release")
    proc = course_cli("grade", ASSIGNMENT, "--root", str(root))
    assert proc.returncode != 0
    assert "release/lenet5/ lacks lenet5.ipynb: run `course release lenet5` first" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_cpu_limit_stops_an_endless_loop(course_copy):
    """With a roomy per-cell limit, the kernel's CPU seconds (RLIMIT_CPU) are what stop the loop."""
    root = _course_with(course_copy, "cpu", {"endless-loop"})
    limits = Limits(memory_mb=6144, cpu_s=12, cell_s=240, notebook_s=300)
    (result,) = grade_batch(root, ASSIGNMENT, limits=limits, warn=lambda _: None)
    assert result.status == TIMEOUT and result.auto_score == 0, result
    assert "the kernel used up its CPU seconds" in result.message
