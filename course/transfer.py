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

For the lecture's experiments: :func:`pooled` (the pooled features of several depths in one pass),
:func:`head` (a new classifier), :func:`fit_and_score` with :func:`epochs_for` (one run of an
accuracy-against-labels curve), :func:`per_class` (the labelled subsets, first or seeded), :func:`resized`
and :func:`transplant` (Yosinski et al. 2014's networks with the first blocks copied from a source network).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .data.jpeg_archives import _store
from .data.sources import _keras_cache_dirs

CACHE_FOLDER = "course-features"

__all__ = [
    "CACHE_FOLDER",
    "Features",
    "cached_features",
    "epochs_for",
    "fit_and_score",
    "head",
    "per_class",
    "pooled",
    "resized",
    "split",
    "trainable_parameters",
    "transplant",
]


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


def per_class(labels, n: int | None, seed: int | None = None) -> np.ndarray:
    """Indices of ``n`` examples of each class in ``labels`` (all of them when ``n`` is None), sorted.

    Without ``seed`` they are the first ``n`` of each class: the same small training sets on every run,
    each one inside the next. With ``seed`` they are a random ``n`` of each class, drawn with that seed:
    lecture 04 repeats its accuracy-against-labels curves over seeds this way, so that the spread says how
    much the choice of the few labelled images matters.
    """
    labels = np.asarray(labels).reshape(-1)
    if n is None:
        return np.arange(len(labels))
    if n < 1:
        raise ValueError(f"n must be at least 1 (or None for all), got {n}")
    rng = None if seed is None else np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(members[:n] if rng is None else rng.permutation(members)[:n])
    return np.sort(np.concatenate(chosen))


def trainable_parameters(model: keras.Model) -> int:
    """Parameters that training would change (weights of trainable layers)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def pooled(base: keras.Model, at) -> tuple[keras.Model, dict[str, slice]]:
    """A model from ``base``'s input to the global average pool of each layer in ``at``, side by side.

    Returns the model and, for each layer name, the slice of the model's output that holds that layer's
    pooled features: ``values[:, slices["block4_pool"]]``. One forward pass gives a short feature vector
    per image from several depths at once, which lecture 04 uses to ask which depth of a pretrained base
    transfers best (Yosinski et al. 2014).
    """
    names = [at] if isinstance(at, str) else list(at)
    outputs, slices, start = [], {}, 0
    for name in names:
        layer_output = base.get_layer(name).output
        outputs.append(keras.layers.GlobalAveragePooling2D(name=f"{name}_mean")(layer_output))
        slices[name] = slice(start, start + int(layer_output.shape[-1]))
        start += int(layer_output.shape[-1])
    joined = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(name="pooled")(outputs)
    return keras.Model(base.inputs[0], joined, name=f"{base.name}_pooled"), slices


def head(input_shape, classes: int, hidden: int = 256, dropout: float = 0.5, name: str = "head") -> keras.Sequential:
    """A new classifier for a pretrained base: global average pooling (for feature maps), a ReLU layer of
    ``hidden`` units, dropout and a softmax. On an already pooled vector (``input_shape`` of length 1) the
    pooling is left out. Lecture 04's heads; the VGG16 assignment asks students to write the same one."""
    layers = [keras.Input(shape=tuple(input_shape))]
    if len(tuple(input_shape)) == 3:
        layers.append(keras.layers.GlobalAveragePooling2D())
    layers += [
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(classes, activation="softmax"),
    ]
    return keras.Sequential(layers, name=name)


def epochs_for(n_train: int, epochs: int, min_images_seen: int = 0) -> int:
    """``epochs``, or more for a small training set, so that at least ``min_images_seen`` images are seen in
    all: a run on 25 images then gets as many steps as a run on a few thousand would in a few epochs."""
    return max(int(epochs), math.ceil(min_images_seen / max(int(n_train), 1)))


def fit_and_score(
    model: keras.Model,
    train: tuple,
    test: tuple,
    *,
    lr: float,
    epochs: int,
    min_images_seen: int = 0,
    batch_size: int = 32,
    seed: int | None = None,
) -> float:
    """Compile ``model`` (Adam at ``lr``, sparse cross-entropy), train it on ``train = (x, y)`` for
    :func:`epochs_for` epochs, and return its accuracy on ``test = (x, y)``. The runs of lecture 04's
    accuracy-against-labels curves, one call each."""
    from . import train as training

    if seed is not None:
        training.set_seed(seed)
    x, y = train
    model.compile(keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = epochs_for(len(x), epochs, min_images_seen)
    training.fit(model, x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return training.evaluate_accuracy(model, *test)


def resized(images, size: int) -> np.ndarray:
    """uint8 photos ``(n, h, w, 3)`` at ``size`` x ``size`` (bilinear, rounded back to uint8); the same array
    when they already have that size."""
    images = np.asarray(images)
    if images.shape[1:3] == (size, size):
        return images
    out = keras.ops.convert_to_numpy(keras.ops.image.resize(images.astype("float32"), (size, size)))
    return out.round().clip(0, 255).astype("uint8")


def transplant(source: keras.Model, target: keras.Model, blocks: int, freeze: bool) -> keras.Model:
    """Copy into ``target`` the weights of the first ``blocks`` blocks of ``source`` (layers named
    ``block1_...`` to ``block{blocks}_...``, as :func:`course.models.vgg` names them; the two models have
    the same architecture), frozen when ``freeze``; the rest of ``target`` keeps its fresh initialisation.
    Returns ``target``. These are Yosinski et al. (2014)'s transferred networks: "AnB" frozen, "AnB+"
    fine-tuned; lecture 04 builds them."""
    copied = 0
    for layer in target.layers:
        found = re.match(r"block(\d+)_", layer.name)
        if found and int(found.group(1)) <= blocks:
            layer.set_weights(source.get_layer(layer.name).get_weights())
            layer.trainable = not freeze
            copied += 1
    if blocks and not copied:
        raise ValueError(f"{target.name} has no layers named block1_... to block{blocks}_...")
    return target


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
