"""Sample submissions, derived from the assignment so they never go stale.

A sample is described by a small JSON file in ``autograder/fixtures/ASSIGNMENT/``
(one per student id) and *built* from the current ``release/`` and ``source/``
notebooks, instead of being a committed copy of a notebook that would drift
from the assignment:

``base``
    ``"release"``: the untouched student notebooks;
    ``"solution"``: the release with every answer cell (nbgrader ``solution``
    cells) filled in from ``source/``, region markers and mark schemes removed;
    ``"text"``: each notebook's file is ``text`` verbatim (e.g. broken JSON, or
    ``""`` for an empty file).
``raise_in``
    grade ids of answer cells that get ``raise RuntimeError(...)`` as their first
    line, so that cell fails and defines nothing (a student's crashing cell).
``prepend``
    ``{grade_id: code}``: lines put before an answer cell's code (e.g. a memory
    bomb or an endless loop, to check the resource limits).
``replace``
    ``{grade_id: code}``: that cell's whole source (after the solution is filled in).
``nbgrader_metadata``
    ``{grade_id: {key: value}}`` written into those cells' nbgrader metadata
    (e.g. a schema version from the future, which nbgrader refuses to grade).
``cell_metadata``
    ``{grade_id: {key: value}}``: top-level keys of those cells' metadata
    (applied after ``nbgrader_metadata``; a ``"nbgrader"`` key replaces it whole).
``duplicate``
    grade ids of cells copied in right after themselves (same grade id, new cell id).
``move``
    ``[[grade_id, before_grade_id], ...]``: the first cell moved to just before the second.
``delete``
    grade ids of cells removed (every copy).
``append_code``
    ``["code", ...]``: code cells added at the end of the notebook.
``nbformat``
    a notebook format version (e.g. ``3`` or ``5``) written into the built notebook's
    top-level ``nbformat`` as is, with :func:`json.dumps` (nbformat would refuse or convert).
``huge_output_mb``
    the first code cell gets a stream output of that many MB (MiB) of text, so
    the file exceeds the grader's size limit.
``filename``
    the name of the file written instead of ``NOTEBOOK.ipynb`` (a misnamed
    submission, e.g. ``"LeNet5 (1).ipynb"``; assignments of one notebook only).
``no_files``
    ``true``: the student's folder exists but holds no notebook.
``symlink_to``
    each notebook is a symbolic link to this path, relative to the course root
    (e.g. the source notebook, solutions and hidden tests included).
``requires``
    what grading the sample needs beyond the default setup (e.g. ``"sandbox"``);
    only stored: the tests skip the sample where it is not available.
``expect``
    what grading this sample must give; read by the tests
    (``status``; ``auto_score``: ``"full"``, ``"zero"`` or a number;
    ``failing``: the autograded test cells that must score 0, every other
    autograded test cell then scoring full marks; ``cells``: ``{grade_id: score}``,
    exact scores of those cells; ``message_contains``: text the CSV message must
    hold; ``output_contains``: texts the autograded notebook's outputs must hold).

The edits apply in this order: solution filled in, ``raise_in``, ``prepend``,
``replace``, ``nbgrader_metadata``, ``cell_metadata``, ``duplicate``, ``move``,
``delete``, ``append_code``, then ``huge_output_mb`` and ``nbformat``. A grade id
that is not in the release notebook is an error (:class:`ValueError`).

Build them into a course root with ``python -m autograder.samples ASSIGNMENT``
(writes ``submitted/STUDENT/ASSIGNMENT/``), then try ``course grade ASSIGNMENT``.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path

import nbformat
from nbformat.corpus.words import generate_corpus_id

from . import cells

FIXTURES = Path(__file__).parent / "fixtures"
RAISE_LINE = 'raise RuntimeError("a deliberate error in this sample submission")'
MB = 1024 * 1024
EXPECT_KEYS = (
    "status",
    "auto_score",
    "failing",
    "cells",
    "message_contains",
    "output_contains",
    "output_excludes",
    "flags_contains",
    "undefended_auto_score",
)
_LINE = "0123456789" * 9 + "abcdefghi\n"  # 100 characters: the huge output's line


@dataclass
class Sample:
    student: str
    base: str
    description: str = ""
    raise_in: list[str] = field(default_factory=list)
    prepend: dict[str, str] = field(default_factory=dict)
    replace: dict[str, str] = field(default_factory=dict)
    nbgrader_metadata: dict[str, dict] = field(default_factory=dict)
    cell_metadata: dict[str, dict] = field(default_factory=dict)
    duplicate: list[str] = field(default_factory=list)
    move: list[list[str]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    append_code: list[str] = field(default_factory=list)
    nbformat: int | None = None
    huge_output_mb: float = 0
    filename: str = ""
    no_files: bool = False
    symlink_to: str = ""
    requires: str | list[str] = ""
    text: str = ""
    expect: dict = field(default_factory=dict)

    @property
    def requirements(self) -> list[str]:
        """``requires`` as a list (it may be one string)."""
        return [self.requires] if isinstance(self.requires, str) and self.requires else list(self.requires or [])

    def grade_ids(self) -> set[str]:
        """Every grade id the edits name (each must be a cell of the release notebook)."""
        ids = set(self.raise_in) | set(self.prepend) | set(self.replace) | set(self.nbgrader_metadata)
        ids |= set(self.cell_metadata) | set(self.duplicate) | set(self.delete)
        return ids | {grade_id for pair in self.move for grade_id in pair}


def load_samples(assignment: str, folder: Path | None = None) -> list[Sample]:
    """The sample specs of ``assignment`` (sorted by student id)."""
    folder = folder or FIXTURES / assignment
    known = {f.name for f in fields(Sample)} - {"student"}
    samples = []
    for path in sorted(folder.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"sample {path.name}: unknown key(s) {sorted(unknown)}")
        samples.append(Sample(student=path.stem, **spec))
    return samples


def _answer_source(source: str) -> str:
    """A solution region as a student would type it: markers and mark scheme removed."""
    return cells.without_regions(source, drop=[cells.MARK_SCHEME], markers=[cells.SOLUTION]).strip("\n")


def _answers(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    return {cells.grade_id(cell): _answer_source(cell.source) for cell in source_nb.cells if cells.is_answer_cell(cell)}


def _edit_cells(sample: Sample, nb: nbformat.NotebookNode, answers: dict[str, str]) -> None:
    """The in-place edits of each cell: solution, raise_in, prepend, replace, metadata."""
    for cell in nb.cells:
        grade_id = cells.grade_id(cell)
        if grade_id in answers:
            cell.source = answers[grade_id]
        if grade_id in sample.raise_in:
            cell.source = RAISE_LINE + "\n" + cell.source
        if grade_id in sample.prepend:
            cell.source = sample.prepend[grade_id] + "\n" + cell.source
        if grade_id in sample.replace:
            cell.source = sample.replace[grade_id]
        if grade_id in sample.nbgrader_metadata:
            cell.metadata.nbgrader.update(sample.nbgrader_metadata[grade_id])
        if grade_id in sample.cell_metadata:
            cell.metadata.update(nbformat.from_dict(copy.deepcopy(sample.cell_metadata[grade_id])))


def _rearrange(sample: Sample, notebook_cells: list) -> list:
    """The edits of the cell list: duplicate, move, delete, append_code."""
    out = []
    for cell in notebook_cells:
        out.append(cell)
        if cells.grade_id(cell) in sample.duplicate:
            twin = copy.deepcopy(cell)
            if "id" in twin:
                twin.id = generate_corpus_id()
            out.append(twin)
    for grade_id, before in sample.move:
        if grade_id == before:
            raise ValueError(f"sample {sample.student}: cannot move {grade_id!r} before itself")
        cell = out.pop(next(i for i, c in enumerate(out) if cells.grade_id(c) == grade_id))
        out.insert(next(i for i, c in enumerate(out) if cells.grade_id(c) == before), cell)
    out = [cell for cell in out if cells.grade_id(cell) not in sample.delete]
    return out + [nbformat.v4.new_code_cell(code) for code in sample.append_code]


def _add_huge_output(nb: nbformat.NotebookNode, megabytes: float) -> None:
    """Give the first code cell a stream output of ``megabytes`` MB of text."""
    size = int(megabytes * MB)
    text = _LINE * (size // len(_LINE)) + _LINE[: size % len(_LINE)]
    cell = next((c for c in nb.cells if c.cell_type == "code"), None)
    if cell is None:
        raise ValueError("huge_output_mb: the notebook has no code cell")
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))


def build_notebook(sample: Sample, release_nb: Path, source_nb: Path) -> str:
    """The text of ``sample``'s version of one notebook."""
    if sample.base == "text":
        return sample.text
    if sample.base not in ("release", "solution"):
        raise ValueError(f"sample {sample.student}: unknown base {sample.base!r}")
    nb = nbformat.read(str(release_nb), as_version=4)
    missing = sample.grade_ids() - {cells.grade_id(cell) for cell in nb.cells}
    if missing:
        raise ValueError(f"sample {sample.student}: no cell {sorted(missing)} in {release_nb.name}")
    answers = _answers(nbformat.read(str(source_nb), as_version=4)) if sample.base == "solution" else {}
    _edit_cells(sample, nb, answers)
    nb.cells = _rearrange(sample, nb.cells)
    if sample.huge_output_mb:
        _add_huge_output(nb, sample.huge_output_mb)
    if sample.nbformat is not None:
        nb.nbformat = sample.nbformat
    if sample.nbformat is not None or sample.huge_output_mb:
        return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return nbformat.writes(nb) + "\n"


def build_submissions(root: Path, assignment: str, samples: list[Sample] | None = None) -> list[Path]:
    """Write each sample into ``root/submitted/STUDENT/ASSIGNMENT/``; return the folders."""
    samples = load_samples(assignment) if samples is None else samples
    release_dir, source_dir = root / "release" / assignment, root / "source" / assignment
    notebooks = sorted(p.name for p in source_dir.glob("*.ipynb"))
    folders = []
    for sample in samples:
        if sample.filename and len(notebooks) != 1:
            raise ValueError(f"sample {sample.student}: 'filename' needs an assignment of one notebook")
        folder = root / "submitted" / sample.student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name in [] if sample.no_files else notebooks:
            if sample.symlink_to:
                (folder / (sample.filename or name)).symlink_to((root / sample.symlink_to).resolve())
                continue
            text = build_notebook(sample, release_dir / name, source_dir / name)
            (folder / (sample.filename or name)).write_text(text, encoding="utf-8")
        folders.append(folder)
    return folders


def main(argv: list[str] | None = None) -> int:
    from .nbgrader_env import check_assignment, find_course_root

    parser = argparse.ArgumentParser(prog="python -m autograder.samples", description="Build sample submissions.")
    parser.add_argument("assignment")
    parser.add_argument("--root", type=Path, default=None, help="course root (default: found from here)")
    args = parser.parse_args(argv)
    root = find_course_root(args.root)
    check_assignment(root, args.assignment)
    for folder in build_submissions(root, args.assignment):
        print(f"wrote {folder.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
