"""The ``course`` command: the instructor's pipeline in seven subcommands.

    course release [ASSIGNMENT] [--force]   source/ -> release/ (nbgrader generate_assignment)
    course grade ASSIGNMENT                 submitted/ -> autograded/, feedback/, reports/grades-A.csv
    course handouts [--smoke] [--out DIR]   run lectures + solutions, write notebooks, HTML and the handout site
    course doctor                           versions, device and where the datasets come from
    course fmt [--check] [PATHS]            canonical form for authored notebooks
    course serve MODEL_DIR                  an HTTP inference service for a saved model (course.serve)
    course student-edition [DEST] [--zip]   the course without answers, for students (build/student-edition/)

Every subcommand finds the course root (the folder holding ``nbgrader_config.py``)
from the working directory, or takes ``--root``. Failures end with one line on
stderr and a non-zero exit status; set ``COURSE_DEBUG=1`` to see the traceback.
This module only parses arguments and prints; each subcommand's work lives in
its own module of this package (release, batch, handouts, notebook_format, student_edition), or of the
``course`` library (``course serve``: ``course.serve``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from .nbgrader_env import PipelineError, assignments, check_assignment, find_course_root


def _root(args: argparse.Namespace) -> Path:
    if args.root is not None:
        root = Path(args.root).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise PipelineError(f"{root} is not a course root (it holds no nbgrader_config.py)")
        return root
    return find_course_root()


def _rel(root: Path, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------------------------
# course release


def cmd_release(args: argparse.Namespace) -> int:
    from .release import release

    root = _root(args)
    names = [check_assignment(root, args.assignment)] if args.assignment else assignments(root)
    if not names:
        raise PipelineError("no assignments: source/ holds no folder with a notebook")
    for index, name in enumerate(names, start=1):
        log = root / "build" / "logs" / f"release-{name}.log"
        print(f"[{index}/{len(names)}] {name}: generating release/{name} from source/{name} ...", flush=True)
        outcome = release(root, name, force=args.force, log_path=log)
        print(
            f"[{index}/{len(names)}] {name}: {outcome.action} ({_rel(root, outcome.path)}; no solution or "
            "hidden test in it)",
            flush=True,
        )
    print(f"gradebook: {_rel(root, root / 'gradebook.db')} knows {', '.join(names)}")
    return 0


# ----------------------------------------------------------------------------------------------
# course grade


def cmd_grade(args: argparse.Namespace) -> int:
    root = _root(args)
    check_assignment(root, args.assignment)

    from tqdm import tqdm

    from .batch import Limits, discover, grade_batch
    from .sandbox import describe
    from .statuses import STATUSES

    total = len(args.student) if args.student else len(discover(root, args.assignment))
    bar = tqdm(total=total, unit="submission", file=sys.stderr, disable=total == 0)

    def on_start(submission):
        bar.set_postfix_str(submission.student)

    def on_done(r):
        line = f"{r.student}: {r.status}, {r.score:g}/{r.max_score:g}"
        line += f" (autograded {r.auto_score:g}/{r.auto_max_score:g}"
        line += f", {r.needs_manual_grade} to grade by hand)" if r.needs_manual_grade else ")"
        line += " unchanged since the last run, kept" if r.reused else f" in {r.seconds:g} s"
        line += (f" - {r.message}" if r.message else "") + (f" [{r.flags}]" if r.flags else "")
        bar.write(line)
        bar.update(1)

    limits = Limits(
        memory_mb=args.memory_mb or None,
        cpu_s=args.cpu_seconds or None,
        processes=args.processes or None,
        cell_s=int(args.cell_timeout),
        notebook_s=int(args.timeout),
    )
    jobs = f"{args.jobs} at a time" if args.jobs > 1 else "one at a time"
    print(f"grading {args.assignment}: one process per submission, {jobs}; {limits.describe()}", flush=True)
    print(
        describe() if not args.no_sandbox else "sandbox: off (--no-sandbox): kernels run as the grader, without limits",
        flush=True,
    )
    report_path = root / "reports" / f"grades-{args.assignment}.csv"
    try:
        results = grade_batch(
            root,
            args.assignment,
            limits=limits,
            students=args.student,
            jobs=args.jobs,
            regrade=args.regrade,
            sandbox=not args.no_sandbox,
            report=report_path,
            on_start=on_start,
            on_done=on_done,
            warn=lambda w: print(w, file=sys.stderr),
        )
    finally:
        bar.close()
    plot = _score_plot(root, args.assignment, report_path)
    counts = ", ".join(
        f"{sum(r.status == s for r in results)} {s}" for s in STATUSES if any(r.status == s for r in results)
    )
    print(
        f"wrote {_rel(root, report_path)} ({counts}){plot}; feedback in feedback/*/{args.assignment}/, "
        f"logs in reports/logs/{args.assignment}/"
    )
    return 0


def _score_plot(root: Path, assignment: str, report: Path) -> str:
    """Draw reports/scores-ASSIGNMENT.png; the grades are written already, so a failure here only warns."""
    from .batch import grade_cells
    from .report import plot_scores

    try:
        max_points = {c.grade_id: c.max_score for c in grade_cells(root, assignment)}
        out = plot_scores(
            report, root / "reports" / f"scores-{assignment}.png", f"{assignment}: scores", max_points=max_points
        )
    except Exception as err:
        print(f"warning: the score plot could not be drawn ({type(err).__name__}: {err})", file=sys.stderr)
        return ""
    return f" and {_rel(root, out)}"


# ----------------------------------------------------------------------------------------------
# course handouts


def cmd_handouts(args: argparse.Namespace) -> int:
    root = _root(args)

    from .handouts import FULL_OUT, SMOKE_OUT

    out_dir = Path(args.out).resolve() if args.out else root / (SMOKE_OUT if args.smoke else FULL_OUT)
    if not args.site_only:
        run_handouts(root, args, out_dir)
    if args.no_site:
        return 0
    return build_handout_site(root, args, out_dir)


def run_handouts(root: Path, args: argparse.Namespace, out_dir: Path) -> None:
    from tqdm import tqdm

    from .handouts import handout_notebooks, prepare_environment, run_one

    notebooks = handout_notebooks(root)
    if args.notebooks:
        wanted = [Path(p).resolve() for p in args.notebooks]
        unknown = [p for p in wanted if p not in notebooks]
        if unknown:
            raise PipelineError(f"not a lecture or assignment notebook: {unknown[0]}")
        notebooks = [p for p in notebooks if p in wanted]
    if not notebooks:
        raise PipelineError("no notebooks: notebooks/*.ipynb and source/*/*.ipynb are empty")
    timeout = args.cell_timeout if args.cell_timeout is not None else (600 if args.smoke else None)
    prepare_environment(args.smoke)
    mode = "smoke (SMOKE=True, COURSE_SMOKE=1)" if args.smoke else "full"
    print(f"handouts: {len(notebooks)} notebook(s), {mode} mode, into {_rel(root, out_dir)}/", flush=True)
    failures = []
    with tqdm(notebooks, unit="notebook", file=sys.stderr) as bar:
        for notebook in bar:
            bar.set_postfix_str(_rel(root, notebook))
            result = run_one(root, notebook, out_dir, smoke=args.smoke, cell_timeout=timeout)
            if result.ok:
                bar.write(f"ok      {result.notebook} in {result.seconds:g} s -> {_rel(root, result.html)}")
            else:
                failures.append(result)
                bar.write(f"FAILED  {result.notebook}: {result.error}")
    if failures:
        names = ", ".join(str(f.notebook) for f in failures)
        raise PipelineError(
            f"{len(failures)} of {len(notebooks)} notebook(s) failed: {names} "
            "(executed copies with the error are in the output folder)"
        )
    print(f"all {len(notebooks)} notebook(s) ran; executed notebooks and HTML in {_rel(root, out_dir)}/")


def build_handout_site(root: Path, args: argparse.Namespace, out_dir: Path) -> int:
    from .handouts import FULL_OUT
    from .site_build import build_site

    site_dir = root / "build" / "site" if out_dir == root / FULL_OUT else out_dir / "site"
    print(f"site: building the handout site from {_rel(root, out_dir)}/ (jupyter-book) ...", flush=True)
    site = build_site(root, out_dir, site_dir, smoke=args.smoke, repository=args.repository, branch=args.branch)
    for stem in site.missing:
        print(f"site: {stem}.ipynb is not in {_rel(root, out_dir)}/ yet, so the site leaves it out")
    if not args.repository:
        print("site: no --repository (the student edition on GitHub), so pages have no 'Open in Colab' link")
    print(f"site: {len(site.pages)} notebook page(s); open {_rel(root, site.index)}")
    return 0


# ----------------------------------------------------------------------------------------------
# course doctor


def _try(label: str, probe) -> None:
    try:
        value = probe()
        if value is not None:
            print(f"{label}: {value}")
    except Exception as err:  # doctor reports problems, it never crashes on them
        parts = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        print(f"{label}: ERROR {type(err).__name__}: {' | '.join(parts)}")


def _sandbox_line() -> str:
    from .sandbox import describe

    return describe()


def cmd_doctor(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    print(f"Python: {platform.python_version()} ({sys.executable}) on {platform.platform()}")
    for package in ("cnn-course", "keras", "tensorflow", "numpy", "nbgrader", "papermill", "nbval"):
        _try(package, lambda package=package: md.version(package))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    def backend():
        import keras

        variable = os.environ.get("KERAS_BACKEND", "unset")
        return f"{keras.backend.backend()} (keras {keras.__version__}; KERAS_BACKEND={variable})"

    _try("Keras backend", backend)
    _try("Device", lambda: __import__("course.train", fromlist=["describe_device"]).describe_device())
    _try("Course root", lambda: _root(args))
    _try("Grading", _sandbox_line)
    print(f"COURSE_DATA_DIR: {os.environ.get('COURSE_DATA_DIR', 'unset')}")
    print("Datasets (each loader prints where its data came from):")

    def dataset(loader_name: str, *loader_args):
        from course import data

        getattr(data, loader_name)(*loader_args)
        return None  # the loader printed its own line

    _try("MNIST", lambda: dataset("load_mnist"))
    _try("Fashion-MNIST", lambda: dataset("load_fashion_mnist"))
    for name in ("astronaut", "chelsea", "coffee"):
        _try(f"Image {name!r}", lambda name=name: dataset("sample_image", name))
    return 0


# ----------------------------------------------------------------------------------------------
# course fmt


def cmd_fmt(args: argparse.Namespace) -> int:
    from .notebook_format import authored_notebooks, format_in_place, unformatted

    root = _root(args)
    if args.paths:
        paths = [Path(p).resolve() for p in args.paths]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise PipelineError(f"no such notebook: {missing[0]}")
    else:
        paths = authored_notebooks(root)
    if args.check:
        bad = unformatted(paths)
        for path in bad:
            print(f"not formatted: {_rel(root, path)}")
        if bad:
            print(f"{len(bad)} of {len(paths)} notebook(s) need `course fmt`", file=sys.stderr)
            return 1
        print(f"{len(paths)} notebook(s) formatted")
        return 0
    changed = format_in_place(paths)
    for path in changed:
        print(f"formatted {_rel(root, path)}")
    print(f"{len(changed)} of {len(paths)} notebook(s) changed")
    return 0


# ----------------------------------------------------------------------------------------------
# course serve

SERVE_TOKEN_ENV = "COURSE_SERVE_TOKEN"  # course.serve.TOKEN_ENV, named here so a refusal needs no import
SERVE_MIN_TOKEN_LENGTH = 16  # course.serve.MIN_TOKEN_LENGTH


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the token and the model folder before anything heavy is imported; refusals exit 2."""

    def refuse(message: str) -> int:
        print(f"course serve: error: {message}", file=sys.stderr)
        return 2

    token = os.environ.get(SERVE_TOKEN_ENV)
    if not token:
        return refuse(
            f"set {SERVE_TOKEN_ENV} to a secret of at least {SERVE_MIN_TOKEN_LENGTH} characters (clients send it "
            "as `Authorization: Bearer TOKEN`); it is read from the environment, never from the command line"
        )
    if len(token) < SERVE_MIN_TOKEN_LENGTH:
        return refuse(f"{SERVE_TOKEN_ENV} is {len(token)} characters long; use at least {SERVE_MIN_TOKEN_LENGTH}")
    model_dir = Path(args.model_dir)
    missing = [name for name in ("model.keras", "serving.json") if not (model_dir / name).is_file()]
    if missing:
        return refuse(
            f"{model_dir} holds no {' or '.join(missing)} (write the folder with course.deploy.save_for_serving)"
        )
    if args.max_bytes < 1:
        return refuse(f"--max-bytes must be positive, not {args.max_bytes}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from course.deploy import ServingError
    from course.serve import run

    try:
        return run(
            model_dir,
            token=token,
            audit_log_path=args.audit_log,
            host=args.host,
            port=args.port,
            max_bytes=args.max_bytes,
        )
    except ServingError as err:
        return refuse(str(err))


# ----------------------------------------------------------------------------------------------
# course student-edition


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def cmd_student_edition(args: argparse.Namespace) -> int:
    from .student_edition import DEFAULT_DEST, build

    root = _root(args)
    dest = Path(args.dest).resolve() if args.dest else root / DEFAULT_DEST
    print(f"student edition: writing {_rel(root, dest)}/ ...", flush=True)
    edition = build(
        root,
        dest,
        force=args.force,
        zip_too=args.zip,
        handouts=not args.no_handouts,
        repository=args.repository,
        branch=args.branch,
    )
    parts: dict[str, int] = {}
    for rel in edition.files:
        top = rel.split("/")[0] + ("/" if "/" in rel else "")
        parts[top] = parts.get(top, 0) + 1
    print(
        f"wrote {len(edition.files)} files ({_size(edition.size)}): " + ", ".join(f"{k} {v}" for k, v in parts.items())
    )
    for name, why in edition.left_out:
        print(f"left out {name}: {why}")
    print(f"verified: no forbidden path, no nbgrader marker and no answer's text in {len(edition.files)} files")
    if edition.zip_path:
        print(f"zip: {_rel(root, edition.zip_path)} ({_size(edition.zip_path.stat().st_size)})")
    return 0


# ----------------------------------------------------------------------------------------------
# entry point


def _repository_options(p: argparse.ArgumentParser, help: str) -> None:
    """--repository OWNER/NAME and --branch: where the student edition lives on GitHub."""
    p.add_argument("--repository", metavar="OWNER/NAME", help=help)
    p.add_argument("--branch", default="main", help="the branch of --repository (default: main)")


def build_parser() -> argparse.ArgumentParser:
    from .batch import DEFAULT_CELL_TIMEOUT_S, DEFAULT_CPU_S, DEFAULT_MEMORY_MB, DEFAULT_PROCESSES, DEFAULT_TIMEOUT_S

    parser = argparse.ArgumentParser(
        prog="course",
        description="The course pipeline: release assignments, grade submissions, build handouts.",
        epilog="Run `course COMMAND --help` for each command's options.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        default=None,
        metavar="DIR",
        help="the course root (default: the folder at or above the working directory that holds nbgrader_config.py)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "release",
        parents=[common],
        help="generate release/ from source/ with nbgrader",
        description="Generate the student version of assignments (release/A) from source/A with "
        "`nbgrader generate_assignment`, check it holds no solution or hidden test, and register "
        "the assignment in the gradebook. An existing, different release/A is only replaced "
        "with --force.",
    )
    p.add_argument("assignment", nargs="?", help="an assignment in source/ (default: all of them)")
    p.add_argument("--force", action="store_true", help="replace an existing release that differs")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser(
        "grade",
        parents=[common],
        help="autograde submitted/*/ASSIGNMENT and write feedback and a CSV",
        description="Autograde every submitted/STUDENT/ASSIGNMENT, each in its own process, write "
        "feedback HTML (hidden tests removed), reports/grades-ASSIGNMENT.csv with one row per "
        "student and a status (graded, timeout, memory, crashed, malformed, missing) and "
        "reports/scores-ASSIGNMENT.png. Each notebook runs in a sandbox (see README).",
    )
    p.add_argument("assignment")
    p.add_argument(
        "--student",
        action="append",
        metavar="ID",
        help="grade only this student (repeatable); the other rows of the CSV are kept",
    )
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="grade N submissions at once (default: 1)")
    p.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission again (default: keep rows whose submission, assignment and limits "
        "did not change, so an interrupted batch resumes)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"wall-clock limit per notebook in seconds (default: {DEFAULT_TIMEOUT_S})",
    )
    p.add_argument(
        "--cell-timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT_S,
        metavar="S",
        help=f"wall-clock limit per cell in seconds (default: {DEFAULT_CELL_TIMEOUT_S})",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help=f"address-space limit (RLIMIT_AS) of the notebook's kernel; 0: none (default: {DEFAULT_MEMORY_MB})",
    )
    p.add_argument(
        "--cpu-seconds",
        type=int,
        default=DEFAULT_CPU_S,
        metavar="S",
        help=f"CPU-time limit (RLIMIT_CPU) of the notebook's kernel; 0: none (default: {DEFAULT_CPU_S})",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="start kernels without the sandbox (to debug a submission: no limits, network or private files)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=DEFAULT_PROCESSES,
        metavar="N",
        help=f"processes and threads the kernel's user may run (RLIMIT_NPROC; needs root); 0: none "
        f"(default: {DEFAULT_PROCESSES})",
    )
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser(
        "handouts",
        parents=[common],
        help="execute lectures and solutions, write notebooks and HTML",
        description="Execute notebooks/*.ipynb and source/*/*.ipynb with papermill and render HTML. "
        "Full mode writes into solutions/; --smoke runs tiny versions into build/handouts-smoke/.",
    )
    p.add_argument("notebooks", nargs="*", help="only these notebooks (default: all)")
    p.add_argument("--smoke", action="store_true", help="tiny runs: SMOKE=True and COURSE_SMOKE=1")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="output folder (default: solutions/ or build/handouts-smoke/)"
    )
    p.add_argument(
        "--cell-timeout",
        type=int,
        default=None,
        metavar="S",
        help="per-cell time limit in seconds (default: none; 600 with --smoke)",
    )
    site = p.add_mutually_exclusive_group()
    site.add_argument(
        "--site-only",
        action="store_true",
        help="run nothing: build the handout site from the executed notebooks already in the output folder",
    )
    site.add_argument("--no-site", action="store_true", help="run the notebooks but build no handout site")
    _repository_options(
        p,
        "the student edition's GitHub repository, for each page's 'Open in Colab' link "
        "(see `course student-edition --repository`)",
    )
    p.set_defaults(func=cmd_handouts)

    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="versions, device and dataset sources",
        description="Print Python, Keras/TensorFlow versions and backend, the compute device, "
        "and where each dataset is found. Problems are reported, not raised.",
    )
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "fmt",
        parents=[common],
        help="put authored notebooks in canonical form",
        description="Rewrite notebooks/ and source/ notebooks in the canonical form (no outputs, "
        "minimal metadata). With --check, only list those that are not and exit 1.",
    )
    p.add_argument("paths", nargs="*", help="notebooks to format (default: all authored notebooks)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook is unformatted")
    p.set_defaults(func=cmd_fmt)

    p = sub.add_parser(
        "serve",
        help="serve a saved model over HTTP (GET /health, POST /predict)",
        description="Serve a model folder written by course.deploy.save_for_serving (model.keras and "
        "serving.json, whose SHA-256 must match) over HTTP until SIGTERM or Ctrl-C: GET /health is open, POST "
        "/predict takes one PNG or JPEG as the request body and needs `Authorization: Bearer TOKEN`, where "
        f"TOKEN is the value of ${SERVE_TOKEN_ENV} (at least {SERVE_MIN_TOKEN_LENGTH} characters; never a "
        "command-line argument, which other users can see in `ps`). Every request adds a JSON line to the audit "
        "log (without the token or the image). See README, 'Serving a model'.",
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="folder holding model.keras and serving.json")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument(
        "--audit-log",
        default="serve-audit.jsonl",
        metavar="PATH",
        help="JSON-lines audit log, appended to (default: serve-audit.jsonl in the working directory)",
    )
    p.add_argument(
        "--max-bytes",
        type=int,
        default=2_000_000,  # course.serve.DEFAULT_MAX_BYTES
        metavar="N",
        help="largest image accepted, in bytes (default: 2000000)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "student-edition",
        parents=[common],
        help="write the course without answers for students (release, lectures, library)",
        description="Write a self-contained student copy of the course into DEST: release/, notebooks/, the "
        "course library, requirements.txt, a pyproject.toml for the course package alone, a student README and "
        "Makefile, and the lecture handouts. Never source/, solutions of assignments, autograder/, tests/ or the "
        "gradebook; every file written is scanned for solution, hidden-test and mark-scheme markers and the "
        "command fails (removing DEST) if one is found. DEST must lie outside the repository or under build/.",
    )
    p.add_argument("dest", nargs="?", metavar="DEST", help="output folder (default: build/student-edition/)")
    p.add_argument("--force", action="store_true", help="replace a non-empty DEST (and DEST.zip)")
    p.add_argument("--zip", action="store_true", help="also write DEST.zip (one folder named like DEST)")
    p.add_argument("--no-handouts", action="store_true", help="leave the executed lecture handouts out")
    _repository_options(
        p,
        "the GitHub repository the edition will be pushed to: each notebook gets a first cell that installs "
        "the course library from it on Colab (the handout site's 'Open in Colab' links open these)",
    )
    p.set_defaults(func=cmd_student_edition)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except PipelineError as err:
        print(f"course {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"course {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if os.environ.get("COURSE_DEBUG"):
            raise
        first = (str(err).strip().splitlines() or [""])[0]
        print(
            f"course {args.command}: error: {type(err).__name__}: {first} (set COURSE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
