"""Executed notebooks and HTML handouts (``course handouts``).

Runs every lecture notebook (``notebooks/*.ipynb``) and every assignment's
solution (``source/*/*.ipynb``) top to bottom with papermill, then renders
each executed notebook to HTML with nbconvert (figures are embedded as
``data:`` URIs, so an HTML file stands alone).

* Full mode (default) writes into ``solutions/``, committed: the real results.
* Smoke mode passes ``SMOKE=True`` to each notebook's ``parameters`` cell and
  sets ``COURSE_SMOKE=1`` (see :mod:`course.runtime`); it writes into
  ``build/handouts-smoke/`` (git-ignored) so it never replaces real handouts.

Each executed notebook records the machine it ran on (``metadata.course.hardware``:
CPU, cores, GPUs, Keras backend) for the handout site (:mod:`autograder.site_build`),
which ``course handouts`` builds from the output folder once the notebooks ran.

Outputs keep the source layout: ``notebooks/X.ipynb`` gives ``OUT/X.ipynb`` and
``OUT/X.html``; ``source/A/X.ipynb`` gives ``OUT/A/X.ipynb`` and ``OUT/A/X.html``.
Each notebook runs in its own folder, as it would in Jupyter. A failing
notebook is reported with its failing cell and error and the others still run.

TensorFlow's native (C++) start-up log lines (absl format, e.g.
``I0000 00:00:1795... port.cc:153] oneDNN custom operations are on``) reach the
notebooks as stderr output and cannot be switched off by environment
variables in TF 2.21; they are dropped from the executed notebooks here. The
notebooks' own output, Python warnings included, is kept as it is.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

FULL_OUT = Path("solutions")
SMOKE_OUT = Path("build") / "handouts-smoke"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NATIVE_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] .*"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)$"
)


@dataclass
class HandoutResult:
    notebook: Path  # relative to the course root
    ok: bool
    seconds: float
    executed: Path | None = None
    html: Path | None = None
    error: str = ""  # one line: which cell, which error


def handout_notebooks(root: Path) -> list[Path]:
    """The notebooks ``course handouts`` runs: lectures first, then assignment sources."""
    lectures = sorted((root / "notebooks").glob("*.ipynb"))
    solutions = sorted((root / "source").glob("*/*.ipynb"))
    return [p for p in lectures + solutions if ".ipynb_checkpoints" not in p.parts]


def output_stem(root: Path, notebook: Path) -> Path:
    """Where a notebook's outputs go, relative to the output folder, without suffix."""
    rel = notebook.relative_to(root)
    if rel.parts[0] == "notebooks":
        rel = Path(*rel.parts[1:])
    elif rel.parts[0] == "source":
        rel = Path(*rel.parts[1:])
    return rel.with_suffix("")


def prepare_environment(smoke: bool) -> None:
    """Set the kernels' environment for this run (kernels inherit this process's)."""
    if smoke:
        os.environ["COURSE_SMOKE"] = "1"
    else:
        os.environ.pop("COURSE_SMOKE", None)  # real handouts must never be smoke runs
    os.environ.pop("NBGRADER_EXECUTION", None)
    # ipykernel only picks the inline backend when MPLBACKEND is unset; CI sets
    # MPLBACKEND=Agg, which would leave the handouts without any figure.
    os.environ["MPLBACKEND"] = INLINE_BACKEND


def describe_failure(err: BaseException) -> str:
    """One line naming the failing cell and its error."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        first = next((line for line in err.source.splitlines() if line.strip()), "").strip()
        evalue = _ANSI.sub("", str(err.evalue)).strip().splitlines()
        return (
            f"cell {err.cell_index} (In [{err.exec_count}], starting {first[:60]!r}) raised "
            f"{err.ename}: {evalue[0][:200] if evalue else ''}"
        )
    text = _ANSI.sub("", str(err)).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}"


def strip_native_logs(nb) -> int:
    """Drop TensorFlow's native log lines from stderr outputs; return how many went."""
    dropped = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept_outputs = []
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = output.text.splitlines(keepends=True)
                kept = [line for line in lines if not _NATIVE_LOG.match(line.rstrip("\n"))]
                dropped += len(lines) - len(kept)
                if not kept:
                    continue
                output.text = "".join(kept)
            kept_outputs.append(output)
        cell.outputs = kept_outputs
    return dropped


def hardware() -> str:
    """This machine in a few words, for the handout site's run box: CPU model and cores, GPUs, Keras backend."""
    import platform
    import shutil
    import subprocess

    cpu = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = []
    if shutil.which("nvidia-smi"):
        try:
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
            gpus = [line.split(":", 1)[1].split("(")[0].strip() for line in listing.splitlines() if ":" in line]
        except (OSError, subprocess.SubprocessError):
            pass
    gpu = f"{len(gpus)} GPU ({', '.join(gpus)})" if gpus else "no GPU"
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    return f"{cores} CPU cores ({cpu}), {gpu}; Keras backend {backend}"


def tidy_executed(executed: Path, machine: str | None = None) -> None:
    """Rewrite an executed notebook without TensorFlow's native log lines, recording the machine it ran on."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    dropped = strip_native_logs(nb)
    if machine:
        nb.metadata.setdefault("course", {})["hardware"] = machine
    if dropped or machine:
        nbformat.write(nb, str(executed))


def to_html(executed: Path, html_path: Path) -> Path:
    """Render an executed notebook to a stand-alone HTML file."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def run_one(
    root: Path, notebook: Path, out_dir: Path, *, smoke: bool, cell_timeout: int | None = None
) -> HandoutResult:
    """Execute one notebook into ``out_dir`` and render its HTML (even after a failure,
    so the error can be read in context)."""
    import papermill

    stem = out_dir / output_stem(root, notebook)
    stem.parent.mkdir(parents=True, exist_ok=True)
    executed, html = stem.with_suffix(".ipynb"), stem.with_suffix(".html")
    started = time.monotonic()
    error = ""
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters={"SMOKE": True} if smoke else None,
            cwd=str(notebook.parent),
            progress_bar=False,
            execution_timeout=cell_timeout,
            # keep the kernels' own log (e.g. ipykernel's TCP warning) off the terminal
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except Exception as err:  # a failing cell, a dead kernel, a timeout
        error = describe_failure(err)
    try:
        if executed.exists():
            tidy_executed(executed, hardware())
            to_html(executed, html)
    except Exception as err:
        error = error or f"HTML export failed: {describe_failure(err)}"
    return HandoutResult(
        notebook.relative_to(root),
        ok=not error,
        seconds=round(time.monotonic() - started, 1),
        executed=executed if executed.exists() else None,
        html=html if html.exists() else None,
        error=error,
    )
