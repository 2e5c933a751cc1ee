"""The grader's side inside the student's kernel.

The grading preprocessor (:mod:`autograder.execute`) calls :func:`install` in
the fresh kernel *before* any student code runs, then runs every test cell
through :func:`run_test` instead of sending its code as it stands. That makes a
test score only when its own code ran to the end, with the real helpers:

* :func:`install` records the genuine state of what tests rely on: the
  ``builtins`` module, ``course`` and its submodules (the test helpers in
  ``course.grading`` and every assignment's module in it included), ``numpy``, ``numpy.testing`` and the main Keras
  modules and classes (their attributes), the entries of ``sys.modules`` and
  IPython's hooks (input and AST transformers, custom exception handlers,
  event callbacks), ``sys.stdout``/``stderr`` and the trace and exception hooks.
* :func:`run_test` puts all of that back (so monkeypatched helpers, asserts
  swallowed by a custom exception handler or by an AST transformer, a replaced
  ``numpy.testing``, patched builtins and names such as ``grading`` rebound by
  the student are undone), compiles the test's source with the genuine
  ``compile`` (IPython's transformers never see it) and runs it in a copy of the
  student's namespace in which the trusted names point at the genuine modules.
  Only when the test's code returned does it print a *receipt*: an HMAC of a
  nonce the grader made up for this cell alone, under a secret the grader gave
  :func:`install` before any student code ran (and outside the kernel's
  history). The grader scores a test cell as failed when its receipt is
  missing, whatever else the cell printed; a fake ``run_test`` that is handed
  the nonce still cannot sign it.

For course authors: :func:`restore` puts the attributes of every ``course``
module back as they were before the student's code ran, so those modules
must not keep state in module globals that the notebook is meant to change.

Limits: this runs in the same process as the student's code, which ran first.
Code written against this module (one that digs the signing function out of
its memory, e.g. through ``sys.modules`` or the garbage collector, and installs
a fake ``run_test`` that uses it) can still forge a receipt; :mod:`autograder.scan` flags such code for the
instructor, and the README says how to grade with stronger isolation.
"""

from __future__ import annotations

import sys

RECEIPT = "[course grader] test completed: "
PROTECTED_MODULES = (
    "builtins",
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "keras",
    "keras.layers",
    "keras.ops",
    "keras.models",
)
PROTECTED_PREFIXES = ("course",)  # every course.* module imported at install time
HELPERS = ("course.grading", "course.data", "course.train", "course.models", "course.runtime", "course.viz")

_state: dict | None = None


def _snapshot_vars(obj) -> dict:
    return dict(vars(obj))


def _protected_classes(modules: list) -> list[type]:
    """Classes whose methods tests call: those defined in course.*, and Keras' main ones."""
    classes = []
    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, type) and (value.__module__ or "").startswith(PROTECTED_PREFIXES):
                classes.append(value)
    import keras

    classes += [keras.Model, keras.Sequential, keras.layers.Layer, keras.layers.InputLayer]
    seen, unique = set(), []
    for cls in classes:
        if id(cls) not in seen:
            seen.add(id(cls))
            unique.append(cls)
    return unique


def _assignment_checks() -> list[str]:
    """``course.grading.core`` and every assignment's checks (``course.grading.lenet5``, ...)."""
    import pkgutil

    import course.grading

    return [info.name for info in pkgutil.iter_modules(course.grading.__path__, "course.grading.")]


def receipt(secret: str, nonce: str) -> str:
    """The line that proves a test ran to its end: an HMAC of the cell's nonce under the kernel's secret."""
    import hashlib
    import hmac

    return RECEIPT + hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def _signer(secret: str):
    return lambda nonce: receipt(secret, nonce)


def install(secret: str) -> None:
    """Record the genuine state (call once, before any student code). ``secret`` signs the receipts;
    the grader sends it in this one call, which is kept out of the kernel's history."""
    global _state
    import builtins
    import importlib
    import threading

    from IPython import get_ipython

    for name in HELPERS:
        importlib.import_module(name)
    for name in _assignment_checks():
        importlib.import_module(name)
    for name in PROTECTED_MODULES:
        importlib.import_module(name)
    module_names = [n for n in sys.modules if n in PROTECTED_MODULES or n.split(".")[0] in PROTECTED_PREFIXES]
    modules = {name: sys.modules[name] for name in module_names if sys.modules[name] is not None}
    shell = get_ipython()
    _state = {
        "modules": modules,
        "module_vars": {name: _snapshot_vars(module) for name, module in modules.items()},
        "classes": [(cls, _snapshot_vars(cls)) for cls in _protected_classes(list(modules.values()))],
        "builtins": builtins,
        "builtin_names": set(vars(builtins)),
        "compile": builtins.compile,
        "exec": builtins.exec,
        "stdout": sys.stdout,
        "stderr": sys.stderr,
        "sys_hooks": (sys.excepthook, sys.displayhook),
        "threading": threading,
        "shell": shell,
        "shell_hooks": _shell_hooks(shell),
        "sign": _signer(secret),
    }
    _forget(secret)


def _forget(secret: str) -> None:
    """Drop the source of the install call from the caches IPython keeps for tracebacks."""
    import linecache

    for key, entry in list(linecache.cache.items()):
        lines = entry[2] if len(entry) > 2 else []
        if any(secret in line for line in lines):
            del linecache.cache[key]


def _shell_hooks(shell) -> dict:
    if shell is None:
        return {}
    return {
        "input_transformers_cleanup": list(shell.input_transformers_cleanup),
        "input_transformers_post": list(shell.input_transformers_post),
        "ast_transformers": list(shell.ast_transformers),
        "events": {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        "custom_exceptions": shell.custom_exceptions,
        "CustomTB": shell.CustomTB,
    }


def _restore_vars(target, saved: dict, *, is_class: bool) -> None:
    current = vars(target)
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            try:
                setattr(target, key, value) if is_class else current.__setitem__(key, value)
            except (AttributeError, TypeError):
                pass


_MISSING = object()


def restore() -> None:
    """Put back everything :func:`install` recorded."""
    state = _state
    if state is None:
        raise RuntimeError("the grader's guard was not installed in this kernel")
    sys.settrace(None)
    sys.setprofile(None)
    state["threading"].settrace(None)
    state["threading"].setprofile(None)
    for name, module in state["modules"].items():
        sys.modules[name] = module
        _restore_vars(module, state["module_vars"][name], is_class=False)
    for cls, saved in state["classes"]:
        _restore_vars(cls, saved, is_class=True)
    sys.stdout, sys.stderr = state["stdout"], state["stderr"]
    sys.excepthook, sys.displayhook = state["sys_hooks"]
    shell, hooks = state["shell"], state["shell_hooks"]
    if shell is not None:
        shell.input_transformers_cleanup[:] = hooks["input_transformers_cleanup"]
        shell.input_transformers_post[:] = hooks["input_transformers_post"]
        shell.ast_transformers[:] = hooks["ast_transformers"]
        for name, callbacks in hooks["events"].items():
            shell.events.callbacks[name][:] = callbacks
        shell.custom_exceptions, shell.CustomTB = hooks["custom_exceptions"], hooks["CustomTB"]


def _trusted_value(module: str, attribute: str | None):
    state = _state
    modules = state["modules"]
    if attribute is None:
        return modules.get(module, _MISSING)
    if f"{module}.{attribute}" in modules:
        return modules[f"{module}.{attribute}"]
    saved = state["module_vars"].get(module)
    return saved.get(attribute, _MISSING) if saved is not None else _MISSING


def run_test(source: str, nonce: str, trusted: dict, name: str = "test") -> None:
    """Run one test cell's ``source`` with the genuine helpers; print the receipt if it returns.

    ``trusted`` maps names the assignment's own (locked) cells bound by importing,
    to ``[module, attribute or None]``; in the test's namespace they point at the
    genuine objects again."""
    restore()
    state = _state
    shell = state["shell"]
    namespace = shell.user_ns if shell is not None else sys.modules["__main__"].__dict__
    env = {key: value for key, value in namespace.items() if key not in state["builtin_names"]}
    env["__builtins__"] = state["builtins"]
    for alias, (module, attribute) in trusted.items():
        value = _trusted_value(module, attribute)
        if value is not _MISSING:
            env[alias] = value
    filename = f"<grader: {name}>"
    import linecache

    code = state["compile"](source, filename, "exec", dont_inherit=True)
    linecache.cache.pop(filename, None)  # tracebacks name the line; its text stays out of reach
    try:
        state["exec"](code, env)
    except BaseException as err:  # shown as the test's own traceback, not the call that ran it
        lines = _render(err, filename, source)
        try:
            err._render_traceback_ = lambda: lines
        except (AttributeError, TypeError):
            pass
        raise
    for key, value in env.items():  # names the test defined or changed stay visible afterwards
        if key != "__builtins__" and key not in trusted and namespace.get(key, _MISSING) is not value:
            namespace[key] = value
    out = state["stdout"]
    out.write(f"\n{state['sign'](nonce)}\n")
    out.flush()


def _render(err: BaseException, filename: str, source: str) -> list[str]:
    """A traceback that starts in the test cell ("Cell In[], line N", as IPython names cells)
    and skips the frames of helpers that hide themselves (``__tracebackhide__``)."""
    import linecache

    lines = source.split("\n")
    out = ["Traceback (most recent call last):"]
    tb, started = err.__traceback__, False
    while tb is not None:
        frame, number = tb.tb_frame, tb.tb_lineno
        in_test = frame.f_code.co_filename == filename
        started = started or in_test
        if started and not frame.f_locals.get("__tracebackhide__"):
            if in_test:
                text = lines[number - 1].strip() if 1 <= number <= len(lines) else ""
                out.append(f"Cell In[], line {number}\n    {text}")
            else:
                text = linecache.getline(frame.f_code.co_filename, number).strip()
                out.append(f"File {frame.f_code.co_filename}:{number}, in {frame.f_code.co_name}\n    {text}")
        tb = tb.tb_next
    message = str(err)
    out.append(f"{type(err).__name__}: {message}" if message else type(err).__name__)
    return out
