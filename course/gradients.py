"""How large the gradient is at each layer: :func:`gradient_norms` (lecture 05 compares plain and residual
nets with it).

Keras 3 has no backend-independent way to take a gradient, so this module is
the course's one place with code for each backend: TensorFlow's
``GradientTape``, JAX's ``jax.grad`` over ``model.stateless_call`` and
PyTorch's ``backward``. The rest of the course stays on ``keras`` and
``keras.ops``.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = ["gradient_norms", "kernel_gradients"]


def _loss(y, p):
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, p))


def _gradients(model: keras.Model, x, y) -> list:
    """d(mean cross-entropy)/d(weight) for every trainable weight, as NumPy arrays (training mode)."""
    backend = keras.backend.backend()
    weights = model.trainable_weights
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = _loss(y, model(x, training=True))
        grads = tape.gradient(loss, weights)
    elif backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        def loss_of(values):
            predictions, _ = model.stateless_call(values, frozen, x, training=True)
            return _loss(y, predictions)

        grads = jax.grad(loss_of)(trainable)
    elif backend == "torch":
        for weight in weights:
            weight.value.grad = None
        _loss(keras.ops.convert_to_tensor(y), model(x, training=True)).backward()
        grads = [weight.value.grad for weight in weights]
    else:  # pragma: no cover
        raise NotImplementedError(f"gradient_norms does not know the {backend!r} backend")
    return [
        np.zeros(w.shape) if g is None else keras.ops.convert_to_numpy(g) for w, g in zip(weights, grads, strict=True)
    ]


def kernel_gradients(model: keras.Model, x, y) -> dict[str, np.ndarray]:
    """The gradient of each convolution or dense layer's kernel, by layer name, in the model's order."""
    grads = dict(zip((id(w) for w in model.trainable_weights), _gradients(model, x, y), strict=True))
    out = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and id(kernel) in grads:
            out[layer.name] = grads[id(kernel)]
    return out


def gradient_norms(model: keras.Model, x, y) -> dict[str, float]:
    """The L2 norm of the loss gradient with respect to each layer's kernel, input to output.

    ``x, y`` is one batch (integer labels); the loss is the mean sparse
    categorical cross-entropy of a softmax output, in training mode (batch
    norm uses the batch's statistics, as in a training step).
    """
    return {name: float(np.linalg.norm(g)) for name, g in kernel_gradients(model, x, y).items()}
