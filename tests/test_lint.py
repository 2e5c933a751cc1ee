"""The Python code passes the project's linter and formatter (ruff, configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["check", "--output-format", "concise"], ["format", "--check", "--diff"]])
def test_ruff(command):
    proc = subprocess.run([sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"`ruff {' '.join(command)} .` failed (run `ruff check --fix . && ruff format .`):\n"
        + (proc.stdout + proc.stderr)[-4000:]
    )


def test_ruff_covers_the_four_code_folders():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "."], cwd=ROOT, capture_output=True, text=True
    )
    files = {Path(line).relative_to(ROOT).parts[0] for line in proc.stdout.split() if line.endswith(".py")}
    assert {"course", "autograder", "bench", "tests"} <= files, files
