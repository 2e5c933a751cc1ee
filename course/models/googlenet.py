"""GoogLeNet, Inception v1 (Szegedy et al. 2015, "Going deeper with convolutions", CVPR), after Table 1,
without the two auxiliary classifiers; taught in lecture 03 and the GoogLeNet assignment.

An Inception module runs four branches side by side and concatenates them:
a 1x1 convolution; a 1x1 reduction then a 3x3; a 1x1 reduction then a 5x5; and
a 3x3 max pool then a 1x1 projection. Every convolution is followed by ReLU.
:data:`TABLE1` holds each module's filters as the paper's Table 1 gives them
(#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj): inception 3a outputs
64 + 128 + 32 + 32 = 256 channels.

Where this build differs from the paper: no local response normalisation after
the stem's two convolutions (``lrn=True`` adds it), global average pooling in
place of the 7x7 average pool (the same thing on 224x224 inputs, and it also
works on smaller ones), and biases on every convolution and the classifier. At
224x224 with 1000 classes it has 6,998,552 parameters; Table 1's column sums to
about 6.8 M because it rounds each row (to the nearest thousand) and leaves out
the biases: 7,516 of them here, and the classifier's 1,025,000 weights appear as
"1000K".
"""

from __future__ import annotations

import keras
from keras import layers

from .layers import LocalResponseNorm
from .scaling import scaled

#: Table 1: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
TABLE1 = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x, filters: int, kernel: int, name: str, strides: int = 1, batch_norm: bool = False, momentum: float = 0.99):
    if not batch_norm:
        return layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu", name=name)(x)
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def inception(
    x, name: str, filters: tuple[int, ...], width: float = 1.0, batch_norm: bool = False, momentum: float = 0.99
):
    """One Inception module (Figure 2b of the paper): four branches, concatenated along the channels.

    ``momentum`` is batch norm's (when ``batch_norm``): Keras' 0.99 by default; 0.9 lets the running
    statistics catch up within the few hundred steps of a CPU run.
    """
    f1, r3, f3, r5, f5, fp = (scaled(f, width) for f in filters)
    bn = {"batch_norm": batch_norm, "momentum": momentum}
    b1 = _conv(x, f1, 1, f"inception{name}_1x1", **bn)
    b3 = _conv(
        _conv(x, r3, 1, f"inception{name}_3x3_reduce", **bn),
        f3,
        3,
        f"inception{name}_3x3",
        **bn,
    )
    b5 = _conv(
        _conv(x, r5, 1, f"inception{name}_5x5_reduce", **bn),
        f5,
        5,
        f"inception{name}_5x5",
        **bn,
    )
    bp = layers.MaxPooling2D(3, strides=1, padding="same", name=f"inception{name}_pool")(x)
    bp = _conv(bp, fp, 1, f"inception{name}_pool_proj", **bn)
    return layers.Concatenate(name=f"inception{name}")([b1, b3, b5, bp])


def googlenet(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
    width: float = 1.0,
    *,
    stem: str = "imagenet",
    lrn: bool = False,
    batch_norm: bool = False,
    dropout: float = 0.4,
) -> keras.Model:
    """GoogLeNet as in the module docstring; an uncompiled ``keras.Model`` named ``"googlenet"``.

    Args:
        input_shape: image shape, channels last.
        classes: output units (softmax).
        width: multiplies every convolution's filters, for CPU-sized variants.
        stem: ``"imagenet"``: Table 1's stem (7x7/2 convolution, 3x3/2 max pool, 1x1 and 3x3
            convolutions, 3x3/2 max pool: 224 -> 28 before inception 3a). ``"cifar"``: for 32x32
            inputs, one 3x3 convolution of 192 filters and no pooling before 3a, so the modules
            see 32, 16 and 8 pixels square (the usual CIFAR-10 adaptation).
        lrn: local response normalisation after the stem's convolutions (``"imagenet"`` stem only).
        batch_norm: batch normalisation after each convolution (Inception v2's addition).
        dropout: the rate before the classifier (40% in the paper).
    """
    inputs = keras.Input(shape=input_shape, name="image")
    if stem == "imagenet":
        x = _conv(inputs, scaled(64, width), 7, "conv1_7x7", strides=2, batch_norm=batch_norm)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
        if lrn:
            x = LocalResponseNorm(name="norm1")(x)
        x = _conv(x, scaled(64, width), 1, "conv2_3x3_reduce", batch_norm=batch_norm)
        x = _conv(x, scaled(192, width), 3, "conv2_3x3", batch_norm=batch_norm)
        if lrn:
            x = LocalResponseNorm(name="norm2")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    elif stem == "cifar":
        x = _conv(inputs, scaled(192, width), 3, "conv1_3x3", batch_norm=batch_norm)
    else:
        raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
    for name in ("3a", "3b"):
        x = inception(x, name, TABLE1[name], width, batch_norm)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool3")(x)
    for name in ("4a", "4b", "4c", "4d", "4e"):
        x = inception(x, name, TABLE1[name], width, batch_norm)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool4")(x)
    for name in ("5a", "5b"):
        x = inception(x, name, TABLE1[name], width, batch_norm)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="googlenet")


#: The compact GoogLeNet of the GoogLeNet assignment (Q9): which Table 1 modules run at each resolution.
COMPACT_STAGES = (("3a", "3b"), ("4a", "4b"))


def compact_googlenet(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    width: float = 0.5,
    *,
    stem_filters: int = 64,
    stages: tuple[tuple[str, ...], ...] = COMPACT_STAGES,
    dropout: float = 0.2,
    momentum: float = 0.9,
) -> keras.Model:
    """A GoogLeNet small enough to train on CIFAR-10 on two CPU cores: the GoogLeNet assignment's network.

    A 3x3 convolution of ``stem_filters`` (batch norm, ReLU) and a 3x3/2 max pool (32 -> 16 pixels), then
    for each entry of ``stages`` its Table 1 modules (with batch norm, filters times ``width``), a 3x3/2 max
    pool between stages (16 -> 8), global average pooling, dropout and a softmax classifier. Batch norm uses
    ``momentum`` 0.9, so its running statistics settle within the few hundred steps of a CPU run. The defaults
    (modules 3a and 3b at 16x16, 4a and 4b at 8x8, width 0.5) have 349,658 parameters and about 49 M
    multiply-adds per image, 30 times fewer than ``googlenet(stem="cifar")``; bench/inception_cifar.py
    measures what each buys on a CPU.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, stem_filters, 3, "stem_3x3", batch_norm=True, momentum=momentum)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for index, names in enumerate(stages):
        if index:
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{index}")(x)
        for name in names:
            x = inception(x, name, TABLE1[name], width, batch_norm=True, momentum=momentum)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="compact_googlenet")
