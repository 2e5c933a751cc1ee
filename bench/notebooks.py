"""How long every notebook takes, in smoke and in full mode, and how long an assignment takes to grade.

Runs each lecture (``notebooks/*.ipynb``) and each assignment's solution
(``source/*/*.ipynb``) top to bottom with papermill, as ``course handouts`` does
(``autograder.handouts.run_one``), once per mode, and prints, for each run, its
wall time, its peak memory (the resident memory of the kernel and everything else
this process started, sampled every 0.25 s) and its headline figure (what the
notebook prints of its main result: :data:`HEADLINES`; ``-`` for a notebook that
has none, such as the convolution demo), then the totals per mode. The wall
times are judged against the targets on 2 CPU cores:

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
    python bench/notebooks.py --modes smoke --backend jax   # the same table on Keras' JAX backend
    python bench/notebooks.py --modes smoke,full --handouts # full mode as the committed handouts recorded it

``--backend`` sets ``KERAS_BACKEND`` for the kernels (tensorflow, jax or torch); the backend's
package must be installed (it is not part of requirements.txt), or the script stops and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from autograder.handouts import handout_notebooks, output_stem, prepare_environment, run_one  # noqa: E402

TARGETS_S = {"smoke": 90, "full": 20 * 60}
GRADE_TARGET_S = 60
BACKENDS = ("tensorflow", "jax", "torch")

#: Each notebook's headline figure: a label, and a pattern whose group is the figure, matched against
#: the notebook's printed output (the last match counts). tests/test_bench_notebooks.py checks each
#: pattern against the committed handout, so a changed print cannot silently empty the column.
HEADLINES: dict[str, tuple[str, str]] = {
    "notebooks/01_cnn_vs_fc.ipynb": ("CNN test accuracy %", r"Test accuracy: CNN ([\d.]+)%"),
    "notebooks/02_lenet5.ipynb": ("test error, augmented %", r"test error with augmentation \(mean\)\s+([\d.]+)%"),
    "notebooks/05_resnet.ipynb": ("train error gap, plain-56", r"plain-56 minus ResNet-56, training error: ([\d.]+)"),
    "notebooks/10_xray_case_study.ipynb": ("border-only bal. accuracy", r"accuracy from the border alone: ([\d.]+)"),
    "source/feature_maps/feature_maps.ipynb": ("share of dead conv1 maps", r"zero everywhere on this photo: ([\d.]+)"),
    "source/inception_cifar10/inception_cifar10.ipynb": ("test accuracy", r"test accuracy: ([\d.]+) \| training time"),
    "source/lenet5/lenet5.ipynb": ("test accuracy, modern variant", r"test accuracy: ([\d.]+) \| training time"),
    "source/vgg16_transfer/vgg16_transfer.ipynb": ("test accuracy", r"test accuracy after fine-tuning: ([\d.]+)"),
    "source/xray/xray.ipynb": ("test macro AUC", r"'macro': ([\d.]+)\}"),
}


def printed(executed: Path) -> str:
    """Everything an executed notebook printed (its stdout streams)."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    return "".join(
        "".join(o.get("text", ""))
        for cell in nb["cells"]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


def headline(notebook: str, text: str) -> str:
    """``label: figure`` for ``notebook`` from its printed ``text``; ``-`` when it has none or none printed."""
    if notebook not in HEADLINES:
        return "-"
    label, pattern = HEADLINES[notebook]
    found = re.findall(pattern, text)
    return f"{label}: {found[-1]}" if found else f"{label}: (not printed)"


class PeakMemory:
    """The largest resident memory, in MB, of this process's children and their children while it runs."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s, self.peak_mb = every_s, 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.every_s):
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def time_notebooks(notebooks: list[Path], mode: str, out: Path) -> list[dict]:
    prepare_environment(mode == "smoke")
    rows = []
    for notebook in notebooks:
        with PeakMemory() as memory:
            result = run_one(ROOT, notebook, out, smoke=mode == "smoke", cell_timeout=None)
        name = str(notebook.relative_to(ROOT))
        executed = (out / output_stem(ROOT, notebook)).with_suffix(".ipynb")
        rows.append(
            {
                "notebook": name,
                "mode": mode,
                "seconds": result.seconds,
                "peak_mb": round(memory.peak_mb),
                "headline": headline(name, printed(executed)) if executed.exists() else "-",
                "ok": result.ok,
                "error": result.error,
                "target_s": TARGETS_S[mode],
                "passed": result.ok and result.seconds <= TARGETS_S[mode],
            }
        )
        row = rows[-1]
        verdict = "PASS" if row["passed"] else "FAIL"
        print(
            f"{mode:5} {name:50} {row['seconds']:8.1f} s {row['peak_mb']:6d} MB  (target <= {row['target_s']} s) "
            f"{verdict}  {row['headline']}" + (f"  {row['error']}" if row["error"] else ""),
            flush=True,
        )
    return rows


def from_handouts(notebooks: list[Path]) -> list[dict]:
    """The full-mode rows as the committed handouts (``solutions/``) recorded them: papermill's run time
    and the printed headline. Their peak memory was not recorded (``None``)."""
    rows = []
    for notebook in notebooks:
        name = str(notebook.relative_to(ROOT))
        handout = (ROOT / "solutions" / output_stem(ROOT, notebook)).with_suffix(".ipynb")
        if not handout.exists():
            print(f"full  {name:50} (no committed handout)")
            continue
        papermill = json.loads(handout.read_text(encoding="utf-8"))["metadata"].get("papermill", {})
        seconds = float(papermill.get("duration") or 0.0)
        rows.append(
            {
                "notebook": name,
                "mode": "full",
                "seconds": round(seconds, 1),
                "peak_mb": None,
                "headline": headline(name, printed(handout)),
                "ok": True,
                "error": "",
                "target_s": TARGETS_S["full"],
                "passed": seconds <= TARGETS_S["full"],
                "run_on": str(papermill.get("start_time", ""))[:10],
            }
        )
        row = rows[-1]
        print(
            f"full  {name:50} {seconds:8.1f} s {'-':>6}     (target <= {row['target_s']} s) "
            f"{'PASS' if row['passed'] else 'FAIL'}  {row['headline']}  [handout of {row['run_on']}]",
            flush=True,
        )
    return rows


def totals(rows: list[dict]) -> None:
    """One line per mode: the notebooks' summed wall time and the largest peak memory."""
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        seconds = sum(r["seconds"] for r in mine)
        peaks = [r["peak_mb"] for r in mine if r["peak_mb"]]
        memory = f"largest peak memory {max(peaks)} MB" if peaks else "peak memory not recorded"
        print(f"total {mode}: {len(mine)} notebooks, {seconds:.0f} s ({seconds / 60:.1f} min); {memory}")


def use_backend(name: str) -> None:
    """Kernels started from now on use Keras' ``name`` backend; stop with a clear message if it is missing."""
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[name]
    if importlib.util.find_spec(module) is None:
        raise SystemExit(f"--backend {name}: the package `{module}` is not installed here (pip install {module})")
    os.environ["KERAS_BACKEND"] = name


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
    parser.add_argument("--backend", choices=BACKENDS, default=None, help="Keras backend for the kernels")
    parser.add_argument(
        "--handouts",
        action="store_true",
        help="instead of running full mode, read its row from each committed handout (solutions/)",
    )
    args = parser.parse_args(argv)
    if args.backend:
        use_backend(args.backend)
    notebooks = handout_notebooks(ROOT)
    if args.notebooks:
        wanted = {Path(p).resolve() for p in args.notebooks}
        notebooks = [p for p in notebooks if p in wanted]
    from course import train

    print(train.describe_device())
    print(f"{len(notebooks)} notebook(s); modes: {args.modes}; started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    rows = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        if mode == "full" and args.handouts:
            rows += from_handouts(notebooks)
            continue
        out = args.full_out if mode == "full" and args.full_out else args.out / mode
        rows += time_notebooks(notebooks, mode, out.resolve())
    totals(rows)
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
