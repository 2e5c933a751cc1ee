"""Test cells run in the trusted process against a real kernel (autograder/verdict.py): the student's
names fetched as data, functions called remotely, what a test assigns written back, and nothing the
kernel does able to make a test pass."""

from __future__ import annotations

import pytest
from jupyter_client.manager import KernelManager

from autograder import verdict
from tests.conftest import subprocess_env


@pytest.fixture(scope="module")
def kernel():
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=subprocess_env())
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    link = verdict.KernelLink(manager.get_connection_info(), manager.is_alive)
    boundary = verdict.Boundary(link, lambda: 120)

    def run(code: str) -> None:  # a student's cell
        reply = client.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    yield boundary, run
    link.close()
    client.stop_channels()
    manager.shutdown_kernel(now=True)


TRUSTED = {"np": ["numpy", None], "grading": ["course.grading", "lenet5"]}


def test_values_and_functions_cross_and_the_check_runs_here(kernel):
    boundary, run = kernel
    run("import numpy as np\nx = np.arange(6).reshape(2, 3)\ndef double(a):\n    return a * 2\n")
    printed, error = boundary.run_test(
        "grading.require(globals(), 'x', 'double')\nassert (double(x) == 2 * x).all()\nprint(type(double).__name__)",
        TRUSTED,
        "t1",
    )
    assert error is None and printed.strip() == "RemoteFunction"


def test_a_missing_name_fails_like_in_the_kernel(kernel):
    boundary, _ = kernel
    _, error = boundary.run_test("grading.require(globals(), 'nowhere')", TRUSTED, "t2")
    assert error["ename"] == "AssertionError" and "`nowhere` is not defined" in error["evalue"]
    _, error = boundary.run_test("nowhere + 1", TRUSTED, "t3")
    assert error["ename"] == "NameError"


def test_patching_the_kernel_changes_nothing_here(kernel):
    boundary, run = kernel
    run(
        "import course.grading.lenet5 as g\n"
        "g.check_accuracy_at_least = lambda *a, **k: None\n"
        "grading = type('G', (), {'__getattr__': lambda self, name: (lambda *a, **k: None)})()\n"
        "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n"
    )
    _, error = boundary.run_test("grading.check_accuracy_at_least(0.1, 0.9)", TRUSTED, "t4")
    assert error is not None and error["ename"] == "AssertionError"


def test_the_students_errors_come_back_as_errors(kernel):
    boundary, run = kernel
    run("def broken(a):\n    raise NotImplementedError('not yet')\n")
    _, error = boundary.run_test("broken(1)", TRUSTED, "t5")
    assert error["ename"] == "StudentError" and "raised NotImplementedError: not yet" in error["evalue"]


def test_a_lying_object_cannot_cross_and_the_message_says_why(kernel):
    boundary, run = kernel
    run("class Agrees:\n    def __eq__(self, other):\n        return True\nanswer = Agrees()\n")
    _, error = boundary.run_test("assert answer == 42, 'wrong'", TRUSTED, "t6")
    assert error["ename"] == "AssertionError" and "object of class Agrees" in error["evalue"]


def test_what_a_test_assigns_is_written_back_to_the_kernel(kernel):
    boundary, run = kernel
    printed, error = boundary.run_test("total = int(x.sum())\nscaled = double(x)", TRUSTED, "t7")
    assert error is None
    run("assert total == 15 and scaled.tolist() == [[0, 2, 4], [6, 8, 10]]")


def test_identity_survives_the_round_trip(kernel):
    boundary, run = kernel
    run("shared = [1, 2]\ndef same(a):\n    return a is shared\n")
    printed, error = boundary.run_test("print(same(shared), same([1, 2]))", TRUSTED, "t8")
    assert error is None and printed.split() == ["True", "False"]


def test_a_call_that_runs_too_long_is_a_timeout(kernel):
    boundary, run = kernel
    run("import time\ndef slow():\n    time.sleep(5)\n")
    boundary.timeout = lambda: 1
    try:
        with pytest.raises(verdict.CallTimeout, match="`slow` ran longer than the 1 s limit"):
            boundary.run_test("slow()", TRUSTED, "t9")
    finally:
        boundary.timeout = lambda: 120
