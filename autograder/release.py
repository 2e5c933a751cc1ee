"""Generating the student release (``course release``) and keeping the gradebook in step.

``nbgrader generate_assignment`` turns ``source/A`` into ``release/A``
(solutions and hidden tests removed, checksums and locks added) and records the
assignment's cells in the gradebook (``gradebook.db``, git-ignored), which
autograding needs. Its output depends only on the source, so the committed
``release/`` can be checked by regenerating it.

Here every generation first writes into a scratch folder under ``build/``;
the result is checked for leaks (:mod:`autograder.leaks`) and only then
compared with, or copied over, ``release/A``:

* ``release/A`` missing: it is created;
* identical: nothing changes ("up to date");
* different: without ``force`` this is an error (students may hold the old
  version); with ``force`` it is replaced.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .leaks import find_leaks
from .nbgrader_env import PipelineError, run_converter, source_notebooks

SCRATCH = Path("build") / "nbgrader"


@dataclass
class ReleaseOutcome:
    assignment: str
    action: str  # "created", "updated", "up to date"
    path: Path


def _tree_files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def differences(a: Path, b: Path) -> list[str]:
    """Relative paths whose presence or bytes differ between folders ``a`` and ``b``."""
    fa, fb = _tree_files(a) if a.exists() else {}, _tree_files(b) if b.exists() else {}
    changed = sorted(set(fa) ^ set(fb))
    changed += sorted(k for k in set(fa) & set(fb) if not filecmp.cmp(fa[k], fb[k], shallow=False))
    return sorted(changed)


def generate(root: Path, assignment: str, log_path: Path | None = None) -> Path:
    """Run generate_assignment for ``assignment`` into a fresh scratch folder (which
    also registers it in the gradebook) and return ``scratch/ASSIGNMENT``."""
    scratch_parent = root / SCRATCH
    scratch_parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="release-", dir=scratch_parent))
    result = run_converter(
        "GenerateAssignment",
        root,
        assignment,
        log_path=log_path,
        coursedir_overrides={"release_directory": str(scratch)},
    )
    if not result.ok:
        shutil.rmtree(scratch, ignore_errors=True)
        where = f" (log: {log_path})" if log_path else ""
        raise PipelineError(f"nbgrader could not generate '{assignment}': {result.error}{where}")
    return scratch / assignment


def release(root: Path, assignment: str, *, force: bool = False, log_path: Path | None = None) -> ReleaseOutcome:
    """Generate ``release/ASSIGNMENT`` from ``source/ASSIGNMENT`` (see the module docs)."""
    if not source_notebooks(root, assignment):
        raise PipelineError(f"source/{assignment} holds no notebook")
    generated = generate(root, assignment, log_path)
    try:
        leaks = []
        for source_nb in source_notebooks(root, assignment):
            leaks += find_leaks(source_nb, generated / source_nb.name)
        if leaks:
            raise PipelineError(f"refusing to release '{assignment}': {leaks[0]} ({len(leaks)} problem(s) in all)")
        target = root / "release" / assignment
        changed = differences(generated, target)
        if target.exists() and not changed:
            return ReleaseOutcome(assignment, "up to date", target)
        if target.exists() and not force:
            raise PipelineError(
                f"release/{assignment} differs from what source/{assignment} now generates "
                f"({', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}); "
                "rerun with --force to replace it (students may already hold the old version)"
            )
        action = "updated" if target.exists() else "created"
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(generated, target)
        return ReleaseOutcome(assignment, action, target)
    finally:
        shutil.rmtree(generated.parent, ignore_errors=True)


def is_registered(root: Path, assignment: str) -> bool:
    """Whether the gradebook knows ``assignment`` and each of its source notebooks."""
    from nbgrader.api import Gradebook, MissingEntry

    from .nbgrader_env import gradebook_url

    if not (root / "gradebook.db").exists():
        return False
    try:
        with Gradebook(gradebook_url(root)) as gb:
            known = {nb.name for nb in gb.find_assignment(assignment).notebooks}
    except MissingEntry:
        return False
    return {p.stem for p in source_notebooks(root, assignment)} <= known


def ensure_registered(root: Path, assignment: str, log_path: Path | None = None) -> str | None:
    """Make sure the gradebook knows ``assignment`` (a fresh clone has no gradebook.db).

    Registers it by generating into scratch space (``release/`` is left alone) and
    returns a warning line if the committed release differs from that, else None.
    """
    if is_registered(root, assignment):
        return None
    generated = generate(root, assignment, log_path)
    try:
        changed = differences(generated, root / "release" / assignment)
    finally:
        shutil.rmtree(generated.parent, ignore_errors=True)
    if changed:
        return (
            f"warning: release/{assignment} is not what source/{assignment} generates "
            f"({', '.join(changed[:3])}); grading uses source/. Run `course release {assignment} --force`."
        )
    return None
