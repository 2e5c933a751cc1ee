"""The small models of lectures 01 and 02 and the LeNet-5 assignment: LeNet-5 (classic and modern),
the MLP and CNN baselines.

Parameter budgets (trainable parameters, 10 classes)::

    lenet5()                    61,706   (32x32x1 input)
    lenet5(modern=True)         61,706
    lenet5(batch_norm=True)     61,932   (+ 452 non-trainable BN statistics)
    mlp()                       34,990   (28x28x1 input, one hidden layer of 44)
    small_cnn()                 34,826   (28x28x1 input)
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

__all__ = ["lenet5", "mlp", "small_cnn", "BN_MOMENTUM"]

#: Momentum of the batch-norm moving statistics. Keras' default (0.99) needs
#: several hundred steps before the statistics used at test time settle; the
#: course trains LeNet-5 for only a few hundred steps on the 10k MNIST kit,
#: where 0.99 leaves the test accuracy far below the training accuracy.
BN_MOMENTUM = 0.9


def lenet5(
    modern: bool = False,
    batch_norm: bool = False,
    input_shape: tuple[int, int, int] = (32, 32, 1),
    num_classes: int = 10,
) -> keras.Model:
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) in its usual Keras form.

    The layers keep the paper's names::

        layer   what                       output (32x32x1 input)   parameters
        C1      6 filters 5x5              28x28x6                     156
        S2      2x2 pooling, stride 2      14x14x6                       0
        C3      16 filters 5x5             10x10x16                  2,416
        S4      2x2 pooling, stride 2      5x5x16                        0
        C5      120 filters 5x5            1x1x120                  48,120
        flatten                            120                           0
        F6      84 units                   84                       10,164
        output  ``num_classes`` softmax    10                          850
                                                           total    61,706

    As in most textbook re-implementations, the paper's details that modern
    libraries lack are simplified: S2/S4 are plain average pooling (the paper's
    pooling had a trainable weight and bias per map), C3 connects to all six
    S2 maps (the paper used a sparse connection table) and the output is a
    softmax instead of Euclidean RBF units.

    Args:
        modern: use ReLU and max pooling instead of tanh and average pooling
            (same layers, same 61,706 parameters).
        batch_norm: add batch normalisation (Ioffe & Szegedy, 2015) before
            each activation. The convolution and dense layers then lose their
            bias (BN's shift replaces it) and their activation moves into a
            layer of its own. For C1 and C3 the normalisation and activation
            come *after* the pooling: ``C1 -> S2 -> S2_bn -> S2_act``. That is
            LeNet-5's own design (each S unit scaled the pooled sum by a
            trainable coefficient, added a bias and then squashed it; BN's
            per-map scale and shift play that role), and it normalises a
            quarter as many values as BN on C1's 28x28 maps would: on a 2-core
            CPU an epoch took about a quarter less CPU time than with BN
            before the pooling. C5 and F6 are followed by
            ``C5_bn``/``C5_act`` and ``F6_bn``/``F6_act``. The model has 61,932
            trainable parameters plus 452 non-trainable moving statistics.
        input_shape: image shape, channels last. LeNet-5 expects 32x32 inputs
            (MNIST's 28x28 digits padded by 2 pixels each side).
        num_classes: number of output units.

    Returns:
        An uncompiled ``keras.Model`` named ``"lenet5"`` or ``"lenet5_modern"``
        (with ``"_bn"`` appended when ``batch_norm``).
    """
    act = "relu" if modern else "tanh"
    pool = layers.MaxPooling2D if modern else layers.AveragePooling2D
    name = ("lenet5_modern" if modern else "lenet5") + ("_bn" if batch_norm else "")

    def normalise(x, prefix):
        """Batch norm then the activation, as layers named after ``prefix``."""
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
        return layers.Activation(act, name=f"{prefix}_act")(x)

    def conv_pool(x, filters, conv_name, pool_name):
        """C1/S2 or C3/S4."""
        if not batch_norm:
            x = layers.Conv2D(filters, 5, activation=act, name=conv_name)(x)
            return pool(2, name=pool_name)(x)
        x = layers.Conv2D(filters, 5, use_bias=False, name=conv_name)(x)
        return normalise(pool(2, name=pool_name)(x), pool_name)

    def with_activation(layer_cls, x, units, layer_name, *args):
        """C5 or F6."""
        if not batch_norm:
            return layer_cls(units, *args, activation=act, name=layer_name)(x)
        return normalise(layer_cls(units, *args, use_bias=False, name=layer_name)(x), layer_name)

    inputs = keras.Input(shape=input_shape, name="image")
    x = conv_pool(inputs, 6, "C1", "S2")
    x = conv_pool(x, 16, "C3", "S4")
    x = with_activation(layers.Conv2D, x, 120, "C5", 5)
    x = layers.Flatten(name="flatten")(x)
    x = with_activation(layers.Dense, x, 84, "F6")
    # float32 output keeps the softmax stable under a mixed_float16 policy.
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def mlp(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    hidden: Sequence[int] = (44,),
    num_classes: int = 10,
) -> keras.Model:
    """A fully connected baseline: flatten, ReLU hidden layers, softmax output.

    With the defaults (28x28x1 MNIST, one hidden layer of 44 units) it has
    784*44 + 44 + 44*10 + 10 = 34,990 parameters, within 0.5% of
    :func:`small_cnn`'s 34,826, so the CNN-versus-MLP comparison is at an equal
    parameter budget.

    Args:
        input_shape: image shape, channels last.
        hidden: units of each hidden layer, in order.
        num_classes: number of output units.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden, start=1):
        x = layers.Dense(units, activation="relu", name=f"hidden{i}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name="mlp")


def small_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
) -> keras.Model:
    """A small convolutional baseline with about the same budget as :func:`mlp`.

    Layers (28x28x1 input)::

        conv1    32 filters 3x3, ReLU    26x26x32      320
        pool1    2x2 max pooling         13x13x32        0
        conv2    64 filters 3x3, ReLU    11x11x64   18,496
        pool2    2x2 max pooling         5x5x64          0
        flatten                          1600            0
        dropout  rate 0.5                1600            0
        output   softmax                 10         16,010
                                               total 34,826

    Args:
        input_shape: image shape, channels last.
        num_classes: number of output units.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name="small_cnn")
