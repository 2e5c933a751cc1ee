"""The course on whichever Keras backend this process runs (``KERAS_BACKEND``): ``make backends`` runs the
library's unit tests and this file under JAX and PyTorch. On TensorFlow, the default, tests/test_lectures.py
already runs lecture 01, so the lecture test here is skipped."""

from __future__ import annotations

import os

import keras
import nbformat
import pytest
from conftest import ROOT

BACKEND = keras.backend.backend()


def test_the_backend_is_the_one_asked_for():
    assert BACKEND == os.environ.get("KERAS_BACKEND", "tensorflow")


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "tensorflow", reason="tests/test_lectures.py runs lecture 01 on TensorFlow")
def test_lecture_01_runs_end_to_end_in_smoke_mode(tmp_path):
    import papermill

    notebook = ROOT / "notebooks" / "01_cnn_vs_fc.ipynb"
    out = tmp_path / "01.ipynb"
    papermill.execute_notebook(
        str(notebook), str(out), parameters={"SMOKE": True}, cwd=str(notebook.parent), progress_bar=False
    )
    executed = nbformat.read(str(out), as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"on {BACKEND}" in printed, "the notebook says which backend ran it"
    assert "Test accuracy: CNN" in printed
