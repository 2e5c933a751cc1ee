"""The verdict stage: test cells run in the grader's trusted process, never in the student's kernel.

While a submission is graded, its notebook's cells run in the sandboxed kernel
(:mod:`autograder.sandbox`), except the test cells. :class:`GuardedExecute
<autograder.execute.GuardedExecute>` hands each test cell's source to
:meth:`Boundary.run_test`, which runs it here, in the grading worker: a process
that starts the kernel and talks to it but has never executed a line of
student code. The test's namespace holds

* the names the assignment's own (locked) cells bound by importing
  (``grading``, ``np``, ...), imported here: the genuine modules;
* every other name, looked up in the kernel when the test first uses it
  (:class:`StudentNamespace`) and brought over **as data**
  (:mod:`autograder.crossing`): numbers, strings, arrays, tables and the
  course's result objects by value; Keras models rebuilt from their
  configuration with ``safe_mode=True`` (a Lambda layer or a class of the
  student's is refused); functions as :class:`RemoteFunction`\\ s, whose calls
  run in the kernel with arguments and results crossing as data.

So nothing the kernel prints, returns or patches can make a test pass: a
patched ``course.grading``, a rebound ``grading``, an IPython hook, a faked
receipt or a lying ``__eq__`` all stay in the kernel. Only what this process
computes counts. Names a test cell assigns are written back into the kernel
afterwards, so later cells see them as before.

What this replaced: until this stage existed, test cells ran in the kernel
through an in-kernel guard that put patched helpers, modules, builtins and
IPython hooks back before each test, compiled the test with the genuine
``compile`` and required a signed receipt. Code written against it could dig
the signing function out of the kernel and forge 16/16. Each of its defences
now has a stronger replacement: the helpers are imported here and never
patched; the test's source never reaches the kernel (nor its history, nor
IPython's transformers); a test passes when its code returned here, so there
is nothing to sign or forge; ``grading`` and the other imported names are
bound here, whatever the kernel rebinds.

For course authors, the rule: a test may use the student's work only as data.
Call the course's checks with the student's values, models and functions; do
not rely on the identity of a student's object, on its methods (other than a
Keras model's, which are Keras' own here) or on module state in the kernel.
A value that cannot cross (a generator, an open file, a model with code in it)
fails the test that uses it, with a message saying what to return instead.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import itertools
import os
import queue
import secrets
import shutil
import sys
import tempfile
import time

from . import crossing

EXCHANGE_PREFIX = ".grader-exchange-"


class KernelLost(RuntimeError):
    """The kernel died while the trusted process waited for it."""


class CallTimeout(RuntimeError):
    """The kernel did not answer in time (``seconds``)."""

    def __init__(self, what: str, seconds: float):
        super().__init__(f"{what} ran longer than the {seconds:.0f} s limit per cell")
        self.what, self.seconds = what, seconds


class StudentError(Exception):
    """A student's function raised an error in the kernel (its type and message, as data)."""


class KernelLink:
    """Requests to the kernel over its own Jupyter client; answers through exchange folders."""

    def __init__(self, connection_info: dict, alive, parent: str = "", owner: int | None = None):
        from jupyter_client.blocking import BlockingKernelClient

        self.client = BlockingKernelClient()
        self.client.load_connection_info(connection_info)
        self.client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        self.alive, self.owner = alive, owner
        self.base = tempfile.mkdtemp(prefix=EXCHANGE_PREFIX, dir=parent or None)
        if owner is not None and os.geteuid() == 0:
            os.chown(self.base, owner, owner)
        self.base_fd = os.open(self.base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.counter = itertools.count(1)

    def close(self) -> None:
        self.client.stop_channels()
        os.close(self.base_fd)
        shutil.rmtree(self.base, ignore_errors=True)

    @contextlib.contextmanager
    def exchange(self):
        """A fresh folder for one request: ``(path the kernel uses, fd this side reads through)``."""
        name = f"r{next(self.counter)}-{secrets.token_hex(4)}"
        os.mkdir(name, 0o700, dir_fd=self.base_fd)
        if self.owner is not None and os.geteuid() == 0:
            os.chown(name, self.owner, self.owner, dir_fd=self.base_fd, follow_symlinks=False)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.base_fd)
        try:
            yield os.path.join(self.base, name), fd
        finally:
            os.close(fd)
            shutil.rmtree(os.path.join(self.base, name), ignore_errors=True)

    def execute(self, code: str, timeout: float, what: str) -> None:
        """Run ``code`` in the kernel; its own errors are the kernel side's, reported as data, so an
        error reply means the kernel side itself failed (e.g. the student replaced it)."""
        msg_id = self.client.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CallTimeout(what, timeout)
            try:
                reply = self.client.get_shell_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not self.alive():
                    raise KernelLost("the kernel died") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                content = reply.get("content", {})
                if content.get("status") != "ok":
                    raise StudentError(f"{what} failed in the kernel: {content.get('ename')}: {content.get('evalue')}")
                return

    def reader(self, fd: int, boundary) -> crossing.Reader:
        owner = self.owner if self.owner is not None and os.geteuid() == 0 else None
        return crossing.Reader(fd, owner=owner, function=boundary.remote, resolve=None, safe=True)


class RemoteFunction:
    """A student's function, called in the kernel: the arguments go there as data, the result comes back."""

    def __init__(self, boundary, handle: int, name: str):
        self._boundary, self._handle, self.__name__ = boundary, handle, name
        self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True
        return self._boundary.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<your function {self.__name__}, run in your notebook's kernel>"


class StudentNamespace(dict):
    """A test's globals: trusted names set up front, the student's looked up in the kernel on first use."""

    def __init__(self, boundary, trusted: dict):
        super().__init__()
        self._boundary, self._trusted = boundary, trusted  # {alias: [module, attribute]}, imported on first use
        self.assigned: list[str] = []

    def __missing__(self, name):
        if not isinstance(name, str) or name in vars(builtins) or name.startswith("__"):
            raise KeyError(name)
        if name in self._trusted:  # e.g. `keras`: imported only by a test that uses it
            value = trusted_namespace({name: self._trusted[name]}).get(name)
            if value is None:
                raise KeyError(name)
            dict.__setitem__(self, name, value)
            return value
        found, value = self._boundary.fetch(name)
        if not found:
            raise KeyError(name)
        dict.__setitem__(self, name, value)
        return value

    def __contains__(self, name) -> bool:
        if dict.__contains__(self, name):
            return True
        try:
            self[name]
        except KeyError:
            return False
        return True

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __setitem__(self, name, value):
        if name not in self.assigned:
            self.assigned.append(name)
        dict.__setitem__(self, name, value)


class Boundary:
    """One submission's test cells, run in this process against its kernel."""

    def __init__(self, link: KernelLink, timeout):
        self.link, self.timeout = link, timeout  # timeout(): seconds a request may take now
        self.origin: dict[int, tuple[int, object]] = {}  # id(value here) -> (kernel handle, value)
        self.refused: list[str] = []  # what could not cross during the current test
        self.link.execute("import autograder.kernel_side as __course_side", self.timeout(), "the grader's set-up")

    # --- the kernel's values ------------------------------------------------------------------
    def _answer(self, fd: int, what: str, naming: str | None = None):
        """``(found, value)`` from the kernel's answer; ``what`` names the call, ``naming`` the value."""
        reader = self.link.reader(fd, self)
        reader.what = naming or what
        envelope = reader.envelope()
        if envelope.get("missing"):
            return False, None
        raised = envelope.get("raised")
        if raised is not None:
            kind, message = (list(raised) + ["", ""])[:2] if isinstance(raised, list) else ("Error", "")
            raise StudentError(f"{what} raised {str(kind)[:100]}: {str(message)[:2000]}")
        value = reader.value(envelope.get("tree"))
        self.refused += [message for message in reader.refused if message not in self.refused]
        handle = envelope.get("handle")
        if isinstance(handle, int) and not isinstance(handle, bool):
            self.origin[id(value)] = (handle, value)
        return True, value

    def fetch(self, name: str):
        """``(found, value)`` of the notebook's name ``name``."""
        if not name.isidentifier():
            return False, None
        with self.link.exchange() as (path, fd):
            self.link.execute(f"__course_side.fetch({name!r}, {path!r})", self.timeout(), f"Reading `{name}`")
            return self._answer(fd, f"`{name}`")

    def remote(self, handle, name: str) -> RemoteFunction:
        if not isinstance(handle, int) or isinstance(handle, bool):
            raise crossing.CrossingError("a malformed function handle")
        function = RemoteFunction(self, handle, name)
        self.origin[id(function)] = (handle, function)
        return function

    def _reference(self, value):
        entry = self.origin.get(id(value))
        return entry[0] if entry is not None and entry[1] is value else None

    def call(self, function: RemoteFunction, args: tuple, kwargs: dict):
        __tracebackhide__ = True
        what = f"Your function `{function.__name__}`"
        with self.link.exchange() as (path, fd):
            crossing.write([list(args), kwargs], path, reference=self._reference)
            _give(path, self.link.owner)
            self.link.execute(f"__course_side.call({function._handle}, {path!r})", self.timeout(), what)
            found, value = self._answer(fd, what, f"What `{function.__name__}` returned")
        return value

    def push(self, values: dict) -> None:
        """Set ``values`` in the kernel's namespace (what a test cell assigned)."""
        if not values:
            return
        with self.link.exchange() as (path, fd):
            crossing.write(values, path, reference=self._reference)
            _give(path, self.link.owner)
            self.link.execute(f"__course_side.push({path!r})", self.timeout(), "Passing the test's values back")

    def forget(self) -> None:
        self.origin.clear()
        self.link.execute("__course_side.forget()", self.timeout(), "the grader's clean-up")

    # --- one test cell ---------------------------------------------------------------------------
    def run_test(self, source: str, trusted: dict, name: str) -> tuple[str, dict | None]:
        """Run a test cell's ``source``; ``(what it printed, error or None)``. The error is
        ``{"ename", "evalue", "traceback"}``. :class:`KernelLost` and :class:`CallTimeout` propagate."""
        namespace = StudentNamespace(self, trusted)
        dict.__setitem__(namespace, "__builtins__", builtins)  # not one of the test's own assignments
        filename = f"<grader: {name}>"
        out = io.StringIO()
        error = None
        try:
            code = compile(source, filename, "exec", dont_inherit=True)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(code, namespace)  # the assignment's own test code, never the student's
        except (KernelLost, CallTimeout):
            raise
        except BaseException as err:  # the test failed: its error, as the cell's error output
            error = {"ename": type(err).__name__, "evalue": str(err), "traceback": render(err, filename, source)}
            refused = [message for message in self.refused if message not in error["evalue"]]
            if refused:  # why the check did not get what it asked for comes first
                error["evalue"] = "\n".join(refused + [error["evalue"]])
                error["traceback"][-1] = f"{error['ename']}: {error['evalue']}"
        self.refused = []
        if error is None:
            assigned = {key: namespace[key] for key in namespace.assigned}
            try:
                self.push({key: value for key, value in assigned.items() if _data(value)})
            except (crossing.CrossingError, StudentError, OSError):
                pass  # later cells that need these values fail as they would without them
        try:
            self.forget()  # this side's references first, then the kernel's handles
        except StudentError:
            pass
        return out.getvalue(), error


def _data(value) -> bool:
    return not (callable(value) or isinstance(value, (type(sys), crossing.CouldNotCross)))


def _give(path: str, owner: int | None) -> None:
    """The request's files, readable by the kernel's user."""
    if owner is None or os.geteuid() != 0:
        return
    for entry in os.scandir(path):
        os.chown(entry.path, owner, owner, follow_symlinks=False)


def trusted_namespace(trusted: dict) -> dict:
    """``{alias: [module, attribute or None]}`` -> the genuine objects, imported here."""
    namespace = {}
    for alias, (module, attribute) in trusted.items():
        try:
            if attribute is None:
                namespace[alias] = importlib.import_module(module)
                continue
            try:
                namespace[alias] = importlib.import_module(f"{module}.{attribute}")
            except ImportError:
                namespace[alias] = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError):
            continue  # the test finds it missing (a NameError), as it would in the kernel
    return namespace


def import_in_background(trusted: dict):
    """Import the test cells' modules (Keras, the checks...) in a thread, while the kernel starts and the
    notebook runs, so the first test cell does not wait for them; returns the thread."""
    import threading

    thread = threading.Thread(target=trusted_namespace, args=(trusted,), name="verdict-imports", daemon=True)
    thread.start()
    return thread


def render(err: BaseException, filename: str, source: str) -> list[str]:
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
