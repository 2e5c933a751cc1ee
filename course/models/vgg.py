"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale image recognition",
ICLR), taught in lecture 03.

Configurations of the paper's Table 1: A (11 weight layers), B (13), C (16, with
1x1 convolutions in the last conv of blocks 3 to 5), D (16) and E (19). Every
convolution is 3x3 with stride 1 and "same" padding, followed by ReLU; five 2x2
max pools; then fc1 and fc2 with 4,096 units and dropout 0.5, and the
classifier. Layer names follow ``keras.applications`` (``block1_conv1`` ...,
``fc1``, ``fc2``, ``predictions``), so weights saved from ``keras.applications.VGG16``
(for example the offline kit's) load into ``vgg(16)`` by name.

Parameters at 224x224 with 1000 classes: VGG-11 132,863,336; VGG-13 133,047,848;
VGG-16 138,357,544 and VGG-19 143,667,240, the same as ``keras.applications``.
"""

from __future__ import annotations

import keras
from keras import layers

from .scaling import scaled

# (filters, kernel) of each convolution, block by block
_CONFIGS = {
    "A": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "B": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "C": [[64, 64], [128, 128], [256, 256, (256, 1)], [512, 512, (512, 1)], [512, 512, (512, 1)]],
    "D": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "E": [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
}
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}


def vgg(
    depth: int = 16,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
    width: float = 1.0,
    *,
    config: str | None = None,
    include_top: bool = True,
    batch_norm: bool = False,
    fc_units: int = 4096,
    dropout: float = 0.5,
    bn_momentum: float = 0.99,
) -> keras.Model:
    """VGG-``depth`` (11, 13, 16 or 19; or ``config`` "A"-"E"); an uncompiled ``keras.Model``.

    Args:
        depth: weight layers: 11 (A), 13 (B), 16 (D) or 19 (E).
        input_shape: image shape, channels last (32x32 works: the five pools leave 1x1).
        classes: output units (softmax).
        width: multiplies every layer's filters and units, for CPU-sized variants.
        config: a configuration letter instead of ``depth`` ("C": VGG-16 with 1x1 convolutions).
        include_top: False stops after ``block5_pool`` (the convolutional base).
        batch_norm: batch normalisation after each convolution (a later addition, not the paper's).
        fc_units: units of fc1 and fc2 before ``width`` (4,096 in the paper).
        dropout: the rate after fc1 and fc2.
        bn_momentum: of the batch-norm moving statistics (with ``batch_norm``); short CPU runs want 0.9,
            so that the statistics used at test time settle within a few hundred steps.
    """
    letter = (config or DEPTHS.get(depth, "")).upper()
    if letter not in _CONFIGS:
        raise ValueError(f"VGG depth must be one of {sorted(DEPTHS)} (or config A-E), got {depth!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for b, block in enumerate(_CONFIGS[letter], start=1):
        for c, spec in enumerate(block, start=1):
            filters, kernel = spec if isinstance(spec, tuple) else (spec, 3)
            name = f"block{b}_conv{c}"
            if batch_norm:
                x = layers.Conv2D(scaled(filters, width), kernel, padding="same", use_bias=False, name=name)(x)
                x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
                x = layers.Activation("relu", name=f"{name}_relu")(x)
            else:
                x = layers.Conv2D(scaled(filters, width), kernel, padding="same", activation="relu", name=name)(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(scaled(fc_units, width), activation="relu", name="fc1")(x)
        x = layers.Dropout(dropout, name="fc1_dropout")(x)
        x = layers.Dense(scaled(fc_units, width), activation="relu", name="fc2")(x)
        x = layers.Dropout(dropout, name="fc2_dropout")(x)
        x = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    name = {"A": "vgg11", "B": "vgg13", "C": "vgg16_c", "D": "vgg16", "E": "vgg19"}[letter]
    name += ("_bn" if batch_norm else "") + ("" if include_top else "_notop")
    return keras.Model(inputs, x, name=name)
