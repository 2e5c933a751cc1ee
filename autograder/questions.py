"""The README's "The ten questions" table: which notebook teaches which question.

One table, read by the student edition (its README) and the handout site (its table of contents).
"""

from __future__ import annotations

import re

from .nbgrader_env import PipelineError


def questions_table(readme: str) -> str:
    """The "ten questions" table of the instructor's README (where each question is taught)."""
    match = re.search(r"^## The ten questions\s*\n(.*?)(?=^## )", readme, re.M | re.S)
    table = [line for line in (match.group(1) if match else "").splitlines() if line.startswith("|")]
    if not table:
        raise PipelineError("README.md has no table under '## The ten questions' to give the students")
    return "\n".join(table)
