"""How big and how costly a Keras model is: weight layers, multiply-adds, memory, receptive fields.

Parameter counts come from Keras itself (``model.count_params()``); this
module adds the numbers Keras does not report and the architecture papers
quote (lectures 01 and 03 use them):

- :func:`weight_layers`: the convolution and dense layers, the layers that
  papers count when they call VGG16 "16 layers" or ResNet-50 "50 layers";
- :func:`multiply_adds`: the multiply-accumulate operations (MACs) one image
  costs in those layers. He et al. (2016) call the same quantity "FLOPs
  (multiply-adds)"; pooling, normalisation, activations and additions are not
  counted, as is usual, because they are a small share.

- :func:`profile`: a table with one row per layer and a total: parameters,
  multiply-adds, activation memory for one image, and the receptive field.

They walk ``model.layers`` (nested models are entered), so they need a built
model with known output shapes, but they never run it.
"""

from __future__ import annotations

import math

import keras
from keras import layers

__all__ = ["weight_layers", "multiply_adds", "layer_multiply_adds", "profile", "receptive_fields"]

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


# -- receptive fields ----------------------------------------------------------------------------------

_GLOBAL = (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D, layers.Flatten)


def _window(layer) -> tuple[int, int] | None:
    """(kernel extent, stride) along the first spatial axis for a layer that slides a window, else None."""
    if isinstance(layer, _CONV + (layers.DepthwiseConv2D,)):
        kernel, stride, dilation = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        return (kernel - 1) * dilation + 1, stride
    if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D, layers.MaxPooling1D, layers.AveragePooling1D)):
        return layer.pool_size[0], layer.strides[0]
    return None


def _producers(layer) -> list:
    """The layers whose outputs ``layer`` reads (through Keras' graph of the functional model)."""
    inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    found = []
    for tensor in inputs:
        history = getattr(tensor, "_keras_history", None)
        if history is not None:
            found.append(history.operation)
    return found


def receptive_fields(model: keras.Model) -> dict[str, tuple[int, int] | None]:
    """Each layer's receptive field along the first spatial axis: ``{name: (size, jump)}``.

    ``size`` is how many input pixels one output position sees, ``jump`` how many
    input pixels apart neighbouring output positions are. A window layer adds
    ``(kernel - 1) * jump`` and multiplies the jump by its stride; a layer that
    merges branches (``Add``, ``Concatenate``) takes the largest of its inputs;
    after a global pooling, ``Flatten`` or dense layer every output sees the whole
    input (``size`` at least the input's side; the theoretical field of a deep net can exceed the image,
    the rest being padding). None for a model that nests other models.
    """
    if any(isinstance(layer, keras.Model) for layer in model.layers):
        return {layer.name: None for layer in model.layers}
    side = model.inputs[0].shape[1]
    fields: dict[str, tuple[int, int]] = {}
    for layer in model.layers:
        inbound = [fields[p.name] for p in _producers(layer) if p.name in fields]
        size, jump = (max(f[0] for f in inbound), max(f[1] for f in inbound)) if inbound else (1, 1)
        window = _window(layer)
        if window is not None:
            size, jump = size + (window[0] - 1) * jump, jump * window[1]
        elif isinstance(layer, _GLOBAL + (layers.Dense,)) and side:
            size = max(size, int(side))
        fields[layer.name] = (size, jump)
    return fields


def profile(model: keras.Model, bytes_per_value: int = 4):
    """One row per layer, and a ``total`` row, as a ``pandas.DataFrame``.

    Columns: ``type``, ``output shape``, ``parameters`` (every weight, trainable
    or not), ``multiply-adds`` (one image, see :func:`layer_multiply_adds`),
    ``activation MB`` (the layer's output for one image, ``bytes_per_value``
    bytes per number: 4 for float32; the input layer's row is the image itself), and
    ``receptive field`` (pixels along one side, see :func:`receptive_fields`;
    in the total, the largest). Lecture 03 builds its comparison of AlexNet and
    VGG from it.
    """
    import pandas as pd

    fields = receptive_fields(model)
    rows = []
    for layer in model.layers:
        shape = layer.output.shape
        values = math.prod(int(d) for d in shape[1:] if d is not None)
        field = fields.get(layer.name)
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": "x".join(str(int(d)) for d in shape[1:]),
                "parameters": int(layer.count_params()),
                "multiply-adds": sum(layer_multiply_adds(inner) for inner in _flat_layers(layer))
                if isinstance(layer, keras.Model)
                else layer_multiply_adds(layer),
                "activation MB": values * bytes_per_value / 2**20,
                "receptive field": None if field is None else field[0],
            }
        )
    table = pd.DataFrame(rows).set_index("layer")
    fields_known = table["receptive field"].dropna()
    table.loc["total"] = {
        "type": "",
        "output shape": "",
        "parameters": int(model.count_params()),
        "multiply-adds": int(table["multiply-adds"].sum()),
        "activation MB": float(table["activation MB"].sum()),
        "receptive field": None if fields_known.empty else int(fields_known.max()),
    }
    return table
