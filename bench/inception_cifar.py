"""What a 20-minute CPU budget buys a GoogLeNet on CIFAR-10: training throughput against multiply-adds.

A first measurement for the Q9 assignment (GoogLeNet on CIFAR-10, at least 80% test
accuracy in at most 20 minutes on 2 CPU cores). For each width of
``course.models.googlenet(stem="cifar", batch_norm=True)`` at 32x32 it prints the
parameters and multiply-adds per image (``course.complexity``), then times training
steps (batches of 128, SGD with momentum, on random images: the cost of a step does
not depend on the pixels) and prints images per second and what 20 minutes of them
is in CIFAR-10 epochs (50,000 images each). No accuracy is measured here.

Usage::

    python bench/inception_cifar.py                      # widths 0.25, 0.5 and 1.0
    python bench/inception_cifar.py --widths 0.125 0.25 --steps 20

Run it on a quiet machine; the first line says what the machine is.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BUDGET_S = 20 * 60
CIFAR_TRAIN = 50_000


def measure(width: float, steps: int, batch: int = 128) -> dict:
    import keras
    import numpy as np

    from course import complexity, models, train

    model = models.googlenet((32, 32, 3), 10, width, stem="cifar", batch_norm=True)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch * steps)
    model.fit(x[: batch * 2], y[: batch * 2], batch_size=batch, epochs=1, verbose=0)  # tracing, not timed
    per_second = train.fit(model, x, y, epochs=1, batch_size=batch, verbose=0).samples_per_s
    return {
        "width": width,
        "parameters": model.count_params(),
        "gmacs": complexity.multiply_adds(model) / 1e9,
        "images_per_s": per_second,
        "epochs_in_budget": per_second * BUDGET_S / CIFAR_TRAIN,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per width")
    args = parser.parse_args(argv)
    from course import train

    print(train.describe_device())
    print(f"{'width':>6} {'parameters':>11} {'G MACs/img':>10} {'img/s':>7} {'epochs in 20 min':>16}")
    for width in args.widths:
        row = measure(width, args.steps)
        print(
            f"{row['width']:6g} {row['parameters']:11,d} {row['gmacs']:10.3f} "
            f"{row['images_per_s']:7.0f} {row['epochs_in_budget']:16.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
