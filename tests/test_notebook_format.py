"""Authored notebooks are stored in canonical form, without outputs, with a papermill parameters cell."""

from __future__ import annotations

import ast

import nbformat
import pytest
from conftest import ROOT

from autograder.notebook_format import authored_notebooks, unformatted

NOTEBOOKS = authored_notebooks(ROOT)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def test_there_are_lectures_and_assignments():
    folders = {p.relative_to(ROOT).parts[0] for p in NOTEBOOKS}
    assert folders == {"notebooks", "source"}, f"found only {IDS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_canonical_form(path):
    assert not unformatted([path]), f"run `course fmt {path.relative_to(ROOT)}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell(path):
    """papermill needs one cell tagged `parameters` holding plain assignments, SMOKE = False among them."""
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{len(tagged)} cells tagged 'parameters'"
    cell = tagged[0]
    assert cell.cell_type == "code"
    tree = ast.parse(cell.source)
    names = {}
    for statement in tree.body:
        assert isinstance(statement, (ast.Assign, ast.AnnAssign)), f"not a plain assignment: {ast.unparse(statement)}"
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            assert isinstance(target, ast.Name), ast.unparse(statement)
            names[target.id] = ast.literal_eval(statement.value)  # literals only, so papermill can override them
    assert names.get("SMOKE") is False, "the parameters cell must set SMOKE = False"
