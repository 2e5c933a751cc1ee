"""Grade one submission, in its own process: ``python -m autograder.worker``.

:mod:`autograder.batch` starts one worker per submission, so a submission that
crashes nbgrader, hangs or eats memory only ever costs its own row. The
worker runs nbgrader's ``Autograde`` then ``GenerateFeedback`` converters for
one student (with the course's ``nbgrader_config.py``), appends their log to
``--log`` and writes a small JSON result to ``--result``::

    {"autograde": {"ok": true, "error": ""}, "feedback": {"ok": true, "error": ""}}

Exit status: 0 when both steps succeeded, 1 otherwise. This is also the place
to add per-submission limits (memory, CPU) later, before nbgrader starts.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .nbgrader_env import ConverterResult, run_converter


def grade_student(root: Path, assignment: str, student: str, log_path: Path | None) -> dict[str, dict]:
    """Autograde one student's submission, then write its feedback HTML."""
    autograde = run_converter("Autograde", root, assignment, student, log_path=log_path, create_student=True)
    if autograde.ok:
        feedback = run_converter("GenerateFeedback", root, assignment, student, log_path=log_path)
    else:
        feedback = ConverterResult(False, "skipped: autograding failed")
    return {"autograde": asdict(autograde), "feedback": asdict(feedback)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.worker", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the course root")
    parser.add_argument("assignment")
    parser.add_argument("student")
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--log", type=Path, default=None, help="file that receives nbgrader's log")
    args = parser.parse_args(argv)
    outcome = grade_student(args.root.resolve(), args.assignment, args.student, args.log)
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(outcome, indent=1), encoding="utf-8")
    return 0 if all(step["ok"] for step in outcome.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
