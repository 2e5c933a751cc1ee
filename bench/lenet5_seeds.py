"""Benchmark: does ``train.LENET5`` train LeNet-5 from every seed, on this Keras backend?

Trains ``course.models.lenet5(modern=...)`` with ``course.train.LENET5`` on the
``lenet5`` assignment's smoke budget (``course.grading.lenet5.SMOKE_BUDGET``: 2
epochs, the first 2,000 training digits padded to 32x32, no augmentation), once
per seed, and prints each run's per-epoch training loss and its accuracy on
the first 2,000 test digits. ``--clip 1.0`` adds a global gradient-norm clip,
to compare. A run whose loss ends at ln(10) = 2.303 has collapsed to chance.
The README's "PyTorch LeNet-5 finding" table comes from these runs (seeds 0-11,
modern variant, on TensorFlow and PyTorch, with and without ``--clip 1.0``).

Usage::

    COURSE_DATA_DIR=../shared/data KERAS_BACKEND=torch python bench/lenet5_seeds.py --seeds 0 12
    KERAS_BACKEND=tensorflow python bench/lenet5_seeds.py --seeds 0 12 --clip 1.0
    python bench/lenet5_seeds.py --classic --seeds 0 3
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 12), metavar=("FIRST", "END"))
    parser.add_argument("--clip", type=float, default=None, help="global gradient-norm clip (default: none)")
    parser.add_argument("--classic", action="store_true", help="tanh and average pooling instead of the modern variant")
    args = parser.parse_args()

    import keras

    from course import data, models, train
    from course.grading.lenet5 import SMOKE_BUDGET

    budget = SMOKE_BUDGET
    (x, y), (x_test, y_test) = data.load_mnist()
    n = budget["train_samples"]
    x_fit, y_fit = data.pad_and_scale(x[:n]), y[:n]
    x_check, y_check = data.pad_and_scale(x_test[:2000]), y_test[:2000]
    recipe = dataclasses.replace(train.LENET5, clip_without_batch_norm=args.clip)
    epochs, batch_size = budget["epochs"], budget["batch_size"]
    variant = "classic" if args.classic else "modern"
    print(f"backend {keras.backend.backend()}, {variant} LeNet-5, clip {args.clip}, {n} digits, {epochs} epochs")
    accuracies = []
    for seed in range(*args.seeds):
        train.set_seed(seed)
        model = models.lenet5(modern=not args.classic)
        recipe.compile(model, epochs=epochs, steps_per_epoch=train.count_steps(len(x_fit), batch_size))
        result = train.fit(model, x_fit, y_fit, epochs=epochs, batch_size=batch_size, verbose=0)
        accuracy = train.evaluate_accuracy(model, x_check, y_check)
        accuracies.append(accuracy)
        losses = " ".join(f"{v:.3f}" for v in result.history["loss"])
        print(f"seed {seed:2d}  loss {losses}  test accuracy {accuracy:.3f}", flush=True)
    print(f"min {min(accuracies):.3f}  mean {np.mean(accuracies):.3f}  max {max(accuracies):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
