"""Serving a model (``course.deploy``, ``course.serve``, ``course serve``): save and load with a verified hash,
then the real service in a subprocess, spoken to over HTTP: authentication, every refusal, the audit log and a
clean shutdown on SIGTERM."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import ROOT, subprocess_env
from keras import layers
from PIL import Image

from course import deploy

TOKEN = "serve-test-token-" + hashlib.sha256(str(os.getpid()).encode()).hexdigest()[:12]
CLASSES = ["normal", "pneumonia", "COVID-19"]
SIZE = 32
MAX_BYTES = 20_000
RNG = np.random.default_rng(0)


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(2, 3),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def encode(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def noise(low: int = 0, high: int = 256, shape=(SIZE, SIZE), dtype=np.uint8) -> np.ndarray:
    return RNG.integers(low, high, shape, dtype=dtype)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` grey pixels but holds almost none (a bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


GOOD_PNG = encode(noise())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("served") / "model"
    deploy.save_for_serving(tiny_model(), folder, CLASSES, SIZE, "COVID-19", 0.3, "tiny-1")
    return folder


# ----------------------------------------------------------------------------------------------
# course.deploy


def test_save_and_load_for_serving(model_dir):
    meta = json.loads((model_dir / "serving.json").read_text())
    assert meta["class_names"] == CLASSES and meta["image_size"] == [SIZE, SIZE] and meta["channels"] == 1
    assert (meta["positive_class"], meta["threshold"], meta["version"]) == ("COVID-19", 0.3, "tiny-1")
    assert meta["model_sha256"] == hashlib.sha256((model_dir / "model.keras").read_bytes()).hexdigest()
    served = deploy.load_for_serving(model_dir)
    assert served.sha256 == meta["model_sha256"] and served.version == "tiny-1"
    assert served.image_size == (SIZE, SIZE) and served.positive_index == 2
    probs = served.predict(noise())
    assert probs.shape == (3,) and abs(probs.sum() - 1) < 1e-5
    assert served.decide([0.15, 0.5, 0.35]) == "COVID-19"  # its probability reaches the threshold (0.3)
    assert served.decide([0.25, 0.5, 0.25]) == CLASSES[1]  # below it: the most probable class


def test_load_refuses_a_changed_or_incomplete_folder(model_dir, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(model_dir, changed)
    with open(changed / "model.keras", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(deploy.ServingError, match=r"SHA-256 .* refusing to load"):
        deploy.load_for_serving(changed)
    (changed / "serving.json").unlink()
    with pytest.raises(deploy.ServingError, match="holds no serving.json"):
        deploy.load_for_serving(changed)


def test_save_refuses_inconsistent_metadata(tmp_path):
    model = tiny_model()
    with pytest.raises(deploy.ServingError, match="positive_class"):
        deploy.save_for_serving(model, tmp_path / "a", CLASSES, SIZE, "flu", 0.3, "v")
    with pytest.raises(deploy.ServingError, match="takes 32x32"):
        deploy.save_for_serving(model, tmp_path / "b", CLASSES, 64, "COVID-19", 0.3, "v")
    with pytest.raises(deploy.ServingError, match="threshold"):
        deploy.save_for_serving(model, tmp_path / "c", CLASSES, SIZE, "COVID-19", 1.5, "v")
    assert not (tmp_path / "a").exists()


def test_export_saved_model(tmp_path, monkeypatch):
    if keras.backend.backend() == "tensorflow":
        out = deploy.export_saved_model(tiny_model(), tmp_path / "saved")
        assert (out / "saved_model.pb").is_file()
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="needs the TensorFlow backend"):
        deploy.export_saved_model(tiny_model(), tmp_path / "other")


def test_export_tflite_answers_as_the_keras_model(tmp_path, monkeypatch):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorFlow Lite needs the TensorFlow backend")
    import warnings

    import tensorflow as tf

    model = tiny_model()
    tflite = deploy.export_tflite(deploy.export_saved_model(model, tmp_path / "saved"), tmp_path / "m.tflite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's notice that it moves to ai_edge_litert
        interpreter = tf.lite.Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    image = noise()[None, ..., None].astype("float32")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    answer = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(answer, keras.ops.convert_to_numpy(model(image)), atol=1e-5)
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(RuntimeError, match="needs the TensorFlow backend"):
        deploy.export_tflite(tmp_path / "saved", tmp_path / "other.tflite")


def _asgi_post(app, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """One HTTP request straight to an ASGI app, in this process: -> (status, body)."""
    import asyncio

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
        "client": ("127.0.0.1", 12345),
        "server": ("127.0.0.1", 80),
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


def test_an_unexpected_error_is_a_generic_500(model_dir, tmp_path):
    from course.serve import create_app

    served = deploy.load_for_serving(model_dir)

    def broken(image):
        raise RuntimeError("secret internals")

    served.predict = broken
    app = create_app(model_dir, TOKEN, tmp_path / "audit.jsonl", served=served)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/png"}
    status, raw = _asgi_post(app, "/predict", headers, GOOD_PNG)
    assert status == 500
    assert json.loads(raw) == {"error": "internal error: the image could not be classified"}
    audit = (tmp_path / "audit.jsonl").read_text()
    assert '"status": 500' in audit and "secret internals" not in audit and TOKEN not in audit


# ----------------------------------------------------------------------------------------------
# course serve: refusals before starting


def test_serve_help(course_cli):
    proc = course_cli("serve", "--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: course serve")
    assert "COURSE_SERVE_TOKEN" in proc.stdout


@pytest.mark.parametrize(
    ("token", "folder", "needle"),
    [
        (None, "model", "set COURSE_SERVE_TOKEN"),
        ("short", "model", "at least 16"),
        (TOKEN, "nowhere", "holds no model.keras or serving.json"),
    ],
    ids=["no-token", "short-token", "no-model"],
)
def test_serve_refuses_to_start(model_dir, token, folder, needle):
    env = subprocess_env()
    env.pop("COURSE_SERVE_TOKEN", None)
    if token is not None:
        env["COURSE_SERVE_TOKEN"] = token
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "serve", str(model_dir.parent / folder), "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("course serve: error:") and needle in lines[0], proc.stderr


# ----------------------------------------------------------------------------------------------
# the running service


class Service:
    """The service in a subprocess; counts the requests sent to it."""

    def __init__(self, proc, port, folder):
        self.proc, self.port, self.folder, self.sent = proc, port, folder, 0
        self.audit = folder / "audit.jsonl"

    def request(self, method, path, body=None, headers=None, *, chunked=False):
        """-> (status, headers, the JSON answer or None, raw body)."""
        self.sent += 1
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        return response.status, response.headers, answer, raw

    def predict(self, body, content_type="image/png", token=TOKEN, **kwargs):
        headers = {"Content-Type": content_type} if content_type else {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", "/predict", body, headers, **kwargs)

    def logs(self) -> bytes:
        return (self.folder / "stdout.txt").read_bytes() + (self.folder / "stderr.txt").read_bytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def service(model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("service")
    port = _free_port()
    command = [sys.executable, "-m", "autograder.cli", "serve", str(model_dir), "--port", str(port)]
    command += ["--audit-log", str(folder / "audit.jsonl"), "--max-bytes", str(MAX_BYTES)]
    with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=subprocess_env(COURSE_SERVE_TOKEN=TOKEN), stdout=out, stderr=err)
    svc = Service(proc, port, folder)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the service exited with {proc.returncode}: {svc.logs()[-3000:]!r}"
            assert time.monotonic() < deadline, f"no /health within 60 s: {svc.logs()[-3000:]!r}"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    svc.sent += 1
                    break
            except OSError:
                time.sleep(0.25)
            finally:
                conn.close()
        yield svc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_health_is_open(service, model_dir):
    status, _, answer, _ = service.request("GET", "/health")
    sha = json.loads((model_dir / "serving.json").read_text())["model_sha256"]
    assert status == 200 and answer == {"status": "ok", "model_version": "tiny-1", "model_sha256": sha}


def test_predict_needs_the_token(service):
    status, headers, answer, _ = service.predict(GOOD_PNG, token=None)
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer" and "Bearer" in answer["error"]
    status, _, answer, _ = service.predict(GOOD_PNG, token=TOKEN[:-1] + "x")
    assert status == 403 and answer == {"error": "invalid token"}


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_predict_answers_a_good_image(service, model_dir, fmt):
    body = GOOD_PNG if fmt == "PNG" else encode(noise(), "JPEG")
    status, _, answer, _ = service.predict(body, content_type=f"image/{fmt.lower()}")
    assert status == 200, answer
    probs = answer["probabilities"]
    assert list(probs) == CLASSES and abs(sum(probs.values()) - 1) < 1e-5
    p = list(probs.values())
    assert answer["decision"] == (CLASSES[2] if p[2] >= 0.3 else CLASSES[int(np.argmax(p))])
    assert (answer["threshold"], answer["positive_class"], answer["model_version"]) == (0.3, "COVID-19", "tiny-1")
    assert answer["model_sha256"] == deploy.sha256_file(model_dir / "model.keras")


BAD_INPUTS = {
    "empty": (b"", "image/png", 400, "empty body"),
    "not-an-image": (b"hello, this is not an image", "image/png", 400, "not a PNG or JPEG"),
    "truncated": (GOOD_PNG[: len(GOOD_PNG) // 2], "image/png", 400, "corrupt"),
    "gif": (encode(noise(), "GIF"), "image/png", 400, "not a PNG or JPEG"),
    "type-mismatch": (GOOD_PNG, "image/jpeg", 400, "Content-Type announced JPEG"),
    "bomb": (png_header_only(20_000, 20_000), "image/png", 400, "decompression-bomb"),
    "large-header": (png_header_only(5_000, 5_000), "image/png", 422, "5000x5000"),
    "wrong-size": (encode(noise(shape=(64, 48))), "image/png", 422, "takes exactly 32x32"),
    "rgb": (encode(noise(shape=(SIZE, SIZE, 3))), "image/png", 422, "mode RGB"),
    "16-bit": (encode(noise(0, 60_000, dtype=np.uint16)), "image/png", 422, "8-bit grayscale"),
    "constant": (encode(np.full((SIZE, SIZE), 128, np.uint8)), "image/png", 422, "constant"),
    "black": (encode(noise(0, 9)), "image/png", 422, "almost black"),
    "white": (encode(noise(247, 256)), "image/png", 422, "almost white"),
    "text-plain": (GOOD_PNG, "text/plain", 415, "image/png or image/jpeg"),
    "no-content-type": (GOOD_PNG, None, 415, "no Content-Type"),
    "too-large": (GOOD_PNG + b"\0" * MAX_BYTES, "image/png", 413, f"limit is {MAX_BYTES} bytes"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_predict_refuses_bad_input_with_a_clear_4xx(service, case):
    body, content_type, code, needle = BAD_INPUTS[case]
    status, _, answer, raw = service.predict(body, content_type=content_type)
    assert status == code, raw
    assert set(answer) == {"error"} and needle in answer["error"], answer
    assert b"Traceback" not in raw


def test_size_limit_without_content_length(service):
    """Chunked: no Content-Length to check, so the bytes read are counted."""
    status, _, answer, _ = service.predict(iter([GOOD_PNG, b"\0" * MAX_BYTES]), chunked=True)
    assert status == 413 and f"over {MAX_BYTES} bytes" in answer["error"]


def test_size_limit_checks_content_length_before_reading(service):
    service.sent += 1
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        conn.putrequest("POST", "/predict")
        for name, value in [
            ("Authorization", f"Bearer {TOKEN}"),
            ("Content-Type", "image/png"),
            ("Content-Length", "1000000000"),
        ]:
            conn.putheader(name, value)
        conn.endheaders(GOOD_PNG)  # a gigabyte announced, a kilobyte sent: the answer must not wait for the rest
        response = conn.getresponse()
        assert response.status == 413 and "1000000000 bytes" in json.loads(response.read())["error"]
    finally:
        conn.close()


def test_sigterm_shuts_down_cleanly_with_a_complete_audit_log(service):
    """Last in this module: stops the service."""
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(30) == 0, service.logs()[-3000:]
    lines = [json.loads(line) for line in service.audit.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["event"] == "startup" and lines[-1]["event"] == "shutdown"
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) == service.sent == lines[-1]["requests"]
    assert {"time", "caller", "caller_id", "endpoint", "model_version", "status", "decision"} <= set(requests[0])
    token_id = hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
    predictions = [line for line in requests if line["endpoint"] == "/predict"]
    assert {line["caller_id"] for line in predictions if line["status"] in (401, 403)} <= {"anonymous"}
    assert {line["caller_id"] for line in predictions if line["status"] in (200, 415, 422)} <= {token_id}
    assert all(line["decision"] in CLASSES for line in predictions if line["status"] == 200)
    assert all(line["caller"].startswith("127.0.0.1:") and line["model_version"] == "tiny-1" for line in requests)
    audit, logs = service.audit.read_bytes(), service.logs()
    for text in (audit, logs):
        assert TOKEN.encode() not in text and TOKEN[:-1].encode() not in text
        assert b"PNG\r\n" not in text and b"IHDR" not in text and b"JFIF" not in text
    assert b"Traceback" not in logs and b"Authorization" not in logs and b"Bearer" not in logs
    assert max(len(line) for line in audit.splitlines()) < 600


def test_the_notebook_client_starts_asks_and_stops_the_service(model_dir, tmp_path):
    from course.serve_client import Service as Client

    with Client(model_dir, TOKEN, tmp_path / "audit.jsonl") as client:
        status, answer = client.request("GET", "/health")
        assert status == 200 and answer["model_version"] == "tiny-1"
        status, answer = client.request("POST", "/predict", GOOD_PNG, {"Content-Type": "image/png"})
        assert status == 401 and "error" in answer
    assert client.stop() == 0  # stopped on leaving the block, cleanly
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events[0] == "startup" and events[-1] == "shutdown" and events.count("request") >= 2
    assert TOKEN not in client.output
