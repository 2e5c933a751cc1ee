"""An HTTP inference service for a chest X-ray classifier saved by ``course.deploy.save_for_serving``
(lecture 10, ``notebooks/10_xray_case_study.ipynb``, and the ``xray`` assignment in ``source/xray/``).

Start it with ``COURSE_SERVE_TOKEN=... course serve MODEL_DIR`` (the command calls :func:`run`).

- ``GET /health``, open: ``{"status": "ok", "model_version": ..., "model_sha256": ...}``.
- ``POST /predict``, with ``Authorization: Bearer TOKEN``: the body is the raw bytes of one PNG or JPEG
  (``Content-Type: image/png`` or ``image/jpeg``); the answer is ``{"probabilities": {class: p},
  "decision": class, "threshold": t, "positive_class": ..., "model_version": ..., "model_sha256": ...}``,
  the decision following ``course.clinical.decide``.

Every refusal is a 4xx answer ``{"error": "..."}`` that says what was wrong, in this order: no token 401
(with ``WWW-Authenticate: Bearer``), a wrong token 403, another content type 415, a body over ``max_bytes``
413 (by its ``Content-Length``, then by the bytes actually read), an empty body, bytes that are not a whole
PNG or JPEG of the announced type, or a decompression bomb 400, an image of another size than the model's
422 (checked on the header, before any pixel is decoded), another mode than 8-bit grayscale (``L``) 422, and
implausible grey levels 422 (:data:`INTENSITY_RULE`: a constant image, or one almost black or almost
white, is no radiograph). Anything unexpected is a 500 with a generic message; the traceback goes to the
server's log, never to the client, and the image to neither.

Each request adds one JSON line to the audit log: time (UTC), caller (host:port) and caller id (the first
8 hex digits of the SHA-256 of a valid token, else ``anonymous``), method, endpoint, model version, HTTP
status, decision, and the refusal's message; never the token or any image data. Start-up and shutdown
(SIGTERM or SIGINT: the server finishes its requests and exits 0) add a line each.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import signal
import threading
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .deploy import ServedModel, load_for_serving

TOKEN_ENV = "COURSE_SERVE_TOKEN"
MIN_TOKEN_LENGTH = 16
DEFAULT_MAX_BYTES = 2_000_000
CONTENT_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}

# Grey levels 0-255 of an accepted image: a radiograph has structure (not constant) and is neither black nor
# white throughout. The limits are generous on purpose: they catch blank, saturated or wrongly scaled uploads
# (a mask, an image already divided by 255), not unusual X-rays.
MIN_STD = 2.0
MIN_MEAN = 5.0
MAX_MEAN = 250.0
INTENSITY_RULE = (
    f"standard deviation of the grey levels at least {MIN_STD:g}, mean between {MIN_MEAN:g} and {MAX_MEAN:g}"
)

log = logging.getLogger("uvicorn.error")  # uvicorn's own log: the server's stderr


class Refusal(Exception):
    """A request the service refuses: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def caller_id(token: str) -> str:
    """A short, non-reversible name for a token in the audit log: 8 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]


def check_image(body: bytes, image_format: str, size: tuple[int, int]) -> np.ndarray:
    """Decode ``body`` as a ``image_format`` ("PNG" or "JPEG") grayscale image of ``size`` (height, width);
    returns its grey levels (uint8, shape ``size``) or raises :class:`Refusal` (400 or 422)."""
    height, width = size
    if not body:
        raise Refusal(400, "empty body: send the PNG or JPEG file's bytes as the request body")
    try:
        with Image.open(io.BytesIO(body), formats=list(CONTENT_TYPES.values())) as image:
            if image.format != image_format:
                raise Refusal(400, f"the body is a {image.format} image, but Content-Type announced {image_format}")
            if image.size != (width, height):
                raise Refusal(
                    422,
                    f"the image is {image.size[0]}x{image.size[1]} pixels (width x height); the model takes exactly "
                    f"{width}x{height}: resize it before sending",
                )
            if image.mode != "L":
                bands = ",".join(image.getbands())
                raise Refusal(
                    422,
                    f"the image has mode {image.mode} ({len(image.getbands())} channel(s): {bands}); the model takes "
                    "8-bit grayscale (mode L, 1 channel)",
                )
            image.load()
            pixels = np.asarray(image, dtype=np.uint8)
    except Refusal:
        raise
    except Image.DecompressionBombError:
        raise Refusal(400, "image refused: it declares more pixels than the decompression-bomb limit") from None
    except Exception as err:  # Pillow raises many types on bad input: UnidentifiedImageError, OSError, SyntaxError...
        what = "not a PNG or JPEG image" if isinstance(err, Image.UnidentifiedImageError) else "a corrupt image"
        raise Refusal(400, f"the body is {what} ({type(err).__name__}); send a whole {image_format} file") from None
    if pixels.shape != (height, width):
        raise Refusal(422, f"decoded pixels have shape {pixels.shape}, expected {(height, width)}")
    mean, std = float(pixels.mean()), float(pixels.std())
    if std < MIN_STD:
        problem = f"it is (almost) constant: standard deviation {std:.2f} grey levels"
    elif mean < MIN_MEAN:
        problem = f"it is almost black: mean grey level {mean:.1f}"
    elif mean > MAX_MEAN:
        problem = f"it is almost white: mean grey level {mean:.1f}"
    else:
        return pixels
    raise Refusal(422, f"implausible image: {problem} (accepted: {INTENSITY_RULE})")


class AuditLog:
    """JSON lines appended to a file, one per event, from any thread."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, **record) -> None:
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **record})
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _bearer(headers) -> bytes | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, as bytes; None without one."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode("latin-1")


def create_app(
    model_dir: str | os.PathLike,
    token: str,
    audit_log_path: str | os.PathLike,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    served: ServedModel | None = None,
) -> FastAPI:
    """The service for the model in ``model_dir`` (loaded and verified now, so a bad folder fails before the
    server listens). ``token`` is the secret callers of ``/predict`` present; ``served`` an already loaded
    model (tests)."""
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"the token must be a string of at least {MIN_TOKEN_LENGTH} characters")
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, not {max_bytes}")
    served = served if served is not None else load_for_serving(model_dir)
    audit = AuditLog(audit_log_path)
    secret = token.encode("utf-8")
    token_id = caller_id(token)
    identity = {"model_version": served.version, "model_sha256": served.sha256}
    counts = {"requests": 0}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        audit.write(event="startup", **identity, image_size=list(served.image_size), max_bytes=max_bytes)
        yield
        audit.write(event="shutdown", model_version=served.version, requests=counts["requests"])

    app = FastAPI(
        title="course: chest X-ray classifier",
        version=served.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.middleware("http")
    async def audit_requests(request: Request, call_next):
        started = time.perf_counter()
        outcome = request.scope.setdefault("course.audit", {})
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            presented = _bearer(request.headers)
            client = request.client
            counts["requests"] += 1
            audit.write(
                event="request",
                caller=f"{client.host}:{client.port}" if client else "unknown",
                caller_id=token_id if presented is not None and hmac.compare_digest(presented, secret) else "anonymous",
                method=request.method,
                endpoint=request.url.path,
                model_version=served.version,
                status=status,
                decision=outcome.get("decision"),
                error=outcome.get("error"),
                ms=round((time.perf_counter() - started) * 1000, 2),
            )

    def refuse(request: Request, err: Refusal) -> JSONResponse:
        request.scope.setdefault("course.audit", {})["error"] = err.message
        return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:  # 404, 405
        return refuse(request, Refusal(exc.status_code, str(exc.detail), dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return refuse(request, Refusal(500, "internal error: the request could not be processed"))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", **identity}

    def classify(body: bytes, image_format: str) -> tuple[dict, str]:
        pixels = check_image(body, image_format, served.image_size)
        probs = served.predict(pixels)
        return dict(zip(served.class_names, (float(p) for p in probs), strict=True)), served.decide(probs)

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        try:
            presented = _bearer(request.headers)
            if presented is None:
                raise Refusal(
                    401,
                    "missing credentials: send `Authorization: Bearer TOKEN`",
                    {"WWW-Authenticate": "Bearer"},
                )
            if not hmac.compare_digest(presented, secret):
                raise Refusal(403, "invalid token")
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in CONTENT_TYPES:
                shown = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
                raise Refusal(415, f"{shown}: send the image as image/png or image/jpeg")
            declared = request.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
                raise Refusal(413, f"body of {int(declared)} bytes: the limit is {max_bytes} bytes")
            chunks, received = [], 0
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    raise Refusal(413, f"body over {max_bytes} bytes: the limit is {max_bytes} bytes")
                chunks.append(chunk)
            probabilities, decision = await run_in_threadpool(classify, b"".join(chunks), CONTENT_TYPES[content_type])
        except Refusal as err:
            return refuse(request, err)
        except Exception as err:
            log.error("unexpected %s in /predict", type(err).__name__, exc_info=err)  # no image: not in a traceback
            return refuse(request, Refusal(500, "internal error: the image could not be classified"))
        request.scope.setdefault("course.audit", {})["decision"] = decision
        return JSONResponse(
            {
                "probabilities": probabilities,
                "decision": decision,
                "threshold": served.threshold,
                "positive_class": served.positive_class,
                **identity,
            }
        )

    return app


def run(
    model_dir: str | os.PathLike,
    *,
    token: str,
    audit_log_path: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> int:
    """Serve ``model_dir`` with uvicorn until SIGTERM or SIGINT; returns 0 after a clean shutdown.

    uvicorn finishes the requests under way, runs the app's shutdown (the audit log's last line) and, once
    done, raises the signal again for the handler that was there before it; the one installed here only
    asks the server to stop, so the process exits 0 instead of dying of the signal.
    """
    import uvicorn

    app = create_app(model_dir, token, audit_log_path, max_bytes)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", server_header=False, lifespan="on")
    server = uvicorn.Server(config)

    def stop(signum, frame):
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(
            f"course serve: model {app.version} from {model_dir} on http://{host}:{port} "
            f"(POST /predict needs the token in ${TOKEN_ENV}; audit log: {audit_log_path})",
            flush=True,
        )
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if server.started else 1
