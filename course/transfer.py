"""Transfer learning on a CPU: split a pretrained base at a layer, and compute the frozen part once.

Taught in lecture 04 (transfer learning) and used by the VGG16 transfer assignment (Q7).

A frozen layer gives the same output for an image at every epoch, so the frozen bottom of a network can
be run once over the training images and its outputs kept: each epoch then costs only the layers that
train. :func:`split` cuts a chain-shaped base (VGG16's ``include_top=False`` model) into a bottom and a
top that share the base's layers and weights, and :func:`cached_features` runs the bottom over the images
once, keeping the result on disk (in the Keras cache, under ``course-features/``), keyed by the bottom's
architecture, its weights and the images' bytes, so a second run, or another notebook with the same
photos and weights, reads it back in a second. Caching is only possible when the images a frozen layer
sees are the same at every epoch: random augmentation at the input rules it out.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .data.jpeg_archives import _store
from .data.sources import _keras_cache_dirs

CACHE_FOLDER = "course-features"

__all__ = ["CACHE_FOLDER", "Features", "cached_features", "per_class", "split", "trainable_parameters"]


def split(base: keras.Model, at: str) -> tuple[keras.Model, keras.Model]:
    """``(bottom, top)``: ``bottom`` maps ``base``'s input to layer ``at``'s output, ``top`` maps that to
    ``base``'s output. Both reuse ``base``'s layers, so they share its weights and ``trainable`` flags.

    ``base`` must be a chain (each layer feeding the next, as in VGG16); ``ValueError`` otherwise.
    """
    names = [layer.name for layer in base.layers]
    if at not in names:
        raise ValueError(f"{base.name} has no layer {at!r}; its layers are {', '.join(names)}.")
    for before, after in zip(base.layers, base.layers[1:], strict=False):
        inputs = after._inbound_nodes[0].input_tensors
        if len(inputs) != 1 or inputs[0]._keras_history[0] is not before:
            raise ValueError(f"split() needs a chain of layers; {after.name!r} does not take {before.name!r}'s output.")
    bottom = keras.Model(base.inputs[0], base.get_layer(at).output, name=f"{base.name}_to_{at}")
    inputs = keras.Input(shape=tuple(base.get_layer(at).output.shape[1:]), name=f"{at}_features")
    x = inputs
    for layer in base.layers[names.index(at) + 1 :]:
        x = layer(x)
    top = keras.Model(inputs, x, name=f"{base.name}_from_{at}")
    return bottom, top


def per_class(labels, n: int | None) -> np.ndarray:
    """Indices of the first ``n`` examples of each class in ``labels`` (all of them when ``n`` is None),
    in their original order: the same small training sets on every run, each one inside the next."""
    labels = np.asarray(labels).reshape(-1)
    if n is None:
        return np.arange(len(labels))
    if n < 1:
        raise ValueError(f"n must be at least 1 (or None for all), got {n}")
    chosen = np.concatenate([np.flatnonzero(labels == c)[:n] for c in np.unique(labels)])
    return np.sort(chosen)


def trainable_parameters(model: keras.Model) -> int:
    """Parameters that training would change (weights of trainable layers)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


@dataclass
class Features:
    """What :func:`cached_features` returns: the outputs, and what computing them cost.

    Attributes:
        values: float32 array, one row of features per image.
        seconds: how long the forward pass over the images took when it was computed (also when this
            call read them from the cache).
        images_per_s: images per second of that forward pass.
        from_cache: whether this call read them from the cache.
        path: the cache file, or None where the cache cannot be written.
    """

    values: np.ndarray
    seconds: float
    images_per_s: float
    from_cache: bool
    path: Path | None

    def __str__(self) -> str:
        how = "read from the cache" if self.from_cache else "computed now"
        return (
            f"{len(self.values):,} feature maps of shape {self.values.shape[1:]}: {how}; the forward pass takes "
            f"{self.seconds:.1f} s ({self.images_per_s:.1f} images/s)"
        )


def _key(model: keras.Model, images: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    digest.update(repr((images.shape, str(images.dtype), keras.__version__)).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()[:20]


def _read(path: Path) -> tuple[np.ndarray, float] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return stored["values"].astype("float32"), float(stored["seconds"])
    except (OSError, ValueError, KeyError, EOFError):
        return None  # derived data: compute it again


def _write(path: Path, values: np.ndarray, seconds: float) -> Path | None:
    """Keep the features (atomically, as the decoded-images cache does); None where they could not be kept."""
    if path.is_file():
        path.unlink()  # a stale (e.g. corrupt) copy must not pass for the new one
    _store(path, {"values": values.astype("float16"), "seconds": np.float64(seconds)})
    return path if path.is_file() else None


def cached_features(
    model: keras.Model, images, name: str = "features", batch_size: int = 32, progress: bool = True
) -> Features:
    """``model.predict(images)``, computed once and then read from the cache (see the module docstring).

    ``images`` are what ``model`` takes (already preprocessed). The cache stores float16 values (half the
    disk; the course's features lose nothing that matters to a classifier at that precision) under
    ``$KERAS_HOME/course-features/NAME-KEY.npz``; where that folder cannot be written (a grader's read-only
    cache), the features are computed and not kept. ``progress`` shows a progress bar while computing.
    """
    images = np.asarray(images)
    key = _key(model, images)
    looked = [folder.parent / CACHE_FOLDER / f"{name}-{key}.npz" for folder in _keras_cache_dirs()[0]]
    for path in looked:
        if path.is_file() and (found := _read(path)) is not None:
            values, seconds = found
            return Features(values, seconds, len(images) / max(seconds, 1e-9), True, path)
    start = time.perf_counter()
    chunks = []
    steps = range(0, len(images), batch_size)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=f"{name}: {len(images):,} images", unit="batch", leave=False, mininterval=5)
    for first in steps:
        chunks.append(np.asarray(model.predict_on_batch(images[first : first + batch_size]), dtype="float32"))
    seconds = time.perf_counter() - start
    values = np.concatenate(chunks) if chunks else np.zeros((0, *model.output_shape[1:]), "float32")
    target = _keras_cache_dirs()[1].parent / CACHE_FOLDER / f"{name}-{key}.npz"
    kept = _write(target, values, seconds)
    values = values.astype("float16").astype("float32")  # the same values a later call reads back
    return Features(values, seconds, len(images) / max(seconds, 1e-9), False, kept)
