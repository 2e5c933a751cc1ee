"""Throughput and latency of ``course serve``: 1,000 predictions from 8 concurrent clients.

Saves a tiny grayscale classifier (Rescaling, a 2-filter convolution, global average pooling,
a 3-way softmax: its inference costs next to nothing, so what is measured is the service itself:
HTTP, the token check, PNG decoding, the image checks, one prediction at a time, the audit log)
with ``course.deploy.save_for_serving`` into a temporary folder, starts the real service in a child
process on a free port of 127.0.0.1 with ``course.serve_client.Service`` (``course.serve.run``, what the
``course serve`` command calls after parsing its arguments), waits for ``/health``, and sends warm-up
requests (not counted).

Then ``--concurrency`` threads, each with its own keep-alive ``http.client`` connection, send
``--requests`` ``POST /predict`` between them (16 different PNGs of random grey levels at the model's
size, in turn) and time each from send to the last byte of the answer. It prints:

* throughput: answered requests / wall time of the whole run (clients and server share the CPUs);
* p50 and p99 latency of the answered requests;
* errors: answers other than 200; lost: requests that got no answer at all (a dropped connection,
  a timeout); both must be 0;
* whether the audit log holds one line per request, and the server's exit status after SIGTERM (0).

Usage::

    python bench/serve.py                                   # 1,000 requests, 8 at a time, 128x128 images
    python bench/serve.py --requests 5000 --concurrency 16 --image-size 224

Exit status 0 when nothing was lost or refused, the audit log is complete and the server stopped
cleanly; 1 otherwise. Run it on a quiet machine; the first line says what the machine is.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from course.serve_client import Service  # noqa: E402  (after the path is set)

WARM_UP = 16


def save_tiny_model(folder: Path, size: int) -> None:
    import keras
    from keras import layers

    from course import deploy

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((size, size, 1)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(2, 3),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    deploy.save_for_serving(model, folder, ["normal", "pneumonia", "COVID-19"], size, "COVID-19", 0.3, "bench-1")


def test_images(size: int, count: int = 16) -> list[bytes]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    images = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(buffer, format="PNG")
        images.append(buffer.getvalue())
    return images


def load(port: int, token: str, images: list[bytes], requests: int, concurrency: int) -> dict:
    """Send ``requests`` predictions from ``concurrency`` threads with keep-alive connections."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
    lock = threading.Lock()
    next_index = iter(range(requests))
    latencies, statuses, lost = [], [], []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            started = time.perf_counter()
            try:
                conn.request("POST", "/predict", body=images[index % len(images)], headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
            except (OSError, http.client.HTTPException) as err:
                with lock:
                    lost.append(f"{type(err).__name__}: {err}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a fresh one for the next
                continue
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status)
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"wall_s": wall, "latencies": latencies, "statuses": statuses, "lost": lost}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed predictions (default: 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default: 8)")
    parser.add_argument("--image-size", type=int, default=128, help="the model's image side (default: 128)")
    args = parser.parse_args(argv)

    load_avg = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(
        f"machine: {os.cpu_count()} CPU cores, {platform.platform()}, Python {platform.python_version()}; "
        f"load average before the run {load_avg}; clients and server on the same cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="course-bench-serve-") as tmp:
        folder = Path(tmp)
        save_tiny_model(folder / "model", args.image_size)
        images = test_images(args.image_size)
        token = secrets.token_urlsafe(24)
        audit = folder / "audit.jsonl"
        service = Service(folder / "model", token, audit)
        try:
            print(
                f"service: {args.image_size}x{args.image_size} PNGs of {statistics.mean(map(len, images)):,.0f} bytes "
                f"on average; /health answered {service.startup_s:.1f} s after start",
                flush=True,
            )
            warm = load(service.port, token, images, WARM_UP, min(args.concurrency, WARM_UP))
            run = load(service.port, token, images, args.requests, args.concurrency)
        finally:
            exit_status = service.stop()
        lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]

    answered = len(run["latencies"])
    errors = sum(status != 200 for status in run["statuses"]) + sum(s != 200 for s in warm["statuses"])
    lost = len(run["lost"]) + len(warm["lost"])
    sent = 1 + WARM_UP + args.requests  # the first /health, the warm-up, the timed run
    logged = sum(line.get("event") == "request" for line in lines)
    ms = [latency * 1000 for latency in run["latencies"]] or [float("nan")]
    print(
        f"{args.requests:,} requests, {args.concurrency} at a time, keep-alive connections: "
        f"{answered / run['wall_s']:.0f} requests/s ({run['wall_s']:.2f} s in all)"
    )
    print(
        f"latency: p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms "
        f"(mean {statistics.mean(ms):.1f} ms)"
    )
    print(f"errors (answers other than 200): {errors}; lost (no answer): {lost}")
    for reason in (run["lost"] + warm["lost"])[:5]:
        print(f"  lost: {reason}")
    shutdown = bool(lines) and lines[-1].get("event") == "shutdown"
    print(
        f"audit log: {logged} request lines for {sent} requests sent; shutdown line: {'yes' if shutdown else 'NO'}; "
        f"server exit status after SIGTERM: {exit_status}"
    )
    ok = errors == 0 and lost == 0 and logged == sent and shutdown and exit_status == 0
    print("PASS" if ok else "FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
