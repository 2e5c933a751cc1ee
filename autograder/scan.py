"""A static scan of a submitted notebook for code that tampers with the grader.

An honest answer to an assignment computes things; it never needs to reach into
IPython, exit the kernel, rebind builtins, patch the grading module, run code
built at runtime, inspect stack frames, start processes, open sockets or write
files. Tampering needs one of those. :func:`scan_notebook` parses every cell a
student may write (with :mod:`ast`; nothing runs) and reports such code as
:class:`Finding` objects for the instructor to review. It changes no score.

The scan is a heuristic: it resolves the names a notebook imports (``import os
as o``, ``from os import _exit``) but not values passed around at runtime, so
it can miss well-hidden code; it aims at flagging nothing in an honest answer
(the reference solution and the release notebook yield no finding).

Categories (:data:`LABELS`): ``ipython-hooks``, ``exit``, ``builtins``,
``monkeypatch``, ``dynamic-code``, ``introspection``, ``processes``,
``network``, ``files``, ``environment``, ``shell`` (``!cmd`` lines and shell
cell magics), ``syntax`` (a cell that does not parse, so was not scanned) and
``library-shortcut`` (a call of a course function that solves a task the
student is asked to write, from the assignment's ``SHORTCUTS``) and
``grader-code`` (any use of ``autograder``: its answer key, its kernel side).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nbformat.notebooknode import NotebookNode

from . import cells as notebook_cells

LABELS = {
    "ipython-hooks": "IPython internals",
    "exit": "exiting the kernel",
    "builtins": "builtins tampering",
    "monkeypatch": "monkeypatching",
    "dynamic-code": "dynamic code",
    "introspection": "introspection",
    "processes": "processes",
    "network": "network",
    "files": "file system",
    "environment": "environment",
    "shell": "shell command",
    "syntax": "does not parse",
    "library-shortcut": "a library call where the task asks for your own code",
    "grader-code": "the grader's own code",
}

# Dotted names (after resolving imports) and everything below them, by category.
_MODULE_RULES: dict[str, tuple[str, ...]] = {
    "grader-code": ("autograder",),  # its answer key and its kernel side: never part of an answer
    "ipython-hooks": ("get_ipython", "IPython.get_ipython", "IPython.core", "IPython.terminal", "ipykernel"),
    "exit": (
        "sys.exit",
        "os._exit",
        "os.kill",
        "os.killpg",
        "os.abort",
        "signal",
        "atexit",
        "exit",
        "quit",
        "builtins.exit",
        "builtins.quit",
        "SystemExit",
    ),
    "builtins": ("builtins", "__builtin__", "__builtins__"),
    "dynamic-code": (
        "exec",
        "eval",
        "compile",
        "__import__",
        "builtins.exec",
        "builtins.eval",
        "builtins.compile",
        "builtins.__import__",
        "importlib",
        "base64",
        "codecs",
        "marshal",
        "pickle.loads",
        "pickle.load",
        "dill",
        "cloudpickle",
        "runpy",
        "zipimport",
        "types.FunctionType",
        "types.CodeType",
        "types.LambdaType",
    ),
    "introspection": (
        "sys._getframe",
        "sys.settrace",
        "sys.setprofile",
        "sys.addaudithook",
        "sys.modules",
        "sys.meta_path",
        "sys.path_hooks",
        "sys.excepthook",
        "sys.displayhook",
        "threading.settrace",
        "threading.setprofile",
        "inspect",
        "gc",
        "ctypes",
        "_ctypes",
        "cffi",
        "traceback.walk_stack",
        "traceback.extract_stack",
    ),
    "processes": (
        "os.fork",
        "os.forkpty",
        "os.system",
        "os.popen",
        "os.posix_spawn",
        "os.posix_spawnp",
        "subprocess",
        "multiprocessing",
        "pty",
        "pexpect",
        "concurrent.futures.ProcessPoolExecutor",
        "threading",
        "_thread",
    ),
    "network": (
        "socket",
        "urllib",
        "http.client",
        "http.server",
        "requests",
        "ftplib",
        "smtplib",
        "telnetlib",
        "urllib3",
        "httpx",
        "aiohttp",
        "xmlrpc",
        "ssl",
        "websocket",
        "websockets",
        "paramiko",
        "asyncio.open_connection",
    ),
    "files": (
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.renames",
        "os.replace",
        "os.rmdir",
        "os.removedirs",
        "os.truncate",
        "os.symlink",
        "os.link",
        "os.chmod",
        "os.chown",
        "os.open",
        "os.write",
        "shutil",
    ),
    "environment": ("os.putenv", "os.unsetenv", "os.chdir"),
}
_PREFIX_RULES: dict[str, tuple[str, ...]] = {"processes": ("os.exec", "os.spawn")}

# Attribute names that point at one category wherever they appear.
_ATTRIBUTE_RULES: dict[str, frozenset[str]] = {
    "ipython-hooks": frozenset(
        {
            "set_custom_exc",
            "input_transformers_cleanup",
            "input_transformers_post",
            "input_transformer_manager",
            "input_splitter",
            "ast_transformers",
            "run_cell",
            "run_cell_async",
            "run_line_magic",
            "run_cell_magic",
            "showtraceback",
            "showsyntaxerror",
            "InteractiveShell",
            "custom_exceptions",
            "CustomTB",
            "register_magic_function",
            "user_ns",
            "user_global_ns",
            "history_manager",
        }
    ),
    "introspection": frozenset(
        {
            "f_globals",
            "f_locals",
            "f_back",
            "f_code",
            "f_builtins",
            "f_trace",
            "co_consts",
            "co_code",
            "co_names",
            "tb_frame",
            "gi_frame",
            "cr_frame",
            "ag_frame",
            "__globals__",
            "__code__",
            "__closure__",
            "__subclasses__",
        }
    ),
    "files": frozenset({"write_text", "write_bytes", "unlink", "rmdir", "touch", "symlink_to", "hardlink_to"}),
}
# IPython's input history holds the source of every cell run so far, test cells included.
_HISTORY = re.compile(r"^(In|Out|_ih|_oh|_dh|_ii|_iii|_i\d+)$")
# Builtins the test cells lean on; rebinding one in the notebook's namespace fools them.
_TEST_BUILTINS = frozenset(
    {
        "globals",
        "isinstance",
        "issubclass",
        "print",
        "len",
        "float",
        "int",
        "abs",
        "round",
        "hasattr",
        "getattr",
        "setattr",
        "callable",
        "AssertionError",
        "Exception",
        "BaseException",
        "__import__",
        "__build_class__",
    }
)
# Names a student cell must not rebind at top level, with what they must stay bound to.
PROTECTED = {"course": "course", "grading": "course.grading"}
# Conventional names of modules, taken as imported when a cell uses them without importing them.
CONVENTIONAL = {
    "np": "numpy",
    "keras": "keras",
    "tf": "tensorflow",
    "plt": "matplotlib.pyplot",
    "os": "os",
    "sys": "sys",
    "builtins": "builtins",
    **PROTECTED,
}
_MUTATORS = frozenset(
    {
        "update",
        "clear",
        "pop",
        "popitem",
        "setdefault",
        "append",
        "extend",
        "insert",
        "remove",
        "__setitem__",
        "__delitem__",
        "__setattr__",
        "__delattr__",
    }
)
_OPENERS = frozenset({"open", "io.open", "builtins.open", "codecs.open", "os.fdopen"})
_PATH_TAKERS = frozenset(
    {"pathlib.Path", "pathlib.PurePath", "Path", "os.listdir", "os.scandir", "os.walk", "glob.glob", "glob.iglob"}
)
_WRITE_MODE = re.compile(r"[wax+]")
_MODE_LIKE = re.compile(r"^[rwxabt+]{1,3}$")

# Line magics that only time or display things; any other magic is flagged.
_SAFE_MAGICS = frozenset({"time", "timeit", "matplotlib", "who", "whos", "pwd", "lsmagic", "precision", "pprint"})
_SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script", "system", "!", "perl", "ruby", "python2", "python3", "pypy"})
_MAGIC_CATEGORIES = {
    "sx": "shell",
    "system": "shell",
    "env": "environment",
    "writefile": "files",
    "pip": "processes",
    "conda": "processes",
}
_TIMEIT_OPTIONS = re.compile(r"^(\s*-[a-zA-Z](\s+\d+)?)*\s*")


@dataclass
class Finding:
    """One suspicious line of a notebook."""

    cell: int
    grade_id: str | None
    line: int
    category: str
    detail: str

    def __str__(self) -> str:
        where = f"cell {self.cell}" + (f" ({self.grade_id})" if self.grade_id else "")
        return f"{where}, line {self.line}: {LABELS.get(self.category, self.category)} ({self.detail})"


@dataclass
class Context:
    """What the rest of the notebook tells the scan of one cell.

    ``modules``: names bound by an import anywhere in the notebook, to what they
    name (``{"np": "numpy", "grading": "course.grading"}``; :data:`CONVENTIONAL`
    by default); ``assigned``: names the notebook binds otherwise (variables, so
    ``signal = ...`` is not the module); ``protected``: names a cell must not
    rebind at top level, to the module they must stay (:data:`PROTECTED`, plus
    what the locked cells import from the ``course`` package); ``shortcuts``:
    library functions that solve a task the student must write, to the grade ids
    of the answer cells where they are allowed (an assignment's ``SHORTCUTS``).
    """

    modules: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONAL))
    assigned: set[str] = field(default_factory=set)
    protected: dict[str, str] = field(default_factory=lambda: dict(PROTECTED))
    shortcuts: Mapping[str, Iterable[str]] = field(default_factory=dict)


Raw = tuple[int, str, str]  # (line, category, detail)


def _matches(name: str, rules: Iterable[str]) -> bool:
    return any(name == rule or name.startswith(rule + ".") or name.startswith(rule + "(") for rule in rules)


def classify(name: str) -> str | None:
    """The category of a resolved dotted name (``"os._exit"`` -> ``"exit"``), or None."""
    for category, rules in _MODULE_RULES.items():
        if _matches(name, rules):
            return category
    for category, prefixes in _PREFIX_RULES.items():
        if any(name.startswith(prefix) for prefix in prefixes):
            return category
    return None


def _short(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _imports(tree: ast.AST) -> dict[str, str]:
    """Names bound by the imports in ``tree`` -> the dotted names they stand for."""
    return {name: notebook_cells.dotted(binding) for name, binding in notebook_cells.import_bindings(tree).items()}


def _assigned(tree: ast.AST) -> set[str]:
    """Names bound in ``tree`` other than by an import (targets, functions, classes, parameters)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _literal_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _path_texts(node: ast.AST) -> list[str]:
    """The literal text parts of a path argument (a string or an f-string)."""
    if isinstance(node, ast.JoinedStr):
        return [part.value for part in node.values if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    text = _literal_str(node)
    return [text] if text is not None else []


def _outside_path(node: ast.AST) -> bool:
    texts = _path_texts(node)
    return bool(texts) and (texts[0].startswith(("/", "~")) or any(".." in text for text in texts))


class _Scanner(ast.NodeVisitor):
    """Collects raw findings from one parsed cell."""

    def __init__(self, tree: ast.AST, context: Context, grade_id: str | None = None) -> None:
        self.modules = {**context.modules, **_imports(tree)}
        self.shortcuts = {name: tuple(allowed) for name, allowed in context.shortcuts.items()}
        self.grade_id = grade_id
        self.assigned = (context.assigned | _assigned(tree)) - set(self.modules)
        self.protected = {**PROTECTED, **context.protected}
        self.found: list[Raw] = []
        self._depth = 0  # function nesting; 0 is the notebook's top level
        self._globals: list[set[str]] = []

    # -- helpers ---------------------------------------------------------------------------------------------

    def add(self, node: ast.AST, category: str, detail: str) -> None:
        self.found.append((getattr(node, "lineno", 1), category, detail))

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name ``node`` stands for (imports resolved), or None when rooted in a variable."""
        if isinstance(node, ast.Name):
            if node.id in self.modules:
                return self.modules[node.id]
            return None if node.id in self.assigned else node.id
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr}"
        if isinstance(node, ast.Call):
            base = self.resolve(node.func)
            return None if base is None else f"{base}()"
        if isinstance(node, ast.Subscript):
            base = self.resolve(node.value)
            return None if base is None else f"{base}[]"
        return None

    def root(self, node: ast.AST) -> ast.Name | None:
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node if isinstance(node, ast.Name) else None

    def imported_root(self, node: ast.AST) -> str | None:
        """The module ``node`` hangs off when its root is an imported name, else None."""
        root = self.root(node)
        return self.modules.get(root.id) if root is not None else None

    def at_top_level(self, name: str) -> bool:
        return self._depth == 0 or (bool(self._globals) and name in self._globals[-1])

    # -- names and attributes --------------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load) or node.id in self.assigned:
            return
        if node.id not in self.modules and _HISTORY.match(node.id):
            self.add(node, "ipython-hooks", f"IPython input history {node.id}")
        name = self.resolve(node)
        category = classify(name) if name else None
        if category:
            self.add(node, category, node.id if name == node.id else f"{node.id} ({name})")
        self._check_shortcut(node, name)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        for category, names in _ATTRIBUTE_RULES.items():
            if node.attr in names:
                self.add(node, category, _short(node))
        if node.attr == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
            self.add(node, "ipython-hooks", _short(node))
        name = self.resolve(node)
        category = classify(name) if name else None
        if category:
            self.add(node, category, _short(node))
        self._check_shortcut(node, name)
        if name in ("os.environ.update", "os.environ.pop", "os.environ.setdefault", "os.environ.clear"):
            self.add(node, "environment", _short(node))
        self.generic_visit(node)

    # -- imports ---------------------------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_import(node, alias.name, alias.asname or alias.name.split(".")[0], alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}" if alias.name != "*" else module
            self._check_import(node, full, alias.asname or alias.name, full)

    def _check_shortcut(self, node: ast.AST, name: str | None) -> None:
        allowed = self.shortcuts.get(name) if name else None
        if allowed is not None and self.grade_id not in allowed:
            self.add(node, "library-shortcut", name)

    def _check_import(self, node: ast.AST, full: str, bound: str, target: str) -> None:
        category = classify(full)
        if category:
            self.add(node, category, f"import {full}")
        self._check_shortcut(node, full)
        expected = self.protected.get(bound)
        if expected and self.at_top_level(bound) and target != expected and not target.startswith(expected + "."):
            self.add(node, "monkeypatch", f"rebinds {bound} (import {full})")

    # -- assignments -----------------------------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._check_target(item.optional_vars)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
        elif isinstance(target, ast.Starred):
            self._check_target(target.value)
        elif isinstance(target, ast.Name):
            self._check_rebinding(target, target.id)
        elif isinstance(target, ast.Attribute):
            self._check_patch(target)
        elif isinstance(target, ast.Subscript):
            self._check_item(target)

    def _check_rebinding(self, node: ast.AST, name: str) -> None:
        if not self.at_top_level(name):
            return
        if name in self.protected:
            self.add(node, "monkeypatch", f"rebinds {name}")
        elif name in _TEST_BUILTINS or name == "__builtins__":
            self.add(node, "builtins", f"rebinds the builtin {name}")

    def _check_patch(self, target: ast.Attribute) -> None:
        module = self.imported_root(target)
        if module is None:
            return
        if module.split(".")[0] in ("builtins", "__builtin__"):
            self.add(target, "builtins", f"assignment to {_short(target)}")
        else:
            self.add(target, "monkeypatch", f"assignment to {_short(target)} ({module})")

    def _check_item(self, target: ast.Subscript) -> None:
        name = self.resolve(target.value)
        if name == "os.environ":
            self.add(target, "environment", f"assignment to {_short(target)}")
        elif name == "sys.modules":
            self.add(target, "monkeypatch", f"assignment to {_short(target)}")
        elif name in ("globals()", "locals()", "vars()") or self.imported_root(target) is not None:
            self.add(target, "monkeypatch", f"assignment to {_short(target)}")
        elif isinstance(target.value, ast.Call) and self.resolve(target.value.func) == "vars":
            self.add(target, "monkeypatch", f"assignment to {_short(target)}")

    # -- definitions -----------------------------------------------------------------------------------------

    def _visit_scope(self, node: ast.AST, name: str | None) -> None:
        if name is not None:
            self._check_rebinding(node, name)
        self._depth += 1
        self._globals.append({n for child in ast.walk(node) if isinstance(child, ast.Global) for n in child.names})
        self.generic_visit(node)
        self._globals.pop()
        self._depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_scope(node, node.name)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_scope(node, node.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_scope(node, node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_scope(node, None)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and exc.id in ("KeyboardInterrupt", "GeneratorExit"):
            self.add(node, "exit", f"raise {exc.id}")
        self.generic_visit(node)

    # -- calls -----------------------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        name = self.resolve(node.func)
        if name in ("setattr", "delattr", "getattr", "builtins.setattr", "builtins.delattr", "builtins.getattr"):
            self._check_attr_call(node, name.split(".")[-1])
        elif name in ("object.__setattr__", "type.__setattr__", "object.__delattr__", "type.__delattr__"):
            self.add(node, "monkeypatch", _short(node))
        elif name in _OPENERS:
            mode = next((kw.value for kw in node.keywords if kw.arg == "mode"), node.args[1] if node.args[1:] else None)
            self._check_open(node, mode, node.args[0] if node.args else None)
        elif name in _PATH_TAKERS and node.args and _outside_path(node.args[0]):
            self.add(node, "files", f"path outside the notebook's folder: {_short(node)}")
        elif isinstance(node.func, ast.Attribute):
            self._check_method(node, node.func)
        self.generic_visit(node)

    def _check_attr_call(self, node: ast.Call, function: str) -> None:
        if len(node.args) >= 2 and _literal_str(node.args[1]) is None:
            self.add(node, "dynamic-code", f"{function}() with a computed name: {_short(node)}")
        if function != "getattr" and node.args and self.imported_root(node.args[0]) is not None:
            module = self.imported_root(node.args[0])
            category = "builtins" if module.split(".")[0] == "builtins" else "monkeypatch"
            self.add(node, category, _short(node))

    def _check_open(self, node: ast.Call, mode_node: ast.AST | None, path_node: ast.AST | None) -> None:
        if mode_node is not None:
            mode = _literal_str(mode_node)
            if mode is None:
                self.add(node, "files", f"open() with a computed mode: {_short(node)}")
            elif _WRITE_MODE.search(mode):
                self.add(node, "files", f"open() for writing: {_short(node)}")
        if path_node is not None and _outside_path(path_node):
            self.add(node, "files", f"path outside the notebook's folder: {_short(node)}")

    def _check_method(self, node: ast.Call, func: ast.Attribute) -> None:
        if func.attr == "open":
            first = _literal_str(node.args[0]) if node.args else None
            positional = node.args[0] if first is not None and _MODE_LIKE.match(first) else None
            mode = next((kw.value for kw in node.keywords if kw.arg == "mode"), positional)
            if mode is not None:
                self._check_open(node, mode, None)
        elif func.attr in _MUTATORS and isinstance(func.value, (ast.Attribute, ast.Subscript)):
            name = self.resolve(func.value)
            if name == "os.environ":
                return  # reported by visit_Attribute
            if self.imported_root(func.value) is not None:
                self.add(node, "monkeypatch", f"changes {_short(func.value)}: {_short(node)}")


# -- IPython syntax --------------------------------------------------------------------------------------------


def _ipython_findings(syntax: list[notebook_cells.IPythonLine]) -> tuple[list[Raw], list[tuple[int, str]]]:
    """The findings about a cell's IPython lines (see :func:`autograder.cells.parse_cell`), and the Python
    snippets that its ``%time``/``%timeit`` lines run, with their line numbers."""
    found: list[Raw] = []
    extra: list[tuple[int, str]] = []
    for item in syntax:
        name = item.name
        if item.cell_magic:
            if item.shell or not name or name in _SHELL_CELL_MAGICS:
                found.append((item.number, "shell", f"%%{name or '!'} cell"))
            elif name not in notebook_cells.PYTHON_CELL_MAGICS:
                found.append((item.number, _MAGIC_CATEGORIES.get(name, "ipython-hooks"), f"%%{name} cell magic"))
        elif item.shell:
            found.append((item.number, "shell", item.text[:60]))
        elif name in ("time", "timeit"):
            tail = item.text[len(name) + 1 :]
            extra.append((item.number, _TIMEIT_OPTIONS.sub("", tail, count=1) if name == "timeit" else tail))
        elif name not in _SAFE_MAGICS:
            found.append((item.number, _MAGIC_CATEGORIES.get(name, "ipython-hooks"), f"%{name} magic"))
    return found, extra


def _parse(code: str) -> tuple[ast.AST | None, list[Raw], list[tuple[int, str]]]:
    parsed = notebook_cells.parse_cell(code)
    found, extra = _ipython_findings(parsed.ipython)
    if parsed.error is not None:
        detail = f"{parsed.error.msg}; the cell was not scanned"
        return None, [(parsed.error.lineno or 1, "syntax", detail)], []
    return parsed.tree, found, extra


def scan_code(code: str, context: Context | None = None, grade_id: str | None = None) -> list[Raw]:
    """``(line, category, detail)`` for each suspicious line of one cell's code (one per line and category);
    ``grade_id`` names the cell, for the assignment's ``shortcuts`` (see :class:`Context`)."""
    context = context or Context()
    tree, found, extra = _parse(code)
    if tree is not None:
        scanner = _Scanner(tree, context, grade_id)
        scanner.visit(tree)
        found += scanner.found
    for number, snippet in extra:
        found += [(number, cat, detail) for _, cat, detail in scan_code(snippet, context, grade_id) if cat != "syntax"]
    seen: set[tuple[int, str]] = set()
    unique = []
    for line, category, detail in sorted(found, key=lambda item: item[0]):
        if (line, category) not in seen:
            seen.add((line, category))
            unique.append((line, category, detail))
    return unique


# -- notebooks -------------------------------------------------------------------------------------------------


def is_student_cell(cell: NotebookNode) -> bool:
    """A code cell the student may edit (see :func:`autograder.cells.is_student_cell`)."""
    return notebook_cells.is_student_cell(cell)


def notebook_context(nb: NotebookNode, shortcuts: Mapping[str, Iterable[str]] | None = None) -> Context:
    """What every cell of ``nb`` imports and binds, the names its locked cells import (protected), and
    the assignment's ``shortcuts``."""
    context = Context(shortcuts=dict(shortcuts or {}))
    for cell in nb.cells:
        tree = notebook_cells.parse(cell.source) if cell.cell_type == "code" else None
        if tree is None:
            continue
        imports = _imports(tree)
        context.modules.update(imports)
        context.assigned |= _assigned(tree)
        if not is_student_cell(cell):
            course = {name: target for name, target in imports.items() if target.split(".")[0] == "course"}
            context.protected.update(course)
    context.assigned -= set(context.modules)
    return context


def assignment_shortcuts(assignment: str) -> dict[str, tuple[str, ...]]:
    """The ``SHORTCUTS`` of the assignment's checks module (``course.grading.ASSIGNMENT``), if it has one."""
    import importlib

    try:
        module = importlib.import_module(f"course.grading.{assignment}")
    except ImportError:
        return {}
    return {name: tuple(allowed) for name, allowed in getattr(module, "SHORTCUTS", {}).items()}


def scan_notebook(
    nb: NotebookNode, cells: str = "student", shortcuts: Mapping[str, Iterable[str]] | None = None
) -> list[Finding]:
    """Findings in the code cells of ``nb`` a student may write (``cells="student"``) or in all its code
    cells (``cells="all"``), in notebook order. ``shortcuts``: see :class:`Context`."""
    if cells not in ("student", "all"):
        raise ValueError(f"cells must be 'student' or 'all', not {cells!r}")
    context = notebook_context(nb, shortcuts)
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or (cells == "student" and not is_student_cell(cell)):
            continue
        grade_id = notebook_cells.grade_id(cell)
        for line, category, detail in scan_code(cell.source, context, grade_id):
            findings.append(Finding(index, grade_id, line, category, detail))
    return findings


def summarize(findings: Iterable[Finding]) -> str:
    """One short line for a report column: each category with the first cell it was found in ("" if none)."""
    first: dict[str, int] = {}
    for finding in findings:
        first.setdefault(finding.category, finding.cell)
    return ", ".join(f"{category} (cell {cell})" for category, cell in first.items())
