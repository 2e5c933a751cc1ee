"""ResNets (He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition", CVPR), taught in
lecture 05.

* :func:`resnet` (18, 34, 50, 101, 152): the ImageNet family of Table 1. 18 and 34
  stack basic blocks (two 3x3 convolutions), 50 and deeper bottleneck blocks
  (1x1, 3x3, 1x1 with four times the channels out). Shortcuts are identities,
  and 1x1 projections with batch norm where the shape changes (option B). Layout
  and parameters follow ``keras.applications.ResNet50`` (biases on the
  convolutions, batch-norm epsilon 1.001e-5, stride on the block's first
  convolution): ResNet-50 has 25,636,712 parameters, as there.
* :func:`cifar_resnet` (n = 3, 5, 7, 9: ResNet-20, 32, 44, 56): Section 4.2's
  CIFAR-10 nets: a 3x3 convolution of 16 filters, three stages of ``n`` basic
  blocks with 16, 32 and 64 filters (stride 2 at the first block of stages 2 and
  3), global average pooling and the classifier; 6n + 2 weight layers and about
  0.27, 0.46, 0.66 and 0.85 M parameters (Table 6). Shortcuts are option A, as
  in the paper: identities, and where the shape changes, the input subsampled
  and padded with zero channels (no parameters).

``plain=True`` builds the same stacks without any shortcut: the "plain"
networks of the degradation experiment (Figure 1, Table 6).
"""

from __future__ import annotations

import keras
from keras import layers

from .scaling import scaled

BLOCKS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
_EPS = 1.001e-5


def _bn(x, name: str, momentum: float = 0.99):
    return layers.BatchNormalization(epsilon=_EPS, momentum=momentum, name=f"{name}_bn")(x)


def _conv_bn(x, filters, kernel, name, strides=1, relu=True, bias=True, momentum=0.99):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=bias, name=f"{name}_conv")(x)
    x = _bn(x, name, momentum)
    return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x


def _projection(x, filters: int, strides: int, name: str, momentum: float = 0.99):
    x = layers.Conv2D(filters, 1, strides=strides, name=f"{name}_0_conv")(x)
    return _bn(x, f"{name}_0", momentum)


def _finish(x, shortcut, name: str, plain: bool):
    if not plain:
        x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def basic_block(x, filters, strides, name, plain=False, bias=True, momentum=0.99):
    """Two 3x3 convolutions with batch norm; a 1x1 projection shortcut when the shape changes."""
    needs_projection = strides != 1 or x.shape[-1] != filters
    shortcut = _projection(x, filters, strides, name, momentum) if needs_projection and not plain else x
    y = _conv_bn(x, filters, 3, f"{name}_1", strides=strides, bias=bias, momentum=momentum)
    y = _conv_bn(y, filters, 3, f"{name}_2", relu=False, bias=bias, momentum=momentum)
    return _finish(y, shortcut, name, plain)


def bottleneck_block(x, filters: int, strides: int, name: str, plain: bool = False):
    """1x1 (``filters``), 3x3 (``filters``), 1x1 (``4 * filters``), batch norm after each; projection shortcut
    when the shape changes."""
    needs_projection = strides != 1 or x.shape[-1] != 4 * filters
    shortcut = _projection(x, 4 * filters, strides, name) if needs_projection and not plain else x
    y = _conv_bn(x, filters, 1, f"{name}_1", strides=strides)
    y = _conv_bn(y, filters, 3, f"{name}_2")
    y = _conv_bn(y, 4 * filters, 1, f"{name}_3", relu=False)
    return _finish(y, shortcut, name, plain)


def resnet(
    depth: int = 50,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    classes: int = 1000,
    width: float = 1.0,
    *,
    plain: bool = False,
) -> keras.Model:
    """ResNet-``depth`` of the ImageNet family (see the module docstring); an uncompiled ``keras.Model``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        input_shape: image shape, channels last.
        classes: output units (softmax).
        width: multiplies every convolution's filters, for CPU-sized variants.
        plain: no shortcuts (the plain network of the same depth).
    """
    if depth not in BLOCKS:
        raise ValueError(f"ResNet depth must be one of {sorted(BLOCKS)}, got {depth!r}")
    kind, counts = BLOCKS[depth]
    block = basic_block if kind == "basic" else bottleneck_block
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(scaled(64, width), 7, strides=2, name="conv1_conv")(x)
    x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1"))
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (count, filters) in enumerate(zip(counts, (64, 128, 256, 512), strict=True), start=2):
        for i in range(1, count + 1):
            strides = 2 if i == 1 and stage > 2 else 1
            x = block(x, scaled(filters, width), strides, f"conv{stage}_block{i}", plain=plain)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{'plain' if plain else 'resnet'}{depth}")


def _option_a(x, filters: int, strides: int, name: str):
    """The paper's option A shortcut: subsample by ``strides`` and pad with zero channels (no weights)."""
    if strides != 1:
        x = layers.MaxPooling2D(1, strides=strides, name=f"{name}_subsample")(x)  # a 1x1 pool keeps every 2nd pixel
    missing = filters - x.shape[-1]
    if missing > 0:
        if missing != x.shape[-1]:
            raise ValueError("option A shortcuts double the channels; use width values that keep them even")
        zeros = layers.Rescaling(0.0, name=f"{name}_zeros")(x)
        x = layers.Concatenate(name=f"{name}_pad")([x, zeros])
    return x


def cifar_resnet(
    n: int = 3,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    width: float = 1.0,
    *,
    plain: bool = False,
    shortcut: str = "A",
    bn_momentum: float = 0.99,
) -> keras.Model:
    """ResNet-(6n+2) for CIFAR-10 (Section 4.2; see the module docstring); an uncompiled ``keras.Model``.

    Args:
        n: blocks per stage: 3, 5, 7, 9 give ResNet-20, 32, 44, 56 (any n >= 1 works).
        input_shape: image shape, channels last.
        classes: output units (softmax).
        width: multiplies the 16/32/64 filters.
        plain: no shortcuts (plain-20, plain-56, ...).
        shortcut: ``"A"`` (zero padding, the paper's choice for CIFAR) or ``"B"`` (1x1 projections).
        bn_momentum: of the batch-norm moving statistics; short CPU runs want 0.9, so that the
            statistics used at test time settle within a few hundred steps.
    """
    if n < 1 or shortcut not in ("A", "B"):
        raise ValueError(f"n must be at least 1 and shortcut 'A' or 'B', got n={n!r}, shortcut={shortcut!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, scaled(16, width), 3, "conv1", bias=False, momentum=bn_momentum)
    for stage, filters in enumerate((16, 32, 64), start=1):
        filters = scaled(filters, width)
        for i in range(1, n + 1):
            strides = 2 if i == 1 and stage > 1 else 1
            name = f"stage{stage}_block{i}"
            if shortcut == "A" and not plain:
                identity = _option_a(x, filters, strides, name)
                y = _conv_bn(x, filters, 3, f"{name}_1", strides=strides, bias=False, momentum=bn_momentum)
                y = _conv_bn(y, filters, 3, f"{name}_2", relu=False, bias=False, momentum=bn_momentum)
                x = _finish(y, identity, name, plain=False)
            else:
                x = basic_block(x, filters, strides, name, plain=plain, bias=False, momentum=bn_momentum)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{'plain' if plain else 'resnet'}{6 * n + 2}")
