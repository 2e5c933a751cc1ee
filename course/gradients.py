"""How large the gradient is at each layer: :func:`gradient_norms` (lecture 05 compares plain and residual
nets with it); and how a class's score depends on a layer's activations: :func:`activation_gradients`,
what Grad-CAM (:func:`course.viz.grad_cam`, lecture 10) is built on.

Keras 3 has no backend-independent way to take a gradient, so this module is
the course's one place with code for each backend: TensorFlow's
``GradientTape``, JAX's ``jax.grad`` over ``model.stateless_call`` and
PyTorch's ``backward``. The rest of the course stays on ``keras`` and
``keras.ops``.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = ["activation_gradients", "feature_map_layers", "gradient_norms", "kernel_gradients"]


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


def feature_map_layers(model: keras.Model) -> list[str]:
    """The names of the layers of ``model`` whose output is a 4-D batch of feature maps, input to output.

    These are the layers Grad-CAM can look at (lecture 10): convolutions, pooling, activations, and
    nested models such as a pretrained base. Input layers are left out.
    """
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            rank = len(layer.output.shape)
        except (AttributeError, ValueError, TypeError):  # never called, called several times, or several outputs
            continue
        if rank == 4:
            names.append(layer.name)
    return names


def _class_mask(predictions: np.ndarray, class_index) -> np.ndarray:
    """One-hot rows ``(n, classes)`` picking each image's class (``None``: the predicted one)."""
    n, k = predictions.shape
    if class_index is None:
        index = predictions.argmax(axis=1)
    else:
        index = np.broadcast_to(np.asarray(class_index, dtype=np.int64).reshape(-1), (n,))
        if index.min() < 0 or index.max() >= k:
            raise ValueError(f"class_index {class_index} is out of range for a model with {k} classes.")
    return np.eye(k, dtype=predictions.dtype)[index]


def _probe(model: keras.Model, layer) -> tuple:
    """The tensor ``layer`` outputs in ``model``'s graph, and a model from ``model.inputs`` to it and the output.

    ``layer.output`` will not do for a nested model (it is the nested model's own output tensor, outside
    ``model``'s graph), so each of the layer's calls is tried until one belongs to ``model``.
    """
    calls = [node.output_tensors for node in getattr(layer, "_inbound_nodes", [])]
    for tensors in calls:
        if len(tensors) != 1:
            continue
        try:
            return tensors[0], keras.Model(model.inputs, [tensors[0], model.outputs[0]])
        except ValueError:  # a call in another graph: the nested model's own, or another model sharing the layer
            continue
    raise ValueError(f"layer {layer.name!r} has no single output tensor in the graph of model {model.name!r}.")


def activation_gradients(model: keras.Model, layer_name: str, images, class_index=None) -> tuple:
    """The activations of layer ``layer_name`` and the gradient of a class's score with respect to them.

    Returns NumPy arrays ``(activations, gradients)``, both shaped like the layer's output (``(n, h, w,
    channels)`` for a convolution). The score of image ``i`` is the model's output for class
    ``class_index`` (an int for every image, one int per image, or ``None`` for each image's predicted
    class): a probability if the model ends in a softmax. The model runs in inference mode.

    ``model`` is a functional (or sequential) model with one input and one output, and ``layer_name`` one
    of its own layers, ``model.get_layer(layer_name)`` (a nested model counts as one layer: name the
    nested model, not a layer inside it). Grad-CAM (lecture 10, :func:`course.viz.grad_cam`) weighs the
    activations' channels by their mean gradient.
    """
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has no layer {layer_name!r}; "
            f"its layers with 4-D outputs (feature maps) are {feature_map_layers(model)}."
        ) from None
    if isinstance(layer, keras.layers.InputLayer):
        raise ValueError(f"{layer_name!r} is the input; name a layer after it, one of {feature_map_layers(model)}.")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError("activation_gradients needs a model with one input and one output.")
    x = keras.ops.convert_to_tensor(np.asarray(images, dtype=keras.backend.floatx()))
    # The layer's activations and the predictions in one pass, then the rest of the network as a model of
    # its own, from those activations (and the input, for any branch that skips the layer) to the output.
    layer_output, probe = _probe(model, layer)
    activations, predictions = probe(x, training=False)
    head = keras.Model([layer_output, *model.inputs], model.outputs[0])
    mask = keras.ops.convert_to_tensor(_class_mask(keras.ops.convert_to_numpy(predictions), class_index))

    def score(outputs):
        return keras.ops.sum(outputs * mask)  # each image's score depends on its own activations only

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(activations)
            total = score(head([activations, x], training=False))
        grads = tape.gradient(total, activations)
    elif backend == "jax":
        import jax

        trainable = [v.value for v in head.trainable_variables]
        frozen = [v.value for v in head.non_trainable_variables]

        def score_of(values):
            outputs, _ = head.stateless_call(trainable, frozen, [values, x], training=False)
            return score(outputs)

        grads = jax.grad(score_of)(activations)
    elif backend == "torch":
        import torch

        activations = activations.detach().requires_grad_(True)
        (grads,) = torch.autograd.grad(score(head([activations, x], training=False)), activations)
        activations = activations.detach()
    else:  # pragma: no cover
        raise NotImplementedError(f"activation_gradients does not know the {backend!r} backend")
    return keras.ops.convert_to_numpy(activations), keras.ops.convert_to_numpy(grads)
