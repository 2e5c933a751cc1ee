"""TensorFlow's start-up lines kept out of the notebooks (lecture 01's setup cell).

When TensorFlow loads, and when it first looks for a GPU, its C++ code writes lines such as ``All log
messages before absl::InitializeLog() is called are written to STDERR``, ``oneDNN custom operations
are on`` and ``Could not find cuda drivers`` straight to the process's stderr (file descriptor 2).
``TF_CPP_MIN_LOG_LEVEL`` cannot stop the ones written before TensorFlow's logging starts. In a Jupyter
kernel, fd 2 is forwarded to the notebook, so a student's first cell shows a red block of them.

This module is an IPython extension: ``python -m course.lab_setup`` (which ``make setup`` runs, here
and in the student edition) makes every kernel of the course's environment load it. It adds an import
hook: the first import of ``tensorflow`` (from ``import keras`` or directly) runs with fd 2 sent to a
temporary file, and so does TensorFlow's first device query, which is where the GPU probe complains. Nothing is lost:
:func:`startup_log` returns what was written, and if the import fails, the lines are written to stderr
before the error propagates, so a broken install still explains itself.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import tempfile

#: The modules whose first import is silenced, and what runs after each, still silenced.
QUIET = ("tensorflow",)

_log: list[str] = []


def startup_log() -> str:
    """What the silenced imports wrote to stderr ("" if nothing, or if no hook ran)."""
    return "".join(_log)


@contextlib.contextmanager
def _fd2_to_file():
    """Send file descriptor 2 to a temporary file for the block; keep what was written in the log."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            _log.append(sink.read().decode("utf-8", errors="replace"))


def _probe_devices(module) -> None:
    """TensorFlow's first device query (the GPU probe and its complaints), made here while silenced."""
    config = getattr(module, "config", None)
    if config is not None:
        with contextlib.suppress(Exception):
            config.list_physical_devices()


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader with fd 2 silenced; everything else is the wrapped loader's."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        before = len(_log)
        try:
            with _fd2_to_file():
                self._loader.exec_module(module)
                if module.__name__ == "tensorflow":
                    _probe_devices(module)
        except BaseException:
            sys.stderr.write("".join(_log[before:]))  # the lines that explain the failure
            raise


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        self.names.discard(name)  # once per module
        if not self.names:
            uninstall()
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install(names=QUIET) -> bool:
    """Silence the first import of each of ``names`` not imported yet; False when there is none."""
    uninstall()
    pending = [name for name in names if name not in sys.modules]
    if not pending:
        return False
    sys.meta_path.insert(0, _Hook(pending))
    return True


def uninstall() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _Hook)]


def load_ipython_extension(ipython) -> None:
    """``%load_ext course.quiet_tensorflow``, or the kernel configuration :mod:`course.lab_setup` writes."""
    install()
