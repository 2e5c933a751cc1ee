"""bench/notebooks.py: each headline pattern finds its figure in the committed handout, the peak-memory
sampler sees a child's memory, and a missing backend stops the script with a message."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT

from autograder.handouts import handout_notebooks, output_stem

spec = importlib.util.spec_from_file_location("bench_notebooks", ROOT / "bench" / "notebooks.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
NOTEBOOKS = [str(p.relative_to(ROOT)) for p in handout_notebooks(ROOT)]


def test_every_headline_names_a_notebook_of_the_course():
    assert set(bench.HEADLINES) <= set(NOTEBOOKS)
    assert len(bench.HEADLINES) >= len(NOTEBOOKS) // 2


@pytest.mark.parametrize("notebook", sorted(bench.HEADLINES))
def test_the_headline_is_found_in_the_committed_handout(notebook):
    handout = (ROOT / "solutions" / output_stem(ROOT, ROOT / notebook)).with_suffix(".ipynb")
    line = bench.headline(notebook, bench.printed(handout))
    label, value = line.rsplit(": ", 1)
    assert label == bench.HEADLINES[notebook][0]
    assert float(value) >= 0, line


def test_a_notebook_without_a_headline_or_without_the_line():
    assert bench.headline("notebooks/01b_convolutions.ipynb", "anything") == "-"
    assert (
        bench.headline("source/lenet5/lenet5.ipynb", "nothing here") == "test accuracy, modern variant: (not printed)"
    )
    text = "test accuracy: 0.91 | training time (s): 3\ntest accuracy: 0.95 | training time (s): 4\n"
    assert bench.headline("source/lenet5/lenet5.ipynb", text) == "test accuracy, modern variant: 0.95", (
        "the last counts"
    )


def test_peak_memory_sees_a_child_that_holds_memory():
    code = "import time; block = bytearray(300 * 2**20); time.sleep(2)"
    with bench.PeakMemory(every_s=0.1) as memory:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert memory.peak_mb > 250


def test_a_backend_that_is_not_installed_is_named(monkeypatch):
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit, match="--backend jax: the package `jax` is not installed"):
        bench.use_backend("jax")
