"""Trained weights the course uses, offline-first, always saying which ones ran.

- :func:`vgg16_base`: VGG16's convolutional base. With internet (or Keras'
  cached download) the ImageNet weights of ``keras.applications``; offline, the
  data kit's trained VGG16 weights, an edge-detection (HED) fine-tune of the
  ImageNet weights: real learned filters, but not an ImageNet classifier, and
  the deep layers lean towards edges. Lectures 03 and 04 and the transfer and
  feature-map assignments use it.
- :func:`flowers_alexnet`: Keras ships no trained AlexNet, so the course trains
  its own (:func:`course.models.alexnet`, scaled to 128x128 flower photos) once,
  for a short budget, and keeps the weights in the Keras cache, keyed by the
  code that builds and trains it and by the data, so a second call loads them.
  The feature-maps assignment visualises its first layer.

Each returns the model and a :class:`Weights` whose ``note`` (also printed)
says what ran.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from . import data, models, train
from .data import download
from .data.sources import DatasetNotFoundError, _keras_cache_dirs, kit_folder

VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_NOTOP_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_NOTOP_FILE
KIT_VGG16 = "weights/vgg16_hed_notop.weights.h5"
WEIGHTS_FOLDER = "course-weights"  # beside Keras' datasets folder, in the Keras cache


@dataclass(frozen=True)
class Weights:
    """Which weights a model got: ``origin`` is ``"imagenet"``, ``"kit"``, ``"cache"`` or ``"trained"``."""

    name: str
    origin: str
    path: str | None
    note: str

    def __str__(self) -> str:
        return self.note


def _imagenet_available() -> str | None:
    """None if the ImageNet VGG16 weights can be had (cached or reachable now), else why not."""
    look, _ = _keras_cache_dirs()
    if any((folder.parent / "models" / VGG16_NOTOP_FILE).is_file() for folder in look):
        return None
    if download._offline():
        return "offline (COURSE_OFFLINE=1)"
    return download.reachable(VGG16_NOTOP_URL)


def vgg16_base(input_shape: tuple[int, int, int] = (224, 224, 3)) -> tuple[keras.Model, Weights]:
    """VGG16 without its classifier, with trained weights (see the module docstring); prints which ones."""
    problem = _imagenet_available()
    if problem is None:
        model = keras.applications.VGG16(weights="imagenet", include_top=False, input_shape=input_shape)
        note = "VGG16 base: ImageNet weights (keras.applications)."
        weights = Weights("VGG16", "imagenet", None, note)
    else:
        kit = kit_folder()
        path = kit / KIT_VGG16 if kit is not None else None
        if path is None or not path.is_file():
            raise DatasetNotFoundError(
                "VGG16's trained weights were not found. Places looked, in order:\n"
                f"  1. ImageNet weights ({VGG16_NOTOP_URL}): {problem}\n"
                f"  2. offline kit {path or '$COURSE_DATA_DIR (not set)'}: file missing\n"
                "How to fix it (any one of these):\n"
                "  - run once with internet access: Keras then keeps the ImageNet weights in its cache\n"
                "  - point COURSE_DATA_DIR at the course's offline data kit (it holds " + KIT_VGG16 + ")"
            )
        model = keras.applications.VGG16(weights=str(path), include_top=False, input_shape=input_shape)
        note = (
            f"VGG16 base: the offline kit's weights ({path}), an edge-detection (HED) fine-tune of the ImageNet "
            f"weights, used because the ImageNet weights are not available here ({problem})."
        )
        weights = Weights("VGG16", "kit", str(path), note)
    print(weights.note)
    return model, weights


# -- the course's own AlexNet --------------------------------------------------------------------------

#: The flower AlexNet: 128x128 photos, five classes, half the paper's width, the paper's conv1 (11x11, stride 4).
#: One tower without groups and without LRN: on a CPU, TensorFlow's grouped convolutions and the LRN layer
#: made an epoch about six times slower (37 s against 6 s on 2 cores, measured with other work running).
ALEXNET_FLOWERS = {"input_shape": (128, 128, 3), "classes": 5, "width": 0.5, "grouped": False, "lrn": False}


def _build_flowers_alexnet() -> keras.Model:
    return models.alexnet(**ALEXNET_FLOWERS)


def _train_flowers_alexnet(model: keras.Model, photos, epochs: int, samples: int | None, seed: int) -> float:
    """Train on the flowers' training part (random flips; Adam, learning rate 3e-4, batches of 64),
    return the validation accuracy."""
    train.set_seed(seed)
    x = photos.train.images[:samples].astype("float32") / 255.0
    y = photos.train.labels[:samples]
    trainer = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.RandomFlip("horizontal"), model])
    trainer.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy")
    train.fit(trainer, x, y, epochs=epochs, batch_size=64, verbose=0)
    return train.evaluate_accuracy(model, photos.val.images.astype("float32") / 255.0, photos.val.labels)


def _flowers_key(epochs: int, samples: int | None, seed: int) -> str:
    """What the weights depend on: this code, the builder's code, the photos and the budget."""
    digest = hashlib.sha256()
    for function in (_build_flowers_alexnet, _train_flowers_alexnet, models.alexnet):
        digest.update(inspect.getsource(function).encode())
    digest.update(repr((ALEXNET_FLOWERS, epochs, samples, seed, keras.__version__)).encode())
    return digest.hexdigest()[:16]


def flowers_alexnet(epochs: int = 30, samples: int | None = None, seed: int = 0) -> tuple[keras.Model, Weights]:
    """The course's AlexNet trained on the flower photos for ``epochs`` epochs (``samples`` training photos
    at most), from the Keras cache when it was trained before with the same code, data and budget.

    The weights are kept in ``$KERAS_HOME/course-weights/`` (``~/.keras/...``); where that folder cannot be
    written (a grader's read-only cache), the network is trained and not kept.
    """
    photos = data.load_flowers()
    key = _flowers_key(epochs, samples, seed) + "-" + hashlib.sha256(photos.train.images.tobytes()).hexdigest()[:8]
    _, target = _keras_cache_dirs()
    looked = [folder.parent / WEIGHTS_FOLDER / f"alexnet-flowers-{key}.weights.h5" for folder in _keras_cache_dirs()[0]]
    model = _build_flowers_alexnet()
    cached = next((path for path in looked if path.is_file()), None)
    if cached is not None:
        model.load_weights(str(cached))
        note = f"AlexNet (flowers, {_epochs(epochs)}): weights from the Keras cache ({cached})."
        weights = Weights("AlexNet", "cache", str(cached), note)
    else:
        accuracy = _train_flowers_alexnet(model, photos, epochs, samples, seed)
        path = target.parent / WEIGHTS_FOLDER / f"alexnet-flowers-{key}.weights.h5"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save_weights(str(path))
            kept = f"kept in {path}"
        except OSError as err:
            kept = f"not kept ({type(err).__name__}: the cache folder cannot be written)"
            path = None
        note = f"AlexNet (flowers, {epochs} epochs): trained now, validation accuracy {accuracy:.3f}; weights {kept}."
        weights = Weights("AlexNet", "trained", None if path is None else str(path), note)
    print(weights.note)
    return model, weights


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def first_layer_filters(model: keras.Model, layer: str | None = None) -> np.ndarray:
    """The first convolution's kernels as an array ``(filters, height, width, channels)`` (lecture 03 and
    the feature-maps assignment draw them)."""
    conv = model.get_layer(layer) if layer else next(la for la in model.layers if isinstance(la, keras.layers.Conv2D))
    kernel = keras.ops.convert_to_numpy(conv.kernel)
    return np.transpose(kernel, (3, 0, 1, 2))


def weights_folder() -> Path:
    """Where :func:`flowers_alexnet` keeps what it trains."""
    return _keras_cache_dirs()[1].parent / WEIGHTS_FOLDER


# -- ImageNet AlexNet weights, where a maintained source exists ------------------------------------------

#: torchvision's ImageNet AlexNet: the maintained source of trained AlexNet weights. It is the one-tower
#: variant of Krizhevsky's "One weird trick" (2014): 64 conv1 filters of 11x11, stride 4, no LRN.
TORCHVISION_ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"


def imagenet_alexnet_filters() -> tuple[np.ndarray | None, str]:
    """conv1 filters ``(64, 11, 11, 3)`` of torchvision's ImageNet AlexNet, and a line saying what ran.

    They need PyTorch's ``torchvision`` (not among the course's pins) and the weights (downloaded once into
    torch's cache): where either is missing, the filters are None and the line says why. PyTorch code is
    kept to this function.
    """
    try:
        import torch
        import torchvision
    except ImportError:
        return None, "ImageNet AlexNet: not shown, torchvision is not installed (pip install torchvision)."
    cached = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_ALEXNET_URL.rsplit("/", 1)[1]
    if not cached.is_file():
        problem = "offline (COURSE_OFFLINE=1)" if download._offline() else download.reachable(TORCHVISION_ALEXNET_URL)
        if problem:
            return None, f"ImageNet AlexNet: not shown, its weights cannot be downloaded here ({problem})."
    net = torchvision.models.alexnet(weights="IMAGENET1K_V1")
    filters = net.features[0].weight.detach().cpu().numpy()
    note = "ImageNet AlexNet: conv1 of torchvision's trained AlexNet (64 filters, Krizhevsky 2014's variant)."
    return np.transpose(filters, (0, 2, 3, 1)), note


VGG16_BGR_MEANS = (103.939, 116.779, 123.68)  # what keras.applications.vgg16.preprocess_input subtracts


def vgg16_on_grayscale(base: keras.Model, head: keras.Model, name: str = "vgg16_grayscale") -> keras.Model:
    """One flat model from grayscale images (``(s, s, 1)``, grey levels 0-255) to ``head``'s output: the grey
    channel copied to three, VGG16's preprocessing (each channel's ImageNet mean subtracted; for a grey image
    the BGR order changes nothing), then ``base``'s layers one by one (shared with ``base``, so trained or
    fine-tuned weights carry over) and ``head`` (lecture 10). Built from standard layers only, so it saves
    and loads with ``safe_mode=True``, and every layer of the base can be named (Grad-CAM's
    ``"block5_conv3"``)."""
    size = tuple(base.input_shape[1:3])
    gray = keras.Input(shape=(*size, 1), name="xray")
    x = keras.layers.Concatenate(name="gray_to_rgb")([gray, gray, gray])
    x = keras.layers.Rescaling(1.0, offset=[-m for m in VGG16_BGR_MEANS], name="vgg16_preprocess")(x)
    for layer in base.layers[1:]:
        x = layer(x)
    return keras.Model(gray, head(x), name=name)
