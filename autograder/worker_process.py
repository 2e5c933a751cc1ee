"""The batch's side of a grading worker (``python -m autograder.worker --serve``).

A grading slot keeps one worker process for the whole batch, so nbgrader, Keras and TensorFlow are
imported once per slot, not once per submission (about 8 s of CPU each). The worker never runs
student code: it drives the sandboxed kernel and computes the verdicts (:mod:`autograder.verdict`).
What one submission could leave in it is reset between jobs (see :func:`autograder.worker.serve`).

The protocol is one line each way: the batch writes a job file's path to the worker's stdin; the
worker writes ``done`` to its stdout once ``result.json`` is beside the job. A worker that does not
answer within the job's wall-clock limit is killed with everything it started, and so is one that
dies; either way the next job starts a fresh worker, so a submission that breaks its worker still
costs only its own row.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

_LINUX = sys.platform.startswith("linux")


class WorkerProcess:
    """One slot's worker. :meth:`grade` hands it a job; :meth:`close` ends it."""

    def __init__(self, root: Path, log: Path, command: list[str] | None = None) -> None:
        self.root, self.log = Path(root), Path(log)  # log: what the worker prints between jobs
        self.command = command or [sys.executable, "-m", "autograder.worker", "--serve"]
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a", encoding="utf-8") as log:
            return subprocess.Popen(
                self.command,
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
                preexec_fn=_die_with_parent if _LINUX else None,
            )

    def grade(self, job: Path, timeout_s: float) -> str:
        """Grade ``job``: ``"done"``, ``"timeout"`` (the worker was killed) or ``"died"``."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        try:
            self.proc.stdin.write(f"{job}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._kill()
            return "died"
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                return "timeout"
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 5.0))
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if line.strip() == "done":
                return "done"
            if not line:  # end of file: the worker is gone
                self._kill()
                return "died"

    def close(self, timeout_s: float = 30) -> None:
        """End the worker: it finishes when its stdin closes; killed if it does not."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            self._kill()
        self.proc = None

    def _kill(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc)
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self.proc = None


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill the worker and everything it started (kernels run in sessions of their own)."""
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        children = []
    for child in children:
        try:
            child.kill()
        except Exception:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _die_with_parent() -> None:
    """preexec_fn: the worker is killed when the grader dies (so is its kernel, see sandbox)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
