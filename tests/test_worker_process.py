"""One grading worker per slot for the whole batch (autograder.worker_process, autograder.worker.serve):
the protocol, a worker that hangs or dies is replaced, and nothing one job sets reaches the next."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from conftest import ROOT, subprocess_env

from autograder.worker import Job
from autograder.worker_process import WorkerProcess

# A stand-in worker: answers "done" for a job named ok, hangs for one named hang, exits for one named exit.
FAKE = textwrap.dedent(
    """
    import os, sys, time
    for line in sys.stdin:
        name = os.path.basename(line.strip())
        if name == "hang":
            time.sleep(600)
        if name == "exit":
            os._exit(3)
        print("pid", os.getpid(), file=sys.stderr, flush=True)
        print("done", flush=True)
    """
)


def test_a_worker_answers_and_a_hung_or_dead_one_is_replaced(tmp_path):
    worker = WorkerProcess(tmp_path, tmp_path / "worker.log", command=[sys.executable, "-c", FAKE])
    assert worker.grade(tmp_path / "ok", timeout_s=30) == "done"
    first = worker.proc.pid
    assert worker.grade(tmp_path / "ok", timeout_s=30) == "done" and worker.proc.pid == first, "kept for the next job"
    started = time.monotonic()
    assert worker.grade(tmp_path / "hang", timeout_s=2) == "timeout"
    assert time.monotonic() - started < 10 and worker.proc is None, "killed at its limit"
    assert worker.grade(tmp_path / "exit", timeout_s=30) == "died"
    assert worker.grade(tmp_path / "ok", timeout_s=30) == "done" and worker.proc.pid != first, "a fresh worker"
    worker.close()
    assert worker.proc is None
    pids = {line.split()[1] for line in (tmp_path / "worker.log").read_text().splitlines()}
    assert len(pids) == 2, "one worker before the hang, one after"


# The real serve loop, with run_job replaced: each job records what it found and changes the process.
SERVE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import autograder.worker as worker

    def run_job(path):
        found = {"leak": os.environ.get("LEAK"), "cwd": os.getcwd()}
        path.with_name("result.json").write_text(json.dumps(found))
        print("printed by", path.parent.name)
        print("warned by", path.parent.name, file=sys.stderr)
        os.environ["LEAK"] = path.parent.name
        os.chdir("/")
        if path.parent.name == "b":
            raise RuntimeError("broken job")
        return True

    worker.run_job = run_job
    sys.exit(worker.serve())
    """
)


def test_serve_puts_back_the_environment_and_folder_and_sends_output_to_each_students_log(tmp_path):
    jobs = []
    for name in ("a", "b", "c"):
        folder = tmp_path / name
        folder.mkdir()
        log = folder / "student.stderr"
        job = Job(str(ROOT), str(folder), "lenet5", name, str(folder / "nbgrader.log"), str(log))
        jobs.append(job.write(folder / "job.json"))
    proc = subprocess.run(
        [sys.executable, "-c", SERVE],
        input="".join(f"{job}\n" for job in jobs),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["done", "done", "done"], "only the answers reach the protocol's stdout"
    for name in ("a", "b", "c"):
        found = json.loads((tmp_path / name / "result.json").read_text())
        assert found == {"leak": None, "cwd": str(tmp_path)}, (name, found)
        log = (tmp_path / name / "student.stderr").read_text()
        assert f"printed by {name}" in log and f"warned by {name}" in log
    assert "RuntimeError: broken job" in (tmp_path / "b" / "student.stderr").read_text(), "in its student's log"
