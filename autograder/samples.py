"""Sample submissions, derived from the assignment so they never go stale.

A sample is described by a small JSON file in ``autograder/fixtures/ASSIGNMENT/``
(one per student id) and *built* from the current ``release/`` and ``source/``
notebooks, instead of being a committed copy of a notebook that would drift
from the assignment:

``base``
    ``"release"``: the untouched student notebooks;
    ``"solution"``: the release with every answer cell (nbgrader ``solution``
    cells) filled in from ``source/``, region markers and mark schemes removed;
    ``"text"``: each notebook's file is ``text`` verbatim (e.g. broken JSON).
``raise_in``
    grade ids of answer cells that get ``raise RuntimeError(...)`` as their first
    line, so that cell fails and defines nothing (a student's crashing cell).
``prepend``
    ``{grade_id: code}``: lines put before an answer cell's code (e.g. a memory
    bomb or an endless loop, to check the resource limits).
``nbgrader_metadata``
    ``{grade_id: {key: value}}`` written into those cells' nbgrader metadata
    (e.g. a schema version from the future, which nbgrader refuses to grade).
``expect``
    what grading this sample must give; read by the tests
    (``status``; ``auto_score``: ``"full"``, ``"zero"`` or a number;
    ``failing``: the autograded test cells that must score 0, every other
    autograded test cell then scoring full marks).

Build them into a course root with ``python -m autograder.samples ASSIGNMENT``
(writes ``submitted/STUDENT/ASSIGNMENT/``), then try ``course grade ASSIGNMENT``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

FIXTURES = Path(__file__).parent / "fixtures"
RAISE_LINE = 'raise RuntimeError("a deliberate error in this sample submission")'
_DROP_REGIONS = (("BEGIN MARK SCHEME", "END MARK SCHEME"),)
_DROP_LINES = ("BEGIN SOLUTION", "END SOLUTION")


@dataclass
class Sample:
    student: str
    base: str
    description: str = ""
    raise_in: list[str] = field(default_factory=list)
    prepend: dict[str, str] = field(default_factory=dict)
    nbgrader_metadata: dict[str, dict] = field(default_factory=dict)
    text: str = ""
    expect: dict = field(default_factory=dict)


def load_samples(assignment: str, folder: Path | None = None) -> list[Sample]:
    """The sample specs of ``assignment`` (sorted by student id)."""
    folder = folder or FIXTURES / assignment
    samples = []
    for path in sorted(folder.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        samples.append(Sample(student=path.stem, **spec))
    return samples


def _answer_source(source: str) -> str:
    """A solution region as a student would type it: markers and mark scheme removed."""
    kept, skipping = [], False
    for line in source.split("\n"):
        if any(begin in line for begin, _ in _DROP_REGIONS):
            skipping = True
        elif any(end in line for _, end in _DROP_REGIONS):
            skipping = False
        elif not skipping and not any(marker in line for marker in _DROP_LINES):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def _answers(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    return {
        cell.metadata["nbgrader"]["grade_id"]: _answer_source(cell.source)
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def build_notebook(sample: Sample, release_nb: Path, source_nb: Path) -> str:
    """The text of ``sample``'s version of one notebook."""
    if sample.base == "text":
        return sample.text
    if sample.base not in ("release", "solution"):
        raise ValueError(f"sample {sample.student}: unknown base {sample.base!r}")
    nb = nbformat.read(str(release_nb), as_version=4)
    answers = _answers(nbformat.read(str(source_nb), as_version=4)) if sample.base == "solution" else {}
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        if grade_id in sample.raise_in:
            cell.source = RAISE_LINE + "\n" + cell.source
            found.add(grade_id)
        if grade_id in sample.prepend:
            cell.source = sample.prepend[grade_id] + "\n" + cell.source
            found.add(grade_id)
        if grade_id in sample.nbgrader_metadata:
            cell.metadata.nbgrader.update(sample.nbgrader_metadata[grade_id])
            found.add(grade_id)
    missing = (set(sample.raise_in) | set(sample.prepend) | set(sample.nbgrader_metadata)) - found
    if missing:
        raise ValueError(f"sample {sample.student}: no cell {sorted(missing)} in {release_nb.name}")
    return nbformat.writes(nb) + "\n"


def build_submissions(root: Path, assignment: str, samples: list[Sample] | None = None) -> list[Path]:
    """Write each sample into ``root/submitted/STUDENT/ASSIGNMENT/``; return the folders."""
    samples = load_samples(assignment) if samples is None else samples
    release_dir, source_dir = root / "release" / assignment, root / "source" / assignment
    notebooks = sorted(p.name for p in source_dir.glob("*.ipynb"))
    folders = []
    for sample in samples:
        folder = root / "submitted" / sample.student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name in notebooks:
            text = build_notebook(sample, release_dir / name, source_dir / name)
            (folder / name).write_text(text, encoding="utf-8")
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
