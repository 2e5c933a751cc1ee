"""The sandbox a student's notebook kernel runs in while it is graded.

nbgrader starts a Jupyter kernel for the submission and runs the student's code
in it with the grader's own rights. Here the kernel is started through a small
launcher, ``python -m autograder.sandbox SPEC -- KERNEL COMMAND``, that first
takes what Linux gives and then ``exec``\\ s the kernel:

* **resource limits** (``setrlimit``): address space (memory), CPU seconds,
  processes and threads (``RLIMIT_NPROC``, counted per user), file size;
* **its own user**: a uid of its own per grading slot (``61000 + slot``), so
  the kernel can write nothing the grader owns and ``RLIMIT_NPROC`` counts
  this kernel's processes only (needs root; the limit is not enforced for root);
* **no network**: a new, empty network namespace (only a loopback that is
  down); the grader talks to the kernel over Unix sockets (``ipc`` transport);
* **a private view of the files**: a new mount namespace in which the course
  root (and the repository holding the grader's code) is covered by an empty,
  read-only file system, and only what the kernel needs is bound back: the
  notebook's working folder, a private home and runtime folder (writable), the
  ``course`` and ``autograder`` packages and the Python environment (read-only).
  ``source/`` (hidden tests), ``gradebook.db``, ``submitted/``, ``autograded/``,
  ``feedback/``, ``.git`` and every other student's folder are out of sight;
  ``/tmp`` and ``/dev/shm`` are private and empty.

Each protection is applied where the machine allows it (root, or a container
with ``CAP_SYS_ADMIN`` for the namespaces) and reported by :func:`probe`; the
batch prints what held. :func:`kill_user` ends every process a slot's user
still runs once the notebook is done (a fork bomb's leftovers included).
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

BASE_UID = 61000  # slot N runs its kernels as uid/gid BASE_UID + N
SPEC_ENV = "COURSE_GRADER_SANDBOX"  # path of the JSON spec the worker writes for its kernel

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
EXIT_SANDBOX_FAILED = 70  # the launcher could not build a sandbox that was required


@dataclass
class Spec:
    """What the launcher does before it ``exec``\\ s the kernel (written as JSON by the worker)."""

    uid: int | None = None  # run as this uid (and gid); None: stay who we are
    network: bool = True  # False: a new network namespace without a route out
    hide: list[str] = field(default_factory=list)  # folders covered by an empty read-only file system
    expose_ro: list[str] = field(default_factory=list)  # folders inside those, bound back read-only
    expose_rw: list[str] = field(default_factory=list)  # ... and writable
    private_tmp: bool = False  # fresh /tmp and /dev/shm
    memory_mb: int | None = None  # RLIMIT_AS
    cpu_s: int | None = None  # RLIMIT_CPU
    nproc: int | None = None  # RLIMIT_NPROC (processes + threads of the user)
    fsize_mb: int | None = None  # RLIMIT_FSIZE (largest file it may write)
    home: str | None = None  # HOME (and caches) for the kernel
    runtime: str | None = None  # connection file and Unix sockets (a short path: sockets allow ~100 characters)
    env: dict = field(default_factory=dict)  # set last, over the defaults the home implies
    strict: bool = False  # fail (exit 70) rather than run with a protection missing

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path | str) -> Spec:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


# ----------------------------------------------------------------------------------------------
# what this machine allows


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _try_unshare(flags: int) -> bool:
    """Can this process create these namespaces (and, for a mount namespace, build the private
    view's file systems)? Tried in a throw-away child."""
    if not sys.platform.startswith("linux"):
        return False
    pid = os.fork()
    if pid == 0:  # child: try, report through the exit status, never return
        try:
            libc = _libc()
            ok = libc.unshare(flags) == 0
            if ok and flags & CLONE_NEWNS:
                _private_files(libc, Spec(private_tmp=True))
        except Exception:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


@functools.cache
def probe() -> dict[str, bool]:
    """Which protections this machine allows: ``limits``, ``user``, ``network``, ``files``."""
    linux = sys.platform.startswith("linux")
    root = linux and os.geteuid() == 0
    files = root and _try_unshare(CLONE_NEWNS)
    return {
        "limits": linux,
        # another user can only start the kernel where the private view exposes Python to it
        # (the interpreter often lives in root's home, e.g. pyenv)
        "user": files,
        "network": root and _try_unshare(CLONE_NEWNET),
        "files": files,
    }


def describe(caps: dict[str, bool] | None = None) -> str:
    """One line: which protections hold here, and which do not."""
    caps = caps or probe()
    words = {
        "limits": "memory/CPU/file-size limits",
        "user": "a separate user per slot (with a process limit)",
        "network": "no network",
        "files": "a private view of the files",
    }
    held = [words[k] for k, ok in caps.items() if ok]
    missing = [words[k] for k, ok in caps.items() if not ok]
    line = "sandbox: " + (", ".join(held) if held else "none")
    if missing:
        line += f" (not available here: {', '.join(missing)}; run the grader as root or in a container, see README)"
    return line


# ----------------------------------------------------------------------------------------------
# the launcher (runs as root in the kernel's process, then becomes the kernel)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _outermost(paths: list[str]) -> list[str]:
    """Drop the paths that lie inside another path of the list."""
    resolved = sorted({os.path.realpath(p) for p in paths})
    return [p for p in resolved if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in resolved)]


def _private_files(libc, spec: Spec) -> None:
    """Cover ``spec.hide`` (and ``/tmp``) with empty file systems and bind back what is exposed.

    The originals are first bound under a fresh ``/dev/shm`` (the stage), so they
    stay reachable while their folders are covered; the stage goes at the end.
    Covered folders are read-only, except ``/tmp`` (private, writable)."""
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    stage_root = "/dev/shm"
    _mount(libc, "tmpfs", stage_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=1g")
    covered = [(p, False) for p in _outermost(spec.hide + (["/tmp"] if spec.private_tmp else []))]
    covered = [(p, p == "/tmp") for p, _ in covered]
    exposed = [(os.path.realpath(p), False) for p in spec.expose_ro] + [
        (os.path.realpath(p), True) for p in spec.expose_rw
    ]
    stages = []
    for number, (hidden, _) in enumerate(covered):  # stage every original before covering anything
        stage = f"{stage_root}/.course-sandbox-{number}"
        os.makedirs(stage, exist_ok=True)
        if os.path.isdir(hidden):
            _mount(libc, hidden, stage, None, MS_BIND | MS_REC)
        stages.append(stage)
    for (hidden, writable), stage in zip(covered, stages, strict=True):
        if not os.path.isdir(hidden):
            continue
        mode = "mode=1777,size=2g" if writable else "mode=0755,size=1m"
        _mount(libc, "tmpfs", hidden, "tmpfs", MS_NOSUID | MS_NODEV, mode)
        inside = [(p, rw) for p, rw in exposed if p.startswith(hidden.rstrip("/") + "/")]
        for path, rw in sorted(inside):
            original = stage + path[len(hidden) :]
            if not os.path.isdir(original):
                continue
            os.makedirs(path, exist_ok=True)
            _mount(libc, original, path, None, MS_BIND | MS_REC)
            if not rw:
                _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for (hidden, writable), stage in zip(covered, stages, strict=True):
        if os.path.ismount(stage):
            _check(libc.umount2(stage.encode(), MNT_DETACH), f"umount {stage}")
        os.rmdir(stage)
        if not writable and os.path.isdir(hidden):
            _mount(libc, None, hidden, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _limits(spec: Spec) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core dump of a TensorFlow kernel: gigabytes, minutes
    if spec.memory_mb:
        size = spec.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if spec.cpu_s:  # SIGXCPU at the soft limit, SIGKILL 5 s later should it be caught
        resource.setrlimit(resource.RLIMIT_CPU, (spec.cpu_s, spec.cpu_s + 5))
    if spec.nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (spec.nproc, spec.nproc))
    if spec.fsize_mb:
        size = spec.fsize_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def launch(spec: Spec, command: list[str]) -> None:
    """Apply ``spec`` to this process, then replace it with ``command`` (never returns)."""
    libc = _libc()
    caps = probe() if spec.strict else None
    flags = (0 if spec.network else CLONE_NEWNET) | (CLONE_NEWNS if spec.hide or spec.private_tmp else 0)
    if flags and os.geteuid() == 0:
        try:
            _check(libc.unshare(flags), "unshare")
            if flags & CLONE_NEWNS:
                _private_files(libc, spec)
        except OSError as err:
            if spec.strict:
                raise
            print(f"[sandbox] running without namespaces: {err}", file=sys.stderr)
    elif flags and spec.strict:
        raise OSError(f"the sandbox needs root (namespaces unavailable: {caps})")
    _limits(spec)
    env = dict(os.environ)
    if spec.home:
        home = spec.home
        env.update(HOME=home, MPLCONFIGDIR=os.path.join(home, ".matplotlib"), KERAS_HOME=os.path.join(home, ".keras"))
    env.update(spec.env)
    env.pop(SPEC_ENV, None)
    if spec.uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(spec.uid)
        os.setuid(spec.uid)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the grader's worker dies: so does the kernel
    os.execvpe(command[0], command, env)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m autograder.sandbox SPEC.json -- COMMAND...", file=sys.stderr)
        return 2
    try:
        launch(Spec.read(argv[0]), argv[2:])
    except Exception as err:  # the kernel never starts; the grader reports it
        print(f"[sandbox] could not start the kernel: {err}", file=sys.stderr)
        return EXIT_SANDBOX_FAILED
    return 0  # not reached: launch() execs


# ----------------------------------------------------------------------------------------------
# the grader's side


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through the launcher, with the spec named by ``$COURSE_GRADER_SANDBOX``.

    nbgrader's ``Execute`` preprocessor uses it when the worker sets
    ``Execute.kernel_manager_class`` to it. Without the variable it is a plain
    kernel manager. With a separate network namespace, the kernel and the grader
    talk over Unix sockets in the spec's runtime folder.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        path = os.environ.get(SPEC_ENV)
        self.sandbox_spec_path = path
        self.sandbox_spec = Spec.read(path) if path else None
        if self.sandbox_spec is not None and (self.sandbox_spec.runtime or self.sandbox_spec.home):
            runtime = Path(self.sandbox_spec.runtime or Path(self.sandbox_spec.home) / "runtime")
            self.connection_file = str(runtime / "kernel.json")
            if not self.sandbox_spec.network:
                self.transport = "ipc"

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        spec = self.sandbox_spec
        if spec is not None and spec.uid is not None and os.geteuid() == 0:
            os.chown(self.connection_file, spec.uid, spec.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if self.sandbox_spec_path is None:
            return command
        return [sys.executable, "-m", "autograder.sandbox", self.sandbox_spec_path, "--", *command]


def make_runtime_dir(uid: int | None) -> Path:
    """A new, short-named folder for the kernel's connection file and sockets, owned by ``uid``."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=".cg-", dir=LOCK_DIR))
    if uid is not None and os.geteuid() == 0:
        os.chown(folder, uid, uid)
    return folder


def prepare_home(home: Path, uid: int | None) -> None:
    """Create the kernel's private home (with ``runtime/``), owned by ``uid``."""
    for folder in (home, home / "runtime"):
        folder.mkdir(parents=True, exist_ok=True)
        if uid is not None and os.geteuid() == 0:
            os.chown(folder, uid, uid)
        folder.chmod(0o700)


def chown_tree(path: Path, uid: int | None) -> None:
    """Give ``path`` and everything in it to ``uid`` (the kernel writes there)."""
    if uid is None or os.geteuid() != 0 or not path.exists():
        return
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, uid, uid)
        for name in files:
            os.chown(os.path.join(folder, name), uid, uid)


LOCK_DIR = "/tmp"


def claim_uids(count: int, first: int = BASE_UID, span: int = 256) -> tuple[list[int], list]:
    """Reserve ``count`` sandbox uids for this process, machine-wide.

    Each uid has a lock file (``/tmp/.course-grader-uid-N.lock``) held with
    ``flock`` for as long as the returned handles stay open; the kernel releases
    it when the process ends, however it ends. Two batches on one machine so
    never share a uid, and a uid whose lock is free has no live owner: its
    processes are leftovers that :func:`kill_user` may end."""
    import fcntl

    uids, handles = [], []
    for uid in range(first, first + span):
        if len(uids) == count:
            break
        handle = open(os.path.join(LOCK_DIR, f".course-grader-uid-{uid}.lock"), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        uids.append(uid)
        handles.append(handle)
    if len(uids) < count:
        for handle in handles:
            handle.close()
        raise RuntimeError(f"no free sandbox user: {span} are in use by other grading runs")
    return uids, handles


def kill_user(uid: int | None) -> None:
    """Kill every process running as ``uid`` (root only; a no-op otherwise).

    A child switches to ``uid`` and sends SIGKILL to every process it may signal,
    i.e. every process of that user. Repeated a few times, for processes that
    were being forked at that moment.
    """
    if uid is None or os.geteuid() != 0 or uid < BASE_UID:
        return
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            except Exception:
                pass
            os._exit(0)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    sys.exit(main())
