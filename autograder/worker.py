"""Grade one submission, in its own process: ``python -m autograder.worker JOB.json``.

:mod:`autograder.batch` prepares a private course root for the submission (its
own copy of the gradebook, the rebuilt notebook in ``submitted/``), writes a
:class:`Job` and starts one worker per submission, so a submission that
crashes nbgrader or hangs only ever costs its own row. The worker runs
nbgrader's ``Autograde`` converter, with :class:`autograder.execute.GuardedExecute`
in place of ``Execute`` and the kernel started in the sandbox
(:mod:`autograder.sandbox`), then ``GenerateFeedback``, and writes a small JSON
result beside the job::

    {"autograde": {"ok": true, "error": ""}, "feedback": {"ok": true, "error": ""},
     "stop": null | "memory" | "timeout" | "crashed", "message": "..."}

Exit status: 0 when both steps succeeded, 1 otherwise.
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


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m autograder.worker JOB.json", file=sys.stderr)
        return 2
    job_path = Path(args[0])
    result = grade(Job.read(job_path))
    job_path.with_name("result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if result["autograde"]["ok"] and result["feedback"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
