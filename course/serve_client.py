"""The inference service of :mod:`course.serve`, started in a child process and called over real HTTP:
:class:`Service` (lecture 10, ``notebooks/10_xray_case_study.ipynb``, sends it good and bad requests).

Standard library only: the service runs in its own Python process (as ``course serve`` would), so the
notebook's kernel talks to it the way any client would, through a socket on localhost. The token travels
in the child's environment (``COURSE_SERVE_TOKEN``), never on a command line.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["Service"]

_START = (
    "import sys; from course.serve import run, TOKEN_ENV; import os; "
    "sys.exit(run(sys.argv[1], token=os.environ[TOKEN_ENV], audit_log_path=sys.argv[2], port=int(sys.argv[3])))"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """``course.serve`` for ``model_dir`` in a child process on ``127.0.0.1``; a context manager.

    ``Service(model_dir, token, audit_log)`` starts it and waits (up to ``timeout`` seconds) until
    ``GET /health`` answers (``startup_s`` says how long that took); :meth:`request` sends one request and
    returns ``(status, answer)`` with the answer's JSON; :meth:`stop` sends SIGTERM, returns the exit code
    (0 after a clean shutdown) and keeps what the server printed in ``output``. Leaving the ``with`` block
    stops it. ``bench/serve.py`` loads it with many requests.
    """

    def __init__(self, model_dir, token: str, audit_log, timeout: float = 120.0):
        self.port = _free_port()
        self.audit_log = Path(audit_log)
        self.output = ""
        env = {**os.environ, "COURSE_SERVE_TOKEN": token}
        command = [sys.executable, "-c", _START, str(model_dir), str(audit_log), str(self.port)]
        # The server's log goes to a file, not a pipe: a pipe nobody reads fills up after a few hundred
        # requests' access-log lines and then blocks the server.
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the service stopped while starting:\n{self._read_log()[-2000:]}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    self.startup_s = time.monotonic() - started
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"the service did not answer /health within {timeout:.0f} s:\n{self.output[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """One HTTP request; returns ``(status, answer)``, the answer decoded from JSON when it is JSON."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        try:
            return response.status, json.loads(text)
        except json.JSONDecodeError:
            return response.status, text

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit code and keeps what the server printed in ``output``."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self.output = self._read_log()
        return self._process.returncode

    def _read_log(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
