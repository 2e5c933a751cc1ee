"""The one formatter for authored notebooks (``notebooks/`` and ``source/``).

Like tensorflow/docs' ``nbfmt``, it stores notebooks without outputs and in a
single canonical form, so diffs stay readable and a test can enforce it:

* no outputs, no execution counts;
* notebook metadata reduced to the kernel spec and language;
* cell metadata reduced to what the course uses (``tags``, ``nbgrader``);
* every cell has a stable id; JSON with sorted keys, indent 1, trailing newline.

Use it through the command line: ``course fmt`` rewrites, ``course fmt --check``
lists notebooks that are not formatted and exits 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
KEPT_CELL_METADATA = ("tags", "nbgrader", "deletable", "editable")
AUTHORED_DIRS = ("notebooks", "source")


def _stable_id(cell_source: str, index: int, taken: set[str]) -> str:
    digest = hashlib.sha1(f"{index}:{cell_source}".encode()).hexdigest()[:8]
    while digest in taken:
        digest = hashlib.sha1(digest.encode()).hexdigest()[:8]
    return digest


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` in canonical form (modified in place and returned)."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    taken: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        cell.source = cell.source.rstrip() if cell.cell_type != "raw" else cell.source
        kept = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        cell.metadata = nbformat.from_dict(kept)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if cell.cell_type == "markdown" and not cell.get("attachments"):
                cell.pop("attachments", None)
        cell_id = cell.get("id")
        if not cell_id or cell_id in taken:
            cell_id = _stable_id(cell.source, index, taken)
        cell.id = cell_id
        taken.add(cell_id)
    return nb


def formatted_text(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return nbformat.writes(normalise(nb)) + "\n"


def authored_notebooks(root: Path) -> list[Path]:
    """Every authored notebook under ``notebooks/`` and ``source/``."""
    found: list[Path] = []
    for folder in AUTHORED_DIRS:
        found += [p for p in sorted((root / folder).rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
    return found


def unformatted(paths: Iterable[Path]) -> list[Path]:
    """The notebooks among ``paths`` whose file differs from its canonical form."""
    return [p for p in paths if p.read_text(encoding="utf-8") != formatted_text(p)]


def format_in_place(paths: Iterable[Path]) -> list[Path]:
    """Rewrite notebooks into canonical form; return those that changed."""
    changed = []
    for p in paths:
        text = formatted_text(p)
        if p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            changed.append(p)
    return changed
