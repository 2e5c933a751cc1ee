"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep convolutional
neural networks", NeurIPS), taught in lecture 03 and the feature-maps assignment.

The variant: one tower (one device), with the paper's connectivity kept as
grouped convolutions. The paper split the network over two GPUs: conv2, conv4
and conv5 saw only the maps on their own GPU (``groups=2`` here), conv3 and the
dense layers saw both. Local response normalisation follows conv1 and conv2,
then overlapping 3x3 max pooling with stride 2, as in the paper; dropout 0.5
before fc7 and fc8's inputs. Input 227x227 (the paper says 224, but only 227
gives its 55x55 conv1 maps).

Parameters at 227x227 with 1000 classes: 60,965,224 with ``grouped=True`` (the
paper's "60 million"), 62,378,344 with ``grouped=False`` (the usual one-GPU
re-implementation). Multiply-adds per image: about 0.72 G and 1.14 G.
"""

from __future__ import annotations

import keras
from keras import layers

from .layers import LocalResponseNorm
from .scaling import scaled


def alexnet(
    input_shape: tuple[int, int, int] = (227, 227, 3),
    classes: int = 1000,
    width: float = 1.0,
    *,
    grouped: bool = True,
    lrn: bool = True,
    conv1_kernel: int = 11,
    conv1_stride: int = 4,
    dropout: float = 0.5,
) -> keras.Model:
    """AlexNet as in the module docstring; an uncompiled ``keras.Model`` named ``"alexnet"``.

    Args:
        input_shape: image shape, channels last.
        classes: output units (softmax).
        width: multiplies every layer's filters and units (0.25: a quarter), for CPU-sized variants.
        grouped: conv2, conv4 and conv5 in two groups, as on the paper's two GPUs.
        lrn: local response normalisation after conv1 and conv2 (:class:`LocalResponseNorm`);
            ``False`` leaves out the one layer that is not built into Keras.
        conv1_kernel, conv1_stride: conv1's 11x11, stride 4; small inputs (32x32) want e.g. 5 and 1.
        dropout: the rate before fc7 and fc8.
    """
    groups = 2 if grouped else 1
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(scaled(96, width, groups), conv1_kernel, strides=conv1_stride, activation="relu", name="conv1")(
        inputs
    )
    if lrn:
        x = LocalResponseNorm(name="norm1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(scaled(256, width, groups), 5, padding="same", groups=groups, activation="relu", name="conv2")(x)
    if lrn:
        x = LocalResponseNorm(name="norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(scaled(384, width, groups), 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(scaled(384, width, groups), 3, padding="same", groups=groups, activation="relu", name="conv4")(x)
    x = layers.Conv2D(scaled(256, width, groups), 3, padding="same", groups=groups, activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(scaled(4096, width), activation="relu", name="fc6")(x)
    x = layers.Dropout(dropout, name="drop6")(x)
    x = layers.Dense(scaled(4096, width), activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="drop7")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="fc8")(x)
    return keras.Model(inputs, outputs, name="alexnet")
