"""Grade one submission, in its own process: ``python -m autograder.worker``.

:mod:`autograder.batch` starts one worker per submission, so a submission that
crashes nbgrader, hangs or eats memory only ever costs its own row. The
worker runs nbgrader's ``Autograde`` then ``GenerateFeedback`` converters for
one student (with the course's ``nbgrader_config.py``), appends their log to
``--log`` and writes a small JSON result to ``--result``::

    {"autograde": {"ok": true, "error": ""}, "feedback": {"ok": true, "error": ""}}

Exit status: 0 when both steps succeeded, 1 otherwise. The worker runs under
the limits :class:`autograder.batch.Limits` sets (inherited by the kernel);
when the notebook hit one, the result says so: ``"limit": "memory"`` (a cell
raised ``MemoryError``) or ``"limit": "cpu"`` (the kernel died after using up
``--cpu-seconds``), and the batch scores the submission 0.
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


# what running out of address space looks like in a cell's error or the kernel's stderr:
# numpy/Python raise MemoryError; TensorFlow's library cannot be mapped, or it aborts
# when a thread (its stack is address space too) cannot be created
OUT_OF_MEMORY = ("MemoryError", "failed to map segment", "Cannot allocate memory", "bad_alloc", "pthread_create")


def _hit_limit(root: Path, assignment: str, student: str, outcome: dict, cpu_s: int) -> str | None:
    """``"memory"``, ``"cpu"`` or None: did the notebook hit a resource limit?"""
    import nbformat

    errors = [outcome["autograde"]["error"]]
    for path in (root / "autograded" / student / assignment).glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        outputs = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        errors += [f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in outputs]
    if any(sign in error for error in errors for sign in OUT_OF_MEMORY):
        return "memory"
    if cpu_s and not outcome["autograde"]["ok"]:
        try:
            import resource
        except ImportError:
            return None
        used = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, once it is dead
        if used.ru_utime + used.ru_stime >= cpu_s - 1:
            return "cpu"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.worker", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the course root")
    parser.add_argument("assignment")
    parser.add_argument("student")
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--log", type=Path, default=None, help="file that receives nbgrader's log")
    parser.add_argument("--cpu-seconds", type=int, default=0, help="the kernel's CPU limit (to recognise it)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    outcome = grade_student(root, args.assignment, args.student, args.log)
    outcome["limit"] = _hit_limit(root, args.assignment, args.student, outcome, args.cpu_seconds)
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(outcome, indent=1), encoding="utf-8")
    return 0 if outcome["autograde"]["ok"] and outcome["feedback"]["ok"] and not outcome["limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
