"""How big and how costly a Keras model is: weight layers and multiply-adds.

Parameter counts come from Keras itself (``model.count_params()``); this
module adds the two numbers Keras does not report and the architecture papers
quote:

- :func:`weight_layers`: the convolution and dense layers, the layers that
  papers count when they call VGG16 "16 layers" or ResNet-50 "50 layers";
- :func:`multiply_adds`: the multiply-accumulate operations (MACs) one image
  costs in those layers. He et al. (2016) call the same quantity "FLOPs
  (multiply-adds)"; pooling, normalisation, activations and additions are not
  counted, as is usual, because they are a small share.

Both walk ``model.layers`` (nested models are entered), so they need a built
model with known output shapes, but they never run it.
"""

from __future__ import annotations

import math

import keras
from keras import layers

__all__ = ["weight_layers", "multiply_adds", "layer_multiply_adds"]

_CONV = (layers.Conv1D, layers.Conv2D, layers.Conv3D)


def _flat_layers(model: keras.Model) -> list:
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _flat_layers(layer)
        else:
            found.append(layer)
    return found


def weight_layers(model: keras.Model) -> list:
    """The convolution (including depthwise) and dense layers of ``model``, in order."""
    kinds = _CONV + (layers.DepthwiseConv2D, layers.Dense)
    return [layer for layer in _flat_layers(model) if isinstance(layer, kinds)]


def layer_multiply_adds(layer) -> int:
    """Multiply-adds one example costs in ``layer`` (0 for layers without weights to apply).

    - Dense: ``inputs * units`` per position (a Dense layer applied to a
      sequence or image is counted once per position);
    - convolution: ``output positions * kernel volume * input channels per group
      * output channels``, so grouped convolutions cost ``groups`` times less;
    - depthwise convolution: ``output positions * kernel area * channels * multiplier``.
    """
    # Keras kernels hold exactly one weight per multiply-add at one output
    # position: Conv (*kernel_size, in_channels // groups, filters), depthwise
    # (*kernel_size, channels, multiplier), Dense (inputs, units).
    if isinstance(layer, _CONV + (layers.DepthwiseConv2D, layers.Dense)):
        positions = math.prod(layer.output.shape[1:-1])  # 1 for a Dense layer on vectors
        return int(positions * math.prod(layer.kernel.shape))
    return 0


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass of one example through ``model``'s weight layers."""
    return sum(layer_multiply_adds(layer) for layer in weight_layers(model))
