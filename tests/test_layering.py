"""One direction of imports: the students' library (``course``) never imports the instructor's tooling."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent.parent / "course"

# Every course.* module imported in a fresh interpreter in which `autograder` cannot be imported.
_IMPORT_ALL = """
import importlib, importlib.abc, pkgutil, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "autograder" or name.startswith("autograder."):
            raise ImportError(f"course imported {name}")
        return None

sys.meta_path.insert(0, Refuse())
import course
names = ["course"] + [m.name for m in pkgutil.walk_packages(course.__path__, "course.")]
for name in names:
    importlib.import_module(name)
for name in course.__all__:
    getattr(course, name)
leaked = sorted(n for n in sys.modules if n.split(".")[0] == "autograder")
print(len(names), "modules;", "leaked:", leaked)
assert not leaked, leaked
"""


def test_every_course_module_imports_without_the_autograder():
    proc = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    count = int(proc.stdout.split()[0])
    assert count >= 12, proc.stdout  # course, its packages and modules: the walk found them


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("__import__", "import_module"):
            names |= {arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return names


def test_no_course_source_names_the_autograder_in_an_import():
    """Also the imports a plain import of each module would not run (inside functions)."""
    offenders = {
        str(path.relative_to(COURSE.parent)): sorted(n for n in _imported_modules(path) if n.startswith("autograder"))
        for path in sorted(COURSE.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert len(offenders) >= 12


def test_the_instructor_tooling_lives_in_the_autograder():
    for module in ("cli", "handouts", "notebook_format"):
        assert not (COURSE / f"{module}.py").exists()
        assert (COURSE.parent / "autograder" / f"{module}.py").is_file()
