"""nbgrader's ``Execute`` step, made to keep its word when a notebook misbehaves.

:class:`GuardedExecute` replaces ``nbgrader.preprocessors.Execute`` in the
grading worker's ``Autograde`` run (``c.Autograde.autograde_preprocessors``).
It runs the cells in order like its parent, and in addition:

* **stops cleanly at a limit.** When the kernel dies (memory, CPU seconds,
  ``os._exit``...), a cell runs past the per-cell limit, the notebook runs past
  its own time limit, a cell runs out of memory (``MemoryError``) or of
  processes, it stops there. That cell and every code cell after it get an
  error output that says, in plain words, why they did not run, so every test
  not yet run scores 0 and those that ran keep their scores (nbgrader scores a
  test cell by whether it has an error output). The reason is written to
  ``outcome_path`` as JSON for the batch: ``{"stop": "memory"|"timeout"|
  "crashed"|null, "message": ...}``.
* **runs test cells outside the kernel.** With ``guard`` on, a test cell is
  not sent to the kernel: :mod:`autograder.verdict` runs its code in this
  process, which has never executed student code, with the student's work
  fetched from the kernel as data. The cell gets the outputs and the error
  that run produced, so nbgrader scores it as usual.
* **ends the kernel's leftovers**: every process of the sandbox's user is
  killed when the notebook is done (``sandbox_uid``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from nbclient.client import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from . import cells, verdict
from .sandbox import kill_user

# what running out of memory looks like in an error or in the kernel's stderr: numpy/Python raise
# MemoryError; TensorFlow's library cannot be mapped, or it aborts when it cannot create a thread
OUT_OF_MEMORY = (
    "MemoryError",
    "failed to map segment",
    "Cannot allocate memory",
    "bad_alloc",
    "pthread_create",
    "ResourceExhaustedError",
    "OOM when allocating",
)
OUT_OF_PROCESSES = ("Resource temporarily unavailable", "can't start new thread", "BlockingIOError")
STOP_MEMORY, STOP_TIMEOUT, STOP_CRASHED = "memory", "timeout", "crashed"
# the error outputs the grader itself writes (plain words, no test source): feedback keeps them as they are
NOT_RUN, KERNEL_DIED, TEST_DID_NOT_FINISH = "NotRun", "KernelDied", "TestDidNotFinish"
GRADER_ERRORS = (NOT_RUN, KERNEL_DIED, TEST_DID_NOT_FINISH)


def trusted_imports(nb: NotebookNode) -> dict[str, list]:
    """Names the assignment's own (locked, non-test) code cells bind at top level by importing:
    ``{alias: [module, attribute or None]}``."""
    trusted: dict[str, list] = {}
    for cell in nb.cells:
        tree = cells.parse(cell.source) if cells.is_assignment_code(cell) else None
        if tree is not None:
            trusted.update({name: list(binding) for name, binding in cells.import_bindings(tree, True).items()})
    return trusted


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output in the grader's own words (one traceback line: nothing to hide)."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """nbgrader's Execute with clean stops at limits, test cells run outside the kernel and leftover cleanup."""

    guard = Bool(True, help="run test cells in this process (autograder.verdict), not in the kernel").tag(config=True)
    exchange_parent = Unicode("", help="folder for the kernel's answers (one the kernel can write; '': /tmp)").tag(
        config=True
    )
    notebook_timeout = Integer(0, help="wall-clock seconds for the whole notebook (0: no limit)").tag(config=True)
    memory_mb = Integer(0, help="the kernel's memory limit, for messages (0: none)").tag(config=True)
    sandbox_uid = Integer(-1, help="uid the kernel runs as; its processes are killed at the end (-1: none)").tag(
        config=True
    )
    outcome_path = Unicode("", help="where to write the run's outcome (JSON)").tag(config=True)
    kernel_log = Unicode("", help="the file receiving the kernel's stderr (to tell why it died)").tag(config=True)

    def __init__(self, *args, **kwargs):
        from .sandbox import SandboxedKernelManager  # a plain kernel manager unless the worker set a spec

        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._stop: tuple[str, str] | None = None
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
        self._deadline_hit = False
        self._boundary = None
        trusted = trusted_imports(nb)
        self._warm_up = verdict.import_in_background(trusted) if self.guard else None  # while the notebook runs
        self._prepare_workdir(resources)
        try:
            with self.setup_kernel():
                assert self.kc
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                assert info_msg
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                self._boundary = self._open_boundary() if self.guard else None
                try:
                    for index, cell in enumerate(self.nb.cells):
                        if self._stop is not None:
                            self._mark_not_run(cell)
                        else:
                            self._run_cell(cell, resources, index, trusted)
                finally:
                    if self._boundary is not None:
                        self._boundary.link.close()
        except (DeadKernelError, verdict.KernelLost):  # died while starting or while setting up the boundary
            self._stop = self._stop or (STOP_CRASHED, self._death_message())
            self._mark_unrun_cells()
        except TimeoutError:  # nbclient's: no reply to kernel_info or to the boundary's set-up within the time left
            if not self._deadline_hit:  # the wait was not cut short by the notebook's limit
                raise
            limit = f"the notebook ran longer than its {self.notebook_timeout} s limit"
            self._stop = self._stop or (STOP_TIMEOUT, limit)
            self._mark_unrun_cells()
        finally:
            kill_user(self.sandbox_uid if self.sandbox_uid >= 0 else None)
            self._reclaim_workdir(resources)
            self._write_outcome()
        self.set_widgets_metadata()
        return self.nb, self.resources

    # ------------------------------------------------------------------------------------------
    def _prepare_workdir(self, resources) -> None:
        """The kernel runs as the sandbox's user: give it the notebook's working folder."""
        from .sandbox import chown_tree

        path = (resources or {}).get("metadata", {}).get("path")
        if path and self.sandbox_uid >= 0:
            chown_tree(Path(path), self.sandbox_uid)

    def _reclaim_workdir(self, resources) -> None:
        """After the kernel: nbgrader (which runs as the grader) writes into the notebook's folder next.
        Links and special files the student's code left there could redirect those writes, so they go,
        and the folder goes back to the grader's user."""
        path = (resources or {}).get("metadata", {}).get("path")
        if not path or self.sandbox_uid < 0:
            return
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                entry = os.path.join(folder, name)
                if os.path.islink(entry) or not (os.path.isdir(entry) or os.path.isfile(entry)):
                    os.unlink(entry)
                else:
                    os.chown(entry, os.getuid(), os.getgid())
        os.chown(path, os.getuid(), os.getgid())

    def _mark_unrun_cells(self) -> None:
        for cell in self.nb.cells:
            if cell.cell_type == "code" and not cell.get("outputs"):
                self._mark_not_run(cell)

    def _open_boundary(self) -> verdict.Boundary:
        """The link to the kernel the test cells' code uses (before any student code runs)."""
        owner = self.sandbox_uid if self.sandbox_uid >= 0 else None
        link = verdict.KernelLink(self.km.get_connection_info(), self._kernel_alive, self.exchange_parent, owner)
        try:
            return verdict.Boundary(link, self._request_timeout)
        except BaseException:
            link.close()
            raise

    def _kernel_alive(self) -> bool:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is None or process.poll() is None

    def _request_timeout(self) -> float:
        """Seconds one request to the kernel may take: the per-cell limit, within the notebook's."""
        timeout = float(self.timeout or 300)
        if self._deadline is not None:
            timeout = max(1.0, min(timeout, self._deadline - time.monotonic()))
        return timeout

    async def _async_handle_timeout(self, timeout, cell=None):
        """nbclient asserts a cell here, so a wait outside any cell (the kernel_info request, the boundary's
        set-up) that runs out of time would end the grading with a bare AssertionError: raise a TimeoutError,
        which :meth:`preprocess` turns into the notebook's time limit (or re-raises when no limit was hit)."""
        if cell is None:
            raise TimeoutError(f"the kernel did not answer within {timeout} s")
        return await super()._async_handle_timeout(timeout, cell)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if cell is None and timeout is not None:
            # kernel_info and the boundary's set-up wait for a kernel that is still starting (TensorFlow's import
            # on a busy machine), not for a student's cell: the per-cell limit is not theirs
            timeout = max(timeout, self.startup_timeout)
        if self._deadline is None:
            return timeout
        left = max(1, int(self._deadline - time.monotonic()))
        if timeout is None or left < timeout:
            self._deadline_hit = True
            return left
        self._deadline_hit = False
        return timeout

    def _run_cell(self, cell, resources, index, trusted) -> None:
        if self._boundary is not None and cells.is_test_cell(cell):
            self._run_test(cell, index, trusted)
            return
        try:
            self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stop = self._stop or self._death_reason()
            cell.setdefault("outputs", []).append(error_output(KERNEL_DIED, self._stop[1]))
        if self._stop is None:
            self._stop = self._limit_hit(cell)

    def _run_test(self, cell, index, trusted) -> None:
        """A test cell, run by :mod:`autograder.verdict` in this process; its outputs become the cell's."""
        name = cell.metadata["nbgrader"].get("grade_id", f"cell {index}")
        cell.outputs, cell.execution_count = [], None
        started = time.monotonic()
        if self._warm_up is not None:
            self._warm_up.join()
        waited = time.monotonic() - started
        try:
            printed, error = self._boundary.run_test(cell.source, trusted, name)
            seconds = time.monotonic() - started
            self.log.info("verdict: %s in %.1f s (%.1f s waiting for imports)", name, seconds, waited)
        except verdict.KernelLost:
            self._stop = self._death_reason()
            cell.outputs.append(error_output(KERNEL_DIED, self._stop[1]))
            return
        except verdict.CallTimeout as late:
            deadline = self._deadline is not None and time.monotonic() >= self._deadline - 1
            limit = f"the notebook ran longer than its {self.notebook_timeout} s limit" if deadline else str(late)
            self._stop = (STOP_TIMEOUT, limit)
            cell.outputs.append(error_output(TEST_DID_NOT_FINISH, f"this test did not finish: {limit}"))
            return
        if printed:
            cell.outputs.append(new_output("stream", name="stdout", text=printed))
        if error is not None:
            cell.outputs.append(new_output("error", **error))

    def _limit_hit(self, cell) -> tuple[str, str] | None:
        """Did this cell stop at a limit? (timeout, memory, processes)"""
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            if output.get("ename") == "CellTimeoutError":
                if self._deadline_hit:
                    return STOP_TIMEOUT, f"the notebook ran longer than its {self.notebook_timeout} s limit"
                return STOP_TIMEOUT, f"this cell ran longer than the {self.timeout} s limit per cell"
            if any(sign in text for sign in OUT_OF_MEMORY):
                return STOP_MEMORY, self._memory_message()
            if any(sign in text for sign in OUT_OF_PROCESSES):
                return STOP_CRASHED, "the notebook started more processes or threads than the grader allows"
        return None

    def _memory_message(self) -> str:
        limit = f" (limit: {self.memory_mb} MB)" if self.memory_mb else ""
        return f"the notebook ran out of memory{limit}"

    def _kernel_returncode(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is None:
            return None
        for _ in range(20):
            code = process.poll()
            if code is not None:
                return code
            time.sleep(0.1)
        return None

    def _death_reason(self) -> tuple[str, str]:
        code = self._kernel_returncode()
        log = ""
        if self.kernel_log:
            try:
                log = Path(self.kernel_log).read_text(encoding="utf-8", errors="replace")[-20000:]
            except OSError:
                log = ""
        if code is not None and code in (-24, 152):  # SIGXCPU
            return STOP_TIMEOUT, "the kernel used up its CPU seconds and was stopped"
        if self.memory_mb and any(sign in log for sign in OUT_OF_MEMORY):
            return STOP_MEMORY, self._memory_message() + " and the kernel died"
        return STOP_CRASHED, self._death_message(code)

    def _death_message(self, code: int | None = None) -> str:
        if code is None:
            return "the kernel died"
        if code < 0:
            return f"the kernel died (signal {-code})"
        return f"the kernel exited (exit status {code}): code in the notebook ended it, e.g. os._exit() or exit()"

    def _mark_not_run(self, cell) -> None:
        if cell.cell_type != "code":
            return
        reason = self._stop[1] if self._stop else "an earlier cell stopped the notebook"
        cell.outputs = [error_output(NOT_RUN, f"this cell did not run: {reason}. Tests that did not run score 0.")]

    def _write_outcome(self) -> None:
        if not self.outcome_path:
            return
        stop, message = self._stop or (None, "")
        Path(self.outcome_path).write_text(json.dumps({"stop": stop, "message": message}), encoding="utf-8")
