"""How long every notebook takes, in smoke and in full mode, and how long an assignment takes to grade.

Runs each lecture (``notebooks/*.ipynb``) and each assignment's solution
(``source/*/*.ipynb``) top to bottom with papermill, as ``course handouts`` does
(``autograder.handouts.run_one``), once per mode, and prints the wall time of
each run against the targets on 2 CPU cores:

* smoke mode (``SMOKE=True``): at most 90 s per notebook;
* full mode (the defaults, the real result): at most 20 minutes per notebook.

With ``--grade ASSIGNMENT ...`` it also grades that assignment's sample
submissions (``autograder/fixtures/ASSIGNMENT/``) with ``--jobs 1`` in a
throwaway course root and prints each submission's seconds against the target
of at most 60 s per submission.

The executed notebooks go to ``--out`` (default ``build/bench-notebooks/``,
one folder per mode). ``--full-out solutions`` writes the full-mode runs where
``course handouts`` writes them, so one run both times the notebooks and
refreshes the committed handouts.

Run it on an otherwise quiet machine: anything else on the CPUs only adds time,
so figures from a busy machine are pessimistic. The first lines printed say
what the machine is.

Usage::

    python bench/notebooks.py                       # smoke and full, every notebook
    python bench/notebooks.py --modes smoke         # smoke only (a few minutes)
    python bench/notebooks.py notebooks/05_resnet.ipynb --modes full
    python bench/notebooks.py --grade feature_maps --full-out solutions --json reports/notebooks.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from autograder.handouts import handout_notebooks, prepare_environment, run_one  # noqa: E402

TARGETS_S = {"smoke": 90, "full": 20 * 60}
GRADE_TARGET_S = 60


def time_notebooks(notebooks: list[Path], mode: str, out: Path) -> list[dict]:
    prepare_environment(mode == "smoke")
    rows = []
    for notebook in notebooks:
        result = run_one(ROOT, notebook, out, smoke=mode == "smoke", cell_timeout=None)
        rows.append(
            {
                "notebook": str(notebook.relative_to(ROOT)),
                "mode": mode,
                "seconds": result.seconds,
                "ok": result.ok,
                "error": result.error,
                "target_s": TARGETS_S[mode],
                "passed": result.ok and result.seconds <= TARGETS_S[mode],
            }
        )
        row = rows[-1]
        verdict = "PASS" if row["passed"] else "FAIL"
        print(
            f"{mode:5} {row['notebook']:45} {row['seconds']:8.1f} s  (target <= {row['target_s']} s)  {verdict}"
            + (f"  {row['error']}" if row["error"] else ""),
            flush=True,
        )
    return rows


def time_grading(assignment: str) -> list[dict]:
    from autograder.batch import Limits, grade_batch
    from autograder.release import ensure_registered
    from autograder.samples import build_submissions, load_samples

    work = Path(tempfile.mkdtemp(prefix=f"bench-grade-{assignment}-"))
    try:
        root = work / "course"
        root.mkdir()
        shutil.copy2(ROOT / "nbgrader_config.py", root)
        for part in ("source", "release"):
            shutil.copytree(ROOT / part, root / part)
        build_submissions(root, assignment, load_samples(assignment))
        ensure_registered(root, assignment, work / "register.log")
        os.environ.pop("COURSE_SMOKE", None)
        results = grade_batch(root, assignment, limits=Limits(), jobs=1, regrade=True, warn=lambda _: None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = []
    for r in results:
        rows.append(
            {
                "assignment": assignment,
                "student": r.student,
                "status": r.status,
                "seconds": r.seconds,
                "passed": r.seconds <= GRADE_TARGET_S,
            }
        )
        print(
            f"grade {assignment}/{r.student:30} {r.seconds:8.1f} s  (target <= {GRADE_TARGET_S} s)  "
            f"{'PASS' if rows[-1]['passed'] else 'FAIL'}  [{r.status}, {r.auto_score:g}/{r.auto_max_score:g}]",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="only these notebooks (default: every lecture and solution)")
    parser.add_argument("--modes", default="smoke,full", help="comma-separated: smoke, full (default: both)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench-notebooks")
    parser.add_argument("--full-out", type=Path, default=None, help="where full-mode runs go (default: OUT/full)")
    parser.add_argument("--grade", nargs="*", default=[], metavar="ASSIGNMENT", help="also time grading these")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    args = parser.parse_args(argv)
    notebooks = handout_notebooks(ROOT)
    if args.notebooks:
        wanted = {Path(p).resolve() for p in args.notebooks}
        notebooks = [p for p in notebooks if p in wanted]
    from course import train

    print(train.describe_device())
    print(f"{len(notebooks)} notebook(s); modes: {args.modes}; started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    rows = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        out = args.full_out if mode == "full" and args.full_out else args.out / mode
        rows += time_notebooks(notebooks, mode, out.resolve())
    grading = [row for assignment in args.grade for row in time_grading(assignment)]
    passed = all(r["passed"] for r in rows + grading)
    print("ALL TARGETS PASS" if passed else "SOME TARGETS FAIL")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"device": train.device_summary(), "notebooks": rows, "grading": grading}, indent=1)
        )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
