"""The handout site: executed lectures and solutions as one static book (``course handouts``).

The executed notebooks that :mod:`autograder.handouts` writes (``solutions/`` in
full mode, ``build/handouts-smoke/`` in smoke mode) become a Jupyter Book 1 site
(Sphinx with myst-nb; pinned in ``requirements-site.txt``). This module only
prepares the book's sources and runs ``jupyter-book build``; it never executes a
notebook:

* a table of contents with one part per question, read from the README's
  "The ten questions" table (the one place that says which notebook teaches what);
* each page opens with a box giving its run time, run date, mode and hardware
  (from the executed notebook: papermill's metadata, and the hardware the run
  recorded, or the ``describe_device`` line the notebook printed) and, when the
  student edition's GitHub repository is known, an "Open in Colab" link to the
  student's copy of that notebook;
* a home page listing the questions with the papers behind them, and a
  bibliography (``site_assets/references.bib``, sphinxcontrib-bibtex);
* maths rendered by a bundled MathJax 2.7 (from the pinned
  ``jupyter-server-mathjax`` package) so that pages work without a network;
  search is Sphinx's own, offline too.

The site is written to ``OUT/site/html/index.html`` (``build/site/`` for the
real handouts, ``build/handouts-smoke/site/`` for smoke ones).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .nbgrader_env import PipelineError
from .questions import questions_table

ASSETS = Path(__file__).parent / "site_assets"
TITLE = "CNN Architectures in Practice"
COLAB = "https://colab.research.google.com/github/{repository}/blob/{branch}/{path}"
#: The papers behind each question (keys of site_assets/references.bib).
PAPERS = {
    "1": ["fukushima1980", "lecun1998"],
    "2": ["lecun1998", "fukushima1980"],
    "3": ["krizhevsky2012", "simonyan2015"],
    "4": ["yosinski2014", "simonyan2015"],
    "5": ["he2016"],
    "6": ["lecun1998"],
    "7": ["simonyan2015", "yosinski2014"],
    "8": ["krizhevsky2012"],
    "9": ["szegedy2015"],
    "10": ["kermany2018", "cohen2020", "degrave2021", "lin2017", "selvaraju2017"],
}
_DEVICE_LINE = re.compile(r"^Keras \S+ on \w+.*CPU cores.*$", re.M)


@dataclass
class Page:
    """One notebook of the site: ``stem`` is its path in the executed-notebook folder, without suffix."""

    stem: str  # "02_lenet5" (a lecture) or "lenet5/lenet5" (an assignment's solution)
    student_path: str  # where the student edition holds it: notebooks/X.ipynb or release/A/A.ipynb


@dataclass
class Part:
    """One question of the course and the notebooks that answer it."""

    label: str  # "1", "10", "1–5"
    title: str
    pages: list[Page] = field(default_factory=list)


def _md_plain(text: str) -> str:
    return re.sub(r"`([^`]*)`", r"\1", text).strip()


def parts_from_readme(readme: str) -> list[Part]:
    """The README's question table as parts of the book, in its order; rows with the same label merge."""
    parts: dict[str, Part] = {}
    for row in questions_table(readme).splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.match(r"^\d", cells[0]):
            continue  # the header and its rule
        label, title, where = cells[0], cells[1], cells[2]
        part = parts.setdefault(label, Part(label, _md_plain(title)))
        for lecture in re.findall(r"notebooks/([\w.-]+)\.ipynb", where):
            part.pages.append(Page(lecture, f"notebooks/{lecture}.ipynb"))
        for assignment in re.findall(r"assignment `([\w-]+)`", where):
            part.pages.append(Page(f"{assignment}/{assignment}", f"release/{assignment}/{assignment}.ipynb"))
    if not parts:
        raise PipelineError("README.md's question table names no notebook: the site would be empty")
    return list(parts.values())


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{seconds:.0f} s" if minutes == 0 else f"{minutes} min {secs:02d} s ({seconds:.0f} s)"


def hardware_of(nb) -> str:
    """The hardware a notebook ran on: as its run recorded it, else as the notebook printed it."""
    recorded = nb.metadata.get("course", {}).get("hardware")
    if recorded:
        return recorded
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            match = _DEVICE_LINE.search(text)
            if match:
                return match.group(0).rstrip(".") + " (as the notebook printed it)"
    return "not recorded"


def run_box(nb, *, smoke: bool, colab: str | None) -> str:
    """The MyST note at the top of a page: run time, date, mode, hardware and the Colab link."""
    run = nb.metadata.get("papermill", {})
    lines = ["```{admonition} How this page was made", ":class: note"]
    if run.get("duration") is not None:
        when = run.get("end_time", "")
        try:
            when = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            pass
        lines.append(f"**Run time:** {_duration(float(run['duration']))}, finished {when}.")
    else:
        lines.append("**Run time:** not recorded (the notebook was not run by `course handouts`).")
    mode = "smoke (`SMOKE=True`: tiny settings that only check the code runs)" if smoke else "full (the real results)"
    lines += ["", f"**Mode:** {mode}.", "", f"**Hardware:** {hardware_of(nb)}."]
    if colab:
        lines += ["", f"[Open the student's copy in Colab]({colab}) (its first cell installs the course package)."]
    lines.append("```")
    return "\n".join(lines)


def colab_link(repository: str | None, branch: str, page: Page) -> str | None:
    if not repository:
        return None
    return COLAB.format(repository=repository, branch=branch, path=page.student_path)


def _first_heading(nb) -> int:
    """Index of the cell holding the notebook's title (the box goes right after it)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return i
    return -1


def prepare_page(executed: Path, target: Path, *, smoke: bool, colab: str | None) -> str:
    """Copy one executed notebook into the book with its run box; return the notebook's title."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    box = nbformat.v4.new_markdown_cell(run_box(nb, smoke=smoke, colab=colab))
    box.id = "course-run-box"
    title = _first_heading(nb)
    heading = f"# {executed.stem}"
    if title >= 0:  # the box goes right under the title line, before the introduction
        heading, _, rest = nb.cells[title].source.lstrip().partition("\n")
        nb.cells[title].source = heading
        if rest.strip():
            nb.cells.insert(title + 1, nbformat.v4.new_markdown_cell(rest.strip("\n"), id="course-intro"))
    nb.cells.insert(title + 1, box)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return heading[2:].strip()


def caption(part: Part) -> str:
    return f"{'Question' if part.label.isdigit() else 'Questions'} {part.label}: {part.title}"


def home_page(parts: list[Part], titles: dict[str, str]) -> str:
    lines = [
        f"# {TITLE}",
        "",
        "The executed lectures and assignment solutions of the course, as a book. Every number on these pages",
        "was printed by the code beside it; the box at the top of each page says how long the run took and on",
        "what hardware. The course answers ten questions:",
        "",
    ]
    for part in parts:
        papers = ", ".join(f"{{cite:t}}`{key}`" for key in PAPERS.get(part.label, []))
        pages = ", ".join(f"[{titles[p.stem]}]({p.stem}.ipynb)" for p in part.pages if p.stem in titles)
        line = f"- **{caption(part)}.** {pages or 'Not in this build'}."
        lines.append(line + (f" Papers: {papers}." if papers else ""))
    lines += ["", "The papers are listed in full in the [bibliography](references.md).", ""]
    return "\n".join(lines)


def mathjax_static() -> Path:
    """MathJax 2.7 as the pinned ``jupyter-server-mathjax`` package ships it."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:
        raise PipelineError(
            "the handout site needs jupyter-server-mathjax (requirements-site.txt): run `make install`"
        ) from err
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").is_file():
        raise PipelineError(f"no MathJax.js in {static}: reinstall jupyter-server-mathjax")
    return static


def book_config(*, smoke: bool) -> dict:
    return {
        "title": TITLE + (" (smoke run)" if smoke else ""),
        "author": "the course authors",
        "copyright": str(datetime.now().year),
        "only_build_toc_files": True,
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "execute": {"execute_notebooks": "off"},
        "parse": {"myst_enable_extensions": ["colon_fence", "dollarmath", "amsmath"]},
        "bibtex_bibfiles": ["references.bib"],
        "html": {"use_repository_button": False, "home_page_in_navbar": True},
        "launch_buttons": {"notebook_interface": "jupyterlab"},
        "sphinx": {
            "config": {
                # MathJax from the book's own _static folder: no network needed.
                "mathjax_path": "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full",
                "mathjax2_config": {
                    "tex2jax": {
                        "inlineMath": [["\\(", "\\)"]],
                        "displayMath": [["\\[", "\\]"]],
                        "processEscapes": True,
                        "ignoreClass": "document",
                        "processClass": "math|output_area",
                    },
                    # the package ships the STIX web fonts only
                    "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None},
                    "showMathMenu": False,
                    "messageStyle": "none",
                },
                "mathjax3_config": None,
                "html_static_path": ["_mathjax"],
                "bibtex_reference_style": "author_year",
                "nb_merge_streams": True,
                "suppress_warnings": ["mystnb.unknown_mime_type", "myst.header"],
            }
        },
    }


def toc(parts: list[Part], present: set[str]) -> dict:
    return {
        "format": "jb-book",
        "root": "intro",
        "parts": [
            {
                "caption": caption(part),
                "chapters": [{"file": page.stem} for page in part.pages if page.stem in present],
            }
            for part in parts
            if any(page.stem in present for page in part.pages)
        ]
        + [{"caption": "References", "chapters": [{"file": "references"}]}],
    }


@dataclass
class Site:
    index: Path  # the site's home page (html)
    pages: list[str]  # the notebooks it holds (stems)
    missing: list[str]  # notebooks the README names that the executed folder lacks


def build_site(
    root: Path,
    executed_dir: Path,
    out: Path,
    *,
    smoke: bool,
    repository: str | None = None,
    branch: str = "main",
) -> Site:
    """Build the site from the executed notebooks in ``executed_dir`` into ``out`` (replaced)."""
    import yaml

    readme = root / "README.md"
    parts = parts_from_readme(readme.read_text(encoding="utf-8") if readme.is_file() else "")
    src, html = out / "src", out / "html"
    if out.exists():
        shutil.rmtree(out)
    src.mkdir(parents=True)
    present, missing, titles = set(), [], {}
    for part in parts:
        for page in part.pages:
            executed = executed_dir / f"{page.stem}.ipynb"
            if not executed.is_file():
                missing.append(page.stem)
                continue
            colab = colab_link(repository, branch, page)
            titles[page.stem] = prepare_page(executed, src / f"{page.stem}.ipynb", smoke=smoke, colab=colab)
            present.add(page.stem)
    if not present:
        raise PipelineError(f"no executed notebook in {executed_dir}: run `course handouts` first")
    (src / "intro.md").write_text(home_page(parts, titles), encoding="utf-8")
    (src / "references.md").write_text("# References\n\n```{bibliography}\n:all:\n```\n", encoding="utf-8")
    shutil.copy(ASSETS / "references.bib", src / "references.bib")
    # Not in the book's _static/ folder, whose scripts Jupyter Book adds to every page: MathJax loads its own parts.
    shutil.copytree(mathjax_static(), src / "_mathjax" / "mathjax")
    (src / "_config.yml").write_text(yaml.safe_dump(book_config(smoke=smoke), sort_keys=False), encoding="utf-8")
    (src / "_toc.yml").write_text(yaml.safe_dump(toc(parts, present), sort_keys=False), encoding="utf-8")
    run_jupyter_book(src, out / "_jb")
    shutil.move(str(out / "_jb" / "_build" / "html"), str(html))
    shutil.rmtree(out / "_jb", ignore_errors=True)
    return Site(html / "index.html", sorted(present), missing)


def run_jupyter_book(src: Path, path_output: Path) -> None:
    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.exists():
        raise PipelineError("jupyter-book is not installed (requirements-site.txt): run `make install`")
    cmd = [str(exe), "build", str(src), "--path-output", str(path_output), "--builder", "html", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or not (path_output / "_build" / "html" / "index.html").is_file():
        tail = "\n".join(line for line in log.splitlines()[-15:] if line.strip())
        raise PipelineError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
