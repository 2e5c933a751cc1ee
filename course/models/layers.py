"""Layers Keras does not ship, written with ``keras.ops`` so they run on every backend.

- :class:`LocalResponseNorm`: AlexNet's local response normalisation
  (Krizhevsky, Sutskever & Hinton 2012, Section 3.3), taught in lecture 03.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="course")
class LocalResponseNorm(keras.layers.Layer):
    """Cross-channel local response normalisation (AlexNet, Section 3.3).

    Each activation ``a`` at channel ``i`` is divided by
    ``(bias + alpha * sum of a_j**2 over the channels j = i - radius ... i + radius) ** beta``.
    AlexNet used ``n = 5`` neighbouring maps (``radius = 2``), ``k = bias = 2``,
    ``alpha = 1e-4`` and ``beta = 0.75``, the defaults here; they match
    ``tf.nn.local_response_normalization(x, 2, 2.0, 1e-4, 0.75)``. The layer
    has no weights. Channels last.
    """

    def __init__(self, radius: int = 2, bias: float = 2.0, alpha: float = 1e-4, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.radius, self.bias, self.alpha, self.beta = int(radius), float(bias), float(alpha), float(beta)

    def call(self, x):
        channels = x.shape[-1]
        square = ops.square(x)
        pad = [[0, 0]] * (len(x.shape) - 1) + [[self.radius, self.radius]]
        padded = ops.pad(square, pad)
        total = padded[..., 0:channels]
        for offset in range(1, 2 * self.radius + 1):
            total = total + padded[..., offset : offset + channels]
        return x / ops.power(self.bias + self.alpha * total, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "radius": self.radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }
