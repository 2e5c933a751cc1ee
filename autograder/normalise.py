"""Put a submitted notebook back into the assignment's shape before it is graded.

nbgrader restores the *source* of locked and test cells from the gradebook and
checks their checksums, but it takes the cells' order, their number and their
metadata from the student's file. :func:`normalise` rebuilds the notebook on
the released one instead:

* every cell of the release that carries an nbgrader ``grade_id`` appears once,
  in the release's order, with the release's metadata (points, grade ids,
  locked, solution and grade flags) and cell type: deleted cells come back,
  duplicates are dropped (the first copy is kept), moved cells go back;
* an answer cell keeps the student's source; every other nbgrader cell gets the
  release's source (nbgrader puts the hidden tests back into test cells);
* the student's own cells (no ``grade_id``, or one the assignment does not
  know) are kept, after the assignment cell they followed, with any nbgrader
  metadata removed, so they are never mistaken for graded cells.

It returns the rebuilt notebook and a list of plain-words notes on what it had
to repair; the batch shows them to the instructor.
"""

from __future__ import annotations

import copy

from nbformat.notebooknode import NotebookNode

from . import cells

_CONTROL_KEYS = ("grade", "solution", "locked", "points", "grade_id", "task", "schema_version")


def normalise(submitted: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """``submitted`` rebuilt on ``release`` (see the module docstring); returns ``(notebook, notes)``."""
    skeleton = [cell for cell in release.cells if cells.grade_id(cell)]
    known = {cells.grade_id(cell): cell for cell in skeleton}
    release_order = [cells.grade_id(cell) for cell in skeleton]

    first: dict[str, NotebookNode] = {}
    followers: dict[str | None, list[NotebookNode]] = {None: []}
    seen_order: list[str] = []
    duplicates: list[str] = []
    foreign: list[str] = []
    anchor: str | None = None
    for cell in submitted.cells:
        grade_id = cells.grade_id(cell)
        if grade_id in known:
            if grade_id in first:
                duplicates.append(grade_id)
            else:
                first[grade_id] = cell
                seen_order.append(grade_id)
            anchor = grade_id
            continue
        own = copy.deepcopy(cell)
        if "nbgrader" in own.get("metadata", {}):
            if grade_id:
                foreign.append(grade_id)
            del own.metadata["nbgrader"]
        followers.setdefault(anchor, []).append(own)

    rebuilt = list(followers[None])
    restored, edited = [], []
    for grade_id in release_order:
        reference = known[grade_id]
        theirs = first.get(grade_id)
        cell = copy.deepcopy(reference)
        if theirs is None:
            restored.append(grade_id)
        else:
            if cells.is_answer_cell(reference):
                cell.source = theirs.get("source", "")
                if cell.cell_type == "code" and theirs.get("cell_type") == "code":
                    cell.outputs = theirs.get("outputs", [])
            if _control(theirs) != _control(reference) or theirs.get("cell_type") != reference.cell_type:
                edited.append(grade_id)
        rebuilt.append(cell)
        rebuilt.extend(followers.get(grade_id, []))

    out = copy.deepcopy(submitted)
    out.cells = rebuilt
    out.nbformat, out.nbformat_minor = release.nbformat, release.nbformat_minor
    for index, cell in enumerate(out.cells):  # nbformat >= 4.5 wants unique cell ids
        cell.pop("id", None)
        if out.nbformat_minor >= 5:
            cell["id"] = f"cell-{index}"
    notes = []
    if restored:
        notes.append(f"restored deleted cells: {', '.join(restored)}")
    if duplicates:
        notes.append(f"dropped duplicated cells: {', '.join(sorted(set(duplicates)))}")
    if [g for g in seen_order if g in known] != [g for g in release_order if g in first]:
        notes.append("put the assignment's cells back in their order")
    if edited:
        notes.append(f"reset edited cell metadata: {', '.join(edited)}")
    if foreign:
        notes.append(f"ignored unknown grade ids: {', '.join(sorted(set(foreign)))}")
    return out, notes


def _control(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return {key: meta.get(key) for key in _CONTROL_KEYS}
