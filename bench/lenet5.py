"""Benchmark: the seed's LeNet-5 training against the course's recommended setup.

Trains both setups in one process, on the same machine and the same prepared
inputs, and times both with ``course.train.fit``:

* **seed**: the configuration the course started from. A Sequential LeNet-5
  (tanh, average pooling; the same network as ``course.models.lenet5()``),
  SGD with learning rate 0.01 and momentum 0.9, batches of 128, 10 epochs,
  ``validation_split=0.1`` (so it trains on the first 90% of the training set
  and validates on the last 10% after every epoch).
* **course**: ``lenet5(modern=True, batch_norm=True)`` compiled with
  ``course.train.LENET5_BN`` and trained for
  that recipe's epochs with its batch size on
  the whole training set, without a validation set.

Both use the images padded to 32x32 and scaled to [0, 1] once, before timing
(``course.data.pad_and_scale``). Test accuracy is measured on the full test
set after training, outside the timed part. See bench/README.md.

Usage::

    COURSE_DATA_DIR=../shared/data python bench/lenet5.py
    python bench/lenet5.py --datasets mnist --repeats 3 --json reports/lenet5.json
    python bench/lenet5.py --datasets mnist --classic-epochs 10 20

Exit status 0 when every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import keras
from keras import layers

from course import data, models, train

SEED_EPOCHS = 10
SEED_BATCH_SIZE = 128
SEED_VALIDATION_SPLIT = 0.1

TIME_RATIO_TARGET = 0.5
ACCURACY_TARGETS = {"mnist": 0.985, "fashion": 0.900}
DATASETS = {
    "mnist": ("MNIST (offline kit)", data.load_mnist),
    "fashion": ("Fashion-MNIST", data.load_fashion_mnist),
}


def seed_lenet5() -> keras.Model:
    """The seed's model, written the way the seed wrote it: a Sequential LeNet-5."""
    return keras.Sequential(
        [
            keras.Input(shape=(32, 32, 1)),
            layers.Conv2D(6, 5, activation="tanh"),
            layers.AveragePooling2D(2),
            layers.Conv2D(16, 5, activation="tanh"),
            layers.AveragePooling2D(2),
            layers.Conv2D(120, 5, activation="tanh"),
            layers.Flatten(),
            layers.Dense(84, activation="tanh"),
            layers.Dense(10, activation="softmax"),
        ],
        name="seed_lenet5",
    )


def run_seed(x, y, x_test, y_test, seed: int) -> dict:
    """Train and test the seed's configuration once."""
    train.set_seed(seed)
    model = seed_lenet5()
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    cpu = time.process_time()
    result = train.fit(
        model, x, y, epochs=SEED_EPOCHS, batch_size=SEED_BATCH_SIZE, validation_split=SEED_VALIDATION_SPLIT, verbose=0
    )
    return _record("seed", seed, model, result, time.process_time() - cpu, x_test, y_test)


def run_course(x, y, x_test, y_test, seed: int, *, modern: bool = True, batch_norm: bool = True, epochs=None) -> dict:
    """Train and test the course's recommended setup (or the recipe on another LeNet-5 variant) once."""
    recipe = train.LENET5_BN
    epochs = epochs or recipe.epochs
    train.set_seed(seed)
    model = models.lenet5(modern=modern, batch_norm=batch_norm)
    recipe.compile(model, epochs=epochs, steps_per_epoch=train.count_steps(len(x), recipe.batch_size))
    cpu = time.process_time()
    result = train.fit(model, x, y, epochs=epochs, batch_size=recipe.batch_size, verbose=0)
    setup = "course" if (modern and batch_norm) else model.name
    return _record(setup, seed, model, result, time.process_time() - cpu, x_test, y_test)


def _record(setup, seed, model, result, cpu_time_s, x_test, y_test) -> dict:
    """One run's figures. ``cpu_time_s`` (CPU seconds of this process during fit) is reported
    for information: unlike wall time it hardly changes when other programs share the CPU."""
    return {
        "setup": setup,
        "model": model.name,
        "seed": seed,
        "test_accuracy": train.evaluate_accuracy(model, x_test, y_test),
        "wall_time_s": result.wall_time_s,
        "cpu_time_s": cpu_time_s,
        "epoch_times_s": result.epoch_times_s,
        "samples_per_s": result.samples_per_s,
        "epochs": result.epochs,
        "n_train": result.n_train,
        "final_train_accuracy": result.history["accuracy"][-1],
    }


def warm_up(x, y) -> None:
    """Pay TensorFlow's one-off start-up costs (thread pools, kernels) before anything is timed."""
    for build in (seed_lenet5, lambda: models.lenet5(modern=True, batch_norm=True)):
        model = build()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x[:256], y[:256], epochs=1, batch_size=128, verbose=0)


def bench_dataset(key: str, repeats: int) -> dict:
    title, load = DATASETS[key]
    (x_raw, y), (x_test_raw, y_test) = load()
    x, x_test = data.pad_and_scale(x_raw), data.pad_and_scale(x_test_raw)
    print(f"\n== {title}: {len(x):,} training images, {len(x_test):,} test images ==", flush=True)
    warm_up(x, y)
    pairs = []
    for r in range(repeats):
        # Alternate which setup goes first, so neither always runs on a "fresher" process.
        runners = [run_seed, run_course] if r % 2 == 0 else [run_course, run_seed]
        runs = {run["setup"]: run for run in (runner(x, y, x_test, y_test, seed=r) for runner in runners)}
        seed_run, course_run = runs["seed"], runs["course"]
        ratio = course_run["wall_time_s"] / seed_run["wall_time_s"]
        cpu_ratio = course_run["cpu_time_s"] / seed_run["cpu_time_s"]
        pairs.append({"seed": seed_run, "course": course_run, "time_ratio": ratio, "cpu_time_ratio": cpu_ratio})
        print(
            f"  repeat {r + 1}: seed {seed_run['test_accuracy']:.2%} in {seed_run['wall_time_s']:5.1f} s | "
            f"course {course_run['test_accuracy']:.2%} in {course_run['wall_time_s']:5.1f} s | "
            f"time ratio {ratio:.2f} (CPU-time ratio {cpu_ratio:.2f})",
            flush=True,
        )
    return summarise(key, title, pairs)


def summarise(key: str, title: str, pairs: list[dict]) -> dict:
    """Per-dataset summary and the three verdicts.

    The time target is judged on the fastest run of each setup: other programs
    on the machine can only ever add time, so the minimum is the best estimate
    of what each setup costs (the reasoning behind ``timeit``'s advice). The
    median of the per-repeat ratios is printed beside it.
    """
    seed_acc = [p["seed"]["test_accuracy"] for p in pairs]
    course_acc = [p["course"]["test_accuracy"] for p in pairs]
    seed_best = min(p["seed"]["wall_time_s"] for p in pairs)
    course_best = min(p["course"]["wall_time_s"] for p in pairs)
    ratio = course_best / seed_best
    median_ratio = statistics.median(p["time_ratio"] for p in pairs)
    cpu_ratio = statistics.median(p["cpu_time_ratio"] for p in pairs)
    target = ACCURACY_TARGETS[key]
    worst_gain = min(c - s for c, s in zip(course_acc, seed_acc, strict=True))
    checks = [
        (
            worst_gain > 0,
            f"course setup more accurate than the seed ({statistics.mean(course_acc):.2%} vs "
            f"{statistics.mean(seed_acc):.2%} mean; smallest gain in a pair {worst_gain * 100:+.2f} points)",
        ),
        (
            ratio <= TIME_RATIO_TARGET,
            f"course setup in <= {TIME_RATIO_TARGET}x the seed's fit wall time ({ratio:.2f}x: fastest runs "
            f"{course_best:.1f} s vs {seed_best:.1f} s; median ratio of the {len(pairs)} pairs {median_ratio:.2f}x)",
        ),
        (
            min(course_acc) >= target,
            f"course setup test accuracy >= {target:.1%} (worst of {len(course_acc)}: {min(course_acc):.2%})",
        ),
    ]
    print(
        f"  {title}: seed {statistics.mean(seed_acc):.2%}, fastest fit {seed_best:.1f} s; "
        f"course {statistics.mean(course_acc):.2%}, fastest fit {course_best:.1f} s; "
        f"time ratio {ratio:.2f} (CPU-time ratio {cpu_ratio:.2f})"
    )
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {key}: {text}", flush=True)
    return {
        "dataset": key,
        "title": title,
        "pairs": pairs,
        "seed_mean_accuracy": statistics.mean(seed_acc),
        "course_mean_accuracy": statistics.mean(course_acc),
        "seed_best_wall_time_s": seed_best,
        "course_best_wall_time_s": course_best,
        "time_ratio": ratio,
        "median_time_ratio": median_ratio,
        "median_cpu_time_ratio": cpu_ratio,
        "checks": [{"passed": ok, "target": text} for ok, text in checks],
    }


def classic_epochs(epoch_counts: list[int], repeats: int) -> list[dict]:
    """The LENET5_BN recipe on the classic lenet5() (tanh, average pooling, no BN) on the MNIST kit:
    test accuracy per epoch budget."""
    (x_raw, y), (x_test_raw, y_test) = data.load_mnist()
    x, x_test = data.pad_and_scale(x_raw), data.pad_and_scale(x_test_raw)
    print("\n== the LENET5_BN recipe on the classic lenet5(), MNIST kit (no time target) ==", flush=True)
    runs = []
    for epochs in epoch_counts:
        for r in range(repeats):
            run = run_course(x, y, x_test, y_test, seed=r, modern=False, batch_norm=False, epochs=epochs)
            runs.append(run)
            print(
                f"  {epochs:3d} epochs, seed {r}: {run['test_accuracy']:.2%} in {run['wall_time_s']:.1f} s", flush=True
            )
    return runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=["mnist", "fashion"])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each setup per dataset (seeds 0, 1, ...)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every run and the verdicts here")
    parser.add_argument(
        "--classic-epochs",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also train the classic lenet5() with the recipe for N epochs on MNIST (reported, not judged)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    print(train.describe_device())
    start = time.perf_counter()
    results = [bench_dataset(key, args.repeats) for key in args.datasets]
    classic = classic_epochs(args.classic_epochs, args.repeats) if args.classic_epochs else []
    passed = all(check["passed"] for result in results for check in result["checks"])
    print(f"\n{'ALL TARGETS PASS' if passed else 'SOME TARGETS FAIL'} ({time.perf_counter() - start:.0f} s in all)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "device": train.device_summary(),
            "recipe": {"model": "lenet5(modern=True, batch_norm=True)", **asdict(train.LENET5_BN)},
            "datasets": results,
            "classic_lenet5_with_recipe": classic,
            "all_passed": passed,
        }
        args.json.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
