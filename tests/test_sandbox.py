"""autograder.sandbox: what the launcher really takes away from the kernel it starts.

Each test starts ``python -m autograder.sandbox SPEC -- python -c CODE`` and
looks at what the child could do. Tests that need root and namespaces skip
where the machine does not allow them (``probe()`` says which).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import BASE_UID, Spec, describe, kill_user, prepare_home, probe

ROOT = Path(__file__).resolve().parent.parent
CAPS = probe()
# a kernel running as another user needs the interpreter, which may live in root's home (pyenv)
PYTHON = {"hide": [str(Path.home())], "expose_ro": [sys.prefix, sys.base_prefix, str(ROOT / "autograder")]}
needs = {name: pytest.mark.skipif(not ok, reason=f"this machine does not allow: {name}") for name, ok in CAPS.items()}


def _run(spec: Spec, code: str, tmp_path: Path, cwd: Path | None = None) -> dict:
    """Run ``code`` (which prints one JSON object) under ``spec``; return that object."""
    path = spec.write(tmp_path / "spec.json")
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.sandbox", str(path), "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd or tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_describe_names_what_holds_and_what_does_not():
    line = describe({"limits": True, "user": False, "network": True, "files": False})
    assert line.startswith("sandbox: memory/CPU/file-size limits, no network")
    assert "not available here: a separate user per slot (with a process limit), a private view of the files" in line
    assert describe({k: True for k in CAPS}) == (
        "sandbox: memory/CPU/file-size limits, a separate user per slot (with a process limit), no network, "
        "a private view of the files"
    )


@needs["limits"]
def test_limits_are_set(tmp_path):
    code = (
        "import json, resource; print(json.dumps({n: resource.getrlimit(getattr(resource, n))[0] "
        "for n in ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE')}))"
    )
    got = _run(Spec(memory_mb=3000, cpu_s=50, fsize_mb=10), code, tmp_path)
    assert got == {"RLIMIT_AS": 3000 * 2**20, "RLIMIT_CPU": 50, "RLIMIT_FSIZE": 10 * 2**20}


@needs["limits"]
def test_a_bad_spec_is_refused_in_one_line(tmp_path):
    (tmp_path / "spec.json").write_text("{not json", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.sandbox", str(tmp_path / "spec.json"), "--", "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 70 and proc.stderr.startswith("[sandbox] could not start the kernel")
    assert "Traceback" not in proc.stderr


@needs["user"]
@needs["files"]
def test_runs_as_its_own_user_with_a_process_cap(tmp_path):
    home = tmp_path / "home"
    prepare_home(home, BASE_UID + 7)
    code = (
        "import json, os, resource; print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), "
        "'groups': os.getgroups(), 'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0], 'home': os.environ['HOME']}))"
    )
    got = _run(Spec(uid=BASE_UID + 7, nproc=64, home=str(home), **PYTHON), code, tmp_path)
    assert got == {"uid": BASE_UID + 7, "gid": BASE_UID + 7, "groups": [], "nproc": 64, "home": str(home)}


@needs["network"]
def test_no_network(tmp_path):
    code = (
        "import json, socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=5); r = 'open'\n"
        "except OSError as e:\n    r = type(e).__name__\nprint(json.dumps({'net': r}))"
    )
    assert _run(Spec(network=False), code, tmp_path)["net"] != "open"


@needs["files"]
@needs["user"]
def test_private_view_of_the_files(tmp_path):
    """The course root is covered; only the exposed folders come back, read-only unless asked."""
    root = tmp_path / "course"
    (root / "source").mkdir(parents=True)
    (root / "source" / "secret.txt").write_text("hidden tests", encoding="utf-8")
    (root / "gradebook.db").write_text("grades", encoding="utf-8")
    work = root / ".grading" / "work"
    work.mkdir(parents=True)
    readonly = root / "lib"
    readonly.mkdir()
    (readonly / "module.py").write_text("x = 1", encoding="utf-8")
    uid = BASE_UID + 6
    os.chown(work, uid, uid)
    home = root / ".grading" / "home"
    prepare_home(home, uid)
    (tmp_path / "outside.txt").write_text("host tmp", encoding="utf-8")
    code = f"""
import json, os
def can(action):
    try:
        action(); return True
    except OSError:
        return False
print(json.dumps({{
    "secret": can(lambda: open({str(root / "source" / "secret.txt")!r}).read()),
    "gradebook": can(lambda: open({str(root / "gradebook.db")!r}).read()),
    "read_lib": can(lambda: open({str(readonly / "module.py")!r}).read()),
    "write_lib": can(lambda: open({str(readonly / "module.py")!r}, "a").write("y")),
    "write_work": can(lambda: open("out.txt", "w").write("ok")),
    "host_tmp": can(lambda: open({str(tmp_path / "outside.txt")!r}).read()),
    "own_tmp": can(lambda: open("/tmp/mine", "w").write("ok")),
    "cwd": os.getcwd(),
}}))
"""
    spec = Spec(
        uid=uid,
        hide=[str(root), *PYTHON["hide"]],
        expose_ro=[str(readonly), *PYTHON["expose_ro"]],
        expose_rw=[str(work), str(home)],
        private_tmp=True,
        home=str(home),
    )
    got = _run(spec, code, tmp_path, cwd=work)
    assert got == {
        "secret": False,
        "gradebook": False,
        "read_lib": True,
        "write_lib": False,
        "write_work": True,
        "host_tmp": False,
        "own_tmp": True,
        "cwd": str(work),
    }
    assert (work / "out.txt").read_text() == "ok", "the work folder is the real one"


@needs["user"]
@needs["files"]
def test_kill_user_ends_every_process_of_a_slot(tmp_path):
    uid = BASE_UID + 5
    spec = Spec(uid=uid, nproc=32, **PYTHON)
    path = spec.write(tmp_path / "spec.json")
    code = "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        time.sleep(300)\ntime.sleep(300)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.sandbox", str(path), "--", sys.executable, "-c", code],
        start_new_session=True,
    )
    psutil = pytest.importorskip("psutil")

    def mine():
        return [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]

    for _ in range(100):
        if len(mine()) >= 4:
            break
        import time

        time.sleep(0.1)
    assert len(mine()) >= 4
    kill_user(uid)
    proc.wait(timeout=10)
    import time

    time.sleep(0.2)
    assert [p for p in mine() if p.status() != psutil.STATUS_ZOMBIE] == []
