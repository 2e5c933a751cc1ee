"""The course's Jupyter set-up (course.lab_setup) and its kernel extension (course.quiet_tensorflow):
a student's first cell shows no TensorFlow start-up lines, and JupyterLab asks nothing about news."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import subprocess_env

from course import lab_setup

NOISY = """\
import os
os.write(2, b"E0000 noisy.cc:1] as TensorFlow writes before its logging starts\\n")
"""


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=subprocess_env(PYTHONPATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_first_import_is_silenced_and_its_lines_are_kept(tmp_path):
    (tmp_path / "noisy").mkdir()
    (tmp_path / "noisy" / "__init__.py").write_text(NOISY)
    proc = _python(
        """
        import sys
        import course.quiet_tensorflow as quiet
        assert quiet.install(["noisy"])
        import noisy
        print(repr(quiet.startup_log()))
        print(any(isinstance(f, quiet._Hook) for f in sys.meta_path))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "noisy.cc" not in proc.stderr, proc.stderr
    log, hooked = proc.stdout.splitlines()
    assert "noisy.cc:1] as TensorFlow writes" in log and hooked == "False"


def test_a_failing_import_still_shows_its_lines(tmp_path):
    (tmp_path / "broken.py").write_text(NOISY + "raise ImportError('libcudart.so: cannot open shared object')\n")
    proc = _python(
        """
        import course.quiet_tensorflow as quiet
        quiet.install(["broken"])
        import broken
        """,
        tmp_path,
    )
    assert proc.returncode == 1
    assert "noisy.cc:1]" in proc.stderr and "ImportError: libcudart.so" in proc.stderr, proc.stderr


def test_write_keeps_other_lab_settings(tmp_path):
    overrides = lab_setup.lab_overrides_path(tmp_path)
    overrides.parent.mkdir(parents=True)
    overrides.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))
    written = lab_setup.write(tmp_path)
    assert written == [lab_setup.kernel_config_path(tmp_path), overrides]
    settings = json.loads(overrides.read_text())
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert settings["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert 'extensions = ["course.quiet_tensorflow"]' in written[0].read_text()


def _environment_is_set_up() -> None:
    for path in (lab_setup.kernel_config_path(), lab_setup.lab_overrides_path()):
        assert path.is_file(), f"{path} is missing: `make install` runs `python -m course.lab_setup`"


def _first_cell(extra_arguments: list[str]) -> tuple[str, str, str]:
    """(stdout, stderr, startup log) of a new kernel of this environment whose first cell is `import keras`;
    the stderr of a second cell is counted too (fd 2's lines reach the notebook through a thread)."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(
        kernel_name="python3", extra_arguments=extra_arguments, env=subprocess_env(TF_CPP_MIN_LOG_LEVEL="3")
    )
    streams = {"stdout": [], "stderr": []}

    def keep(msg):
        if msg["msg_type"] == "stream":
            streams[msg["content"]["name"]].append(msg["content"]["text"])

    try:
        reply = client.execute_interactive(
            "import keras\nprint(keras.backend.backend())", timeout=180, output_hook=keep
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        time.sleep(1.0)
        first = "".join(streams["stdout"])
        streams["stdout"].clear()
        client.execute_interactive(
            "import course.quiet_tensorflow as q\nprint(q.startup_log(), end='')", timeout=30, output_hook=keep
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return first, "".join(streams["stderr"]), "".join(streams["stdout"])


@pytest.mark.slow
def test_a_kernel_of_the_environment_shows_no_tensorflow_start_up_lines():
    _environment_is_set_up()
    out, err, log = _first_cell([])
    assert out.strip() == "tensorflow" and err == "", err
    # the same cell without the extension: what a student would otherwise see (machine-dependent: on this
    # CI machine, the lines of the issue); none of it is lost with the extension, it is in the startup log
    _, bare, _ = _first_cell(["--InteractiveShellApp.extensions=[]"])
    print("without the extension, the first cell's stderr:", repr(bare[:300]))
    for marker in ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers"):
        assert (marker in bare) <= (marker in log), (marker, log)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_jupyterlab_reads_the_news_setting(tmp_path):
    _environment_is_set_up()
    port, token = _free_port(), "course-test"
    lab = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    settings = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within a minute")
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    defaults = settings["schema"]["properties"]  # the overrides become the defaults; the user changed nothing
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False
