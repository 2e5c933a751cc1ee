"""Grade submissions in a process apart from the grader: ``python -m autograder.worker JOB.json``
(one job), or ``python -m autograder.worker --serve`` (one job per line of stdin; see
:mod:`autograder.worker_process`, the batch's side).

:mod:`autograder.batch` prepares a private course root for the submission (its
own copy of the gradebook, the rebuilt notebook in ``submitted/``) and writes a
:class:`Job`; each grading slot keeps one worker, and a submission that crashes
nbgrader or hangs gets its worker killed and only ever costs its own row. The worker runs
nbgrader's ``Autograde`` converter, with :class:`autograder.execute.GuardedExecute`
in place of ``Execute`` and the kernel started in the sandbox
(:mod:`autograder.sandbox`), then ``GenerateFeedback``, and writes a small JSON
result beside the job::

    {"autograde": {"ok": true, "error": ""}, "feedback": {"ok": true, "error": ""},
     "stop": null | "memory" | "timeout" | "crashed", "message": "..."}

Exit status (one job): 0 when both steps succeeded, 1 otherwise.

Between jobs, ``--serve`` puts back what one job could change in this process: the environment,
the working folder, Keras' global state, and where its output goes (each job's into its
student's ``.stderr`` log). It keeps the imported modules (that is the point: Keras and
nbgrader load once) and their read-only caches, such as the reference test set.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .nbgrader_env import ConverterResult, load_config, run_converter


@dataclass
class Job:
    course_root: str  # where nbgrader_config.py lives
    private_root: str  # the private course root this submission is graded in
    assignment: str
    student: str
    log: str  # nbgrader's log
    kernel_log: str  # the worker's (and kernel's) stderr
    cell_timeout_s: int = 300
    notebook_timeout_s: int = 1800
    memory_mb: int = 0
    sandbox_spec: str | None = None  # JSON spec for autograder.sandbox, None: a plain kernel
    sandbox_uid: int | None = None
    guard: bool = True
    env: dict = field(default_factory=dict)  # extra environment for the kernel

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Job:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def grading_config(job: Job):
    """The course's nbgrader config, pointed at the private root, with the guarded Execute step."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from .execute import GuardedExecute

    private = Path(job.private_root)
    config = load_config(Path(job.course_root))
    config.CourseDirectory.root = str(private)
    config.CourseDirectory.db_url = f"sqlite:///{private / 'gradebook.db'}"
    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    config.Autograde.autograde_preprocessors = [GuardedExecute if step is Execute else step for step in steps]
    config.Execute.timeout = job.cell_timeout_s
    guarded = config.GuardedExecute
    guarded.guard = job.guard
    guarded.notebook_timeout = job.notebook_timeout_s
    guarded.memory_mb = job.memory_mb
    guarded.sandbox_uid = -1 if job.sandbox_uid is None else job.sandbox_uid
    guarded.outcome_path = str(private / "outcome.json")
    guarded.kernel_log = job.kernel_log
    guarded.exchange_parent = str(private / "home")  # the kernel's home: it may write there, in the sandbox too
    return config


def grade(job: Job) -> dict:
    """Autograde the job's submission, then write its feedback HTML."""
    from .sandbox import SPEC_ENV

    os.environ.update(job.env)
    if job.sandbox_spec:
        os.environ[SPEC_ENV] = job.sandbox_spec
    private, log = Path(job.private_root), Path(job.log)
    config = grading_config(job)
    autograde = run_converter(
        "Autograde", private, job.assignment, job.student, log_path=log, create_student=True, config=config
    )
    if autograde.ok:
        feedback = run_converter("GenerateFeedback", private, job.assignment, job.student, log_path=log, config=config)
    else:
        feedback = ConverterResult(False, "skipped: autograding failed")
    outcome = {"stop": None, "message": ""}
    if (private / "outcome.json").exists():
        outcome = json.loads((private / "outcome.json").read_text(encoding="utf-8"))
    return {"autograde": asdict(autograde), "feedback": asdict(feedback), **outcome}


def run_job(job_path: Path) -> bool:
    """Grade the job at ``job_path`` and write ``result.json`` beside it; whether both steps succeeded."""
    result = grade(Job.read(job_path))
    job_path.with_name("result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result["autograde"]["ok"] and result["feedback"]["ok"]


def serve() -> int:
    """Grade the job named on each line of stdin, one after another; answer ``done`` on stdout."""
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")  # the protocol's own channel
    between_jobs = os.dup(2)  # the worker's log, for what it prints between jobs
    os.dup2(between_jobs, 1)
    for line in sys.stdin:
        job_path = Path(line.strip())
        environ, cwd = dict(os.environ), os.getcwd()
        try:
            log = Job.read(job_path).kernel_log
            with open(log, "a", encoding="utf-8") as out:
                sys.stdout.flush(), sys.stderr.flush()
                os.dup2(out.fileno(), 1), os.dup2(out.fileno(), 2)
            run_job(job_path)
        except Exception as err:  # the batch reads a missing result.json as "the grader failed"
            print(f"worker: {job_path}: {type(err).__name__}: {err}", file=sys.stderr)
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(between_jobs, 1), os.dup2(between_jobs, 2)
            os.environ.clear()
            os.environ.update(environ)
            os.chdir(cwd)
            _forget_models()
        answers.write("done\n")
    return 0


def _forget_models() -> None:
    """Keras' global state (layer-name counters, the graph of the models a job loaded)."""
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()
    import gc

    gc.collect()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--serve"]:
        return serve()
    if len(args) != 1:
        print("usage: python -m autograder.worker JOB.json | --serve", file=sys.stderr)
        return 2
    return 0 if run_job(Path(args[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
