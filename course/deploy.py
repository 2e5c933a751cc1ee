"""Packaging a trained classifier for serving (lecture 10, ``notebooks/10_xray_case_study.ipynb``, and the
``xray`` assignment in ``source/xray/``).

A served model is a folder of two files:

- ``model.keras``: the Keras model (Keras 3's native format), which takes a batch of grayscale images of one
  fixed size, shape ``(n, height, width, 1)``, as grey levels 0-255 in float32, scales them itself (a
  ``Rescaling`` layer, say) and ends in a softmax over the classes;
- ``serving.json``: what the service needs besides the weights: the class names in output order, the image
  size, the channels (1), the positive class and its operating threshold, a version string, and the SHA-256
  of ``model.keras``.

:func:`save_for_serving` writes both; :func:`load_for_serving` reads them back, refuses a ``model.keras``
whose hash is not the one ``serving.json`` recorded (a model changed or swapped after it was validated),
loads the model with ``safe_mode=True`` (no arbitrary code from the file) and without its training setup
(``compile=False``: a custom loss such as ``course.losses``' focal loss is not needed to predict), and checks
it answers a probability vector. :meth:`ServedModel.decide` applies the operating rule
(:func:`course.clinical.decide`): the positive class (e.g. COVID-19)
as soon as its probability reaches the threshold, else the most probable class. ``course.serve`` puts all
this behind an HTTP service (``course serve MODEL_DIR``).

Everything here is backend-agnostic Keras 3, except :func:`export_saved_model` and :func:`export_tflite`,
which write a TensorFlow SavedModel (for TensorFlow Serving) and a TensorFlow Lite file, and need the
TensorFlow backend.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from . import clinical

MODEL_FILE = "model.keras"
SERVING_FILE = "serving.json"
FORMAT = 1  # the layout of serving.json; bump it when a key changes meaning

__all__ = [
    "MODEL_FILE",
    "SERVING_FILE",
    "ServedModel",
    "ServingError",
    "export_saved_model",
    "export_tflite",
    "load_for_serving",
    "save_for_serving",
    "sha256_file",
]


class ServingError(ValueError):
    """A model folder that cannot be served: files missing, metadata invalid, or the hash does not match."""


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _image_size(image_size) -> tuple[int, int]:
    size = (image_size, image_size) if isinstance(image_size, int | np.integer) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int | np.integer) and s > 0 for s in size):
        raise ServingError(f"image_size must be a positive int or (height, width), not {image_size!r}")
    return int(size[0]), int(size[1])


def _check_metadata(meta: dict) -> dict:
    """Validate serving.json's content (as written by save_for_serving); returns it."""
    needed = ("class_names", "image_size", "channels", "positive_class", "threshold", "version", "model_sha256")
    missing = [key for key in needed if key not in meta]
    if missing:
        raise ServingError(f"{SERVING_FILE} lacks {', '.join(missing)}")
    names = meta["class_names"]
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) and n for n in names):
        raise ServingError(f"class_names must be a list of at least two names, not {names!r}")
    if len(set(names)) != len(names):
        raise ServingError(f"class_names has duplicates: {names!r}")
    _image_size(meta["image_size"])
    if meta["channels"] != 1:
        raise ServingError(f"only grayscale models are served (channels 1), not channels {meta['channels']!r}")
    if meta["positive_class"] not in names:
        raise ServingError(f"positive_class {meta['positive_class']!r} is not one of {names}")
    threshold = meta["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise ServingError(f"threshold must be a probability in [0, 1], not {threshold!r}")
    if not isinstance(meta["version"], str) or not meta["version"].strip():
        raise ServingError(f"version must be a non-empty string, not {meta['version']!r}")
    sha = meta["model_sha256"]
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ServingError(f"model_sha256 must be 64 lowercase hex digits, not {sha!r}")
    return meta


def _check_model_shape(model, size: tuple[int, int], n_classes: int) -> None:
    try:
        in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError):  # a subclassed model without a fixed input: the warm-up checks it
        return
    if len(in_shape) != 4 or in_shape[-1] != 1:
        raise ServingError(f"the model must take (batch, height, width, 1) grayscale images, not {in_shape}")
    if any(got is not None and got != want for got, want in zip(in_shape[1:3], size, strict=True)):
        raise ServingError(f"the model takes {in_shape[1]}x{in_shape[2]} images, not image_size {size}")
    if out_shape[-1] != n_classes:
        raise ServingError(f"the model has {out_shape[-1]} outputs for {n_classes} class names")


def save_for_serving(
    model: keras.Model,
    model_dir: str | os.PathLike,
    class_names: Sequence[str],
    image_size: int | tuple[int, int],
    positive_class: str,
    threshold: float,
    version: str,
) -> dict:
    """Write ``model_dir/model.keras`` and ``model_dir/serving.json``; returns the metadata written.

    ``image_size`` is an int (square) or ``(height, width)``; ``threshold`` is the operating threshold of
    ``positive_class`` (see :func:`course.clinical.decide`), chosen on validation data, never on the
    test set. ``version`` names this model in every answer and audit line (e.g. ``"xray-2027-01-15"``).
    """
    size = _image_size(image_size)
    meta = {
        "format": FORMAT,
        "class_names": [str(name) for name in class_names],
        "image_size": list(size),
        "channels": 1,
        "input": "grey levels 0-255 as float32, shape (n, height, width, 1); the model scales them itself",
        "positive_class": str(positive_class),
        "threshold": float(threshold),
        "version": str(version),
        "model_sha256": "0" * 64,
        "keras_version": keras.__version__,
        "saved_with_backend": keras.backend.backend(),
    }
    _check_metadata(meta)
    _check_model_shape(model, size, len(meta["class_names"]))
    folder = Path(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    meta["model_sha256"] = sha256_file(folder / MODEL_FILE)
    tmp = folder / f".{SERVING_FILE}.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / SERVING_FILE)  # serving.json appears whole, after the model it describes
    return meta


def export_saved_model(model: keras.Model, directory: str | os.PathLike) -> Path:
    """TensorFlow only: export ``model``'s inference function as a TensorFlow SavedModel (``model.export``),
    for TensorFlow Serving or TFLite conversion. The course's own service reads ``save_for_serving``'s
    ``model.keras`` instead, on any backend."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"export_saved_model needs the TensorFlow backend (KERAS_BACKEND=tensorflow); this process runs Keras "
            f"on {backend!r}. save_for_serving's model.keras works on every backend."
        )
    path = Path(directory)
    model.export(str(path), format="tf_saved_model", verbose=False)
    return path


def export_tflite(saved_model_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """TensorFlow only: convert a SavedModel (from :func:`export_saved_model`) into a TensorFlow Lite file at
    ``path``, for phones and edge devices (lecture 10). Float32, no quantisation, so its answers match the
    Keras model's to rounding."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("export_tflite needs the TensorFlow backend (KERAS_BACKEND=tensorflow).")
    import tensorflow as tf

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir)).convert())
    return target


@dataclass
class ServedModel:
    """A model loaded by :func:`load_for_serving`: the Keras model, serving.json's metadata, the verified hash."""

    model: keras.Model
    metadata: dict
    sha256: str
    model_dir: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def class_names(self) -> list[str]:
        return list(self.metadata["class_names"])

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width)."""
        return _image_size(self.metadata["image_size"])

    @property
    def version(self) -> str:
        return self.metadata["version"]

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def positive_class(self) -> str:
        return self.metadata["positive_class"]

    @property
    def positive_index(self) -> int:
        return self.class_names.index(self.positive_class)

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities (float64, one per class) of one ``(height, width)`` image of grey levels 0-255.

        One prediction runs at a time (Keras does not promise that a model may be called from several
        threads at once); a service decodes and checks its images in parallel around it."""
        height, width = self.image_size
        x = np.asarray(image, dtype="float32").reshape(1, height, width, 1)
        with self._lock:
            out = self.model.predict_on_batch(x)
        probs = np.asarray(out, dtype="float64").reshape(-1)  # predict_on_batch answers NumPy on every backend
        if probs.shape != (len(self.class_names),) or not np.all(np.isfinite(probs)):
            raise ValueError(f"the model returned {probs.shape[0]} values, not {len(self.class_names)} probabilities")
        if np.any(probs < -1e-6) or not math.isclose(float(probs.sum()), 1.0, abs_tol=1e-3):
            raise ValueError("the model's output is not a probability vector (does it end in a softmax?)")
        return probs

    def decide(self, probs: Sequence[float]) -> str:
        """The reported class name: the positive class when its probability reaches the threshold, else the
        most probable one (:func:`course.clinical.decide`)."""
        scores = np.asarray(probs, dtype="float64").reshape(1, -1)
        return self.class_names[int(clinical.decide(scores, self.positive_index, self.threshold)[0])]


def load_for_serving(model_dir: str | os.PathLike) -> ServedModel:
    """Load a folder written by :func:`save_for_serving`, after checking ``model.keras`` is the file
    ``serving.json`` describes (its SHA-256); raises :class:`ServingError` otherwise.

    The hash is computed on the bytes that are then loaded (a private copy), so a file replaced between the
    check and the load cannot slip through. The model is loaded with ``safe_mode=True`` and ``compile=False``
    and run once on a blank image, so a broken model fails here rather than on the first request.
    """
    folder = Path(model_dir)
    for name in (MODEL_FILE, SERVING_FILE):
        if not (folder / name).is_file():
            raise ServingError(f"{folder} holds no {name} (write the folder with course.deploy.save_for_serving)")
    try:
        meta = json.loads((folder / SERVING_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ServingError(f"{folder / SERVING_FILE} is not valid JSON: {err}") from None
    if not isinstance(meta, dict):
        raise ServingError(f"{folder / SERVING_FILE} does not hold a JSON object")
    _check_metadata(meta)
    blob = (folder / MODEL_FILE).read_bytes()
    sha = hashlib.sha256(blob).hexdigest()
    if sha != meta["model_sha256"]:
        raise ServingError(
            f"{folder / MODEL_FILE} has SHA-256 {sha[:12]}..., but {SERVING_FILE} records "
            f"{meta['model_sha256'][:12]}...: the model was changed or replaced after it was saved for serving; "
            "refusing to load it"
        )
    with tempfile.TemporaryDirectory(prefix="course-serve-") as tmp:
        copy = Path(tmp) / MODEL_FILE
        copy.write_bytes(blob)
        model = keras.saving.load_model(copy, compile=False, safe_mode=True)
    size = _image_size(meta["image_size"])
    _check_model_shape(model, size, len(meta["class_names"]))
    served = ServedModel(model=model, metadata=meta, sha256=sha, model_dir=folder)
    try:
        served.predict(np.full(size, 128, dtype="uint8"))  # warm-up: builds the predict function once
    except Exception as err:
        raise ServingError(f"the model in {folder} does not run on a {size[0]}x{size[1]} image: {err}") from None
    return served
