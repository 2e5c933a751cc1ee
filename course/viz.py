"""Plots and tables for the notebooks: training curves, confusion matrices, image grids, layer tables,
Grad-CAM heat maps.

Every plotting function returns a ``matplotlib.figure.Figure`` with a title and
axis labels; in a notebook it is shown automatically (with ``%matplotlib
inline``), in a script call ``fig.savefig(...)``. Nothing here depends on the
Keras backend: :func:`grad_cam` takes its gradients from :mod:`course.gradients`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .clinical import confusion_matrix  # counted there; re-exported here, next to its plot

__all__ = [
    "confusion_matrix",
    "grad_cam",
    "plot_accuracy_against_time",
    "plot_confusion_matrix",
    "plot_grad_cam",
    "plot_history",
    "plot_runs",
    "show_images",
    "summary_table",
]


def _history_dict(history_or_result) -> Mapping[str, Sequence[float]]:
    """The ``{"loss": [...], ...}`` dict of a TrainResult, a Keras History or a plain dict."""
    history = getattr(history_or_result, "history", history_or_result)
    if not isinstance(history, Mapping):
        raise TypeError(
            "plot_history expects a course.train.TrainResult, a keras History or a dict of lists, "
            f"got {type(history_or_result).__name__}."
        )
    return history


def plot_history(history_or_result, metrics: Sequence[str] = ("accuracy", "loss"), title: str | None = None) -> Figure:
    """Training curves: one panel per metric, training and (if recorded) validation values per epoch.

    Args:
        history_or_result: what :func:`course.train.fit` returned, a Keras
            ``History`` or its ``.history`` dict.
        metrics: metric names to plot (without the ``val_`` prefix). Names that
            were not recorded are skipped; if none was, ``KeyError``.
        title: the figure's title (default: "Training history").
    """
    history = _history_dict(history_or_result)
    present = [m for m in metrics if m in history]
    if not present:
        raise KeyError(f"none of the metrics {list(metrics)} was recorded; the history has {sorted(history)}.")
    fig, axes = plt.subplots(1, len(present), figsize=(5 * len(present), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], present, strict=False):
        values = history[metric]
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, marker="o", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or "Training history")
    fig.tight_layout()
    return fig


def plot_runs(runs: Mapping[str, object], metric: str = "accuracy", title: str | None = None) -> Figure:
    """Several runs' training and validation curves of one ``metric``, one panel per run, on shared axes.

    ``runs`` maps a run's name to what :func:`course.train.fit` returned (or a history dict). The shared
    y axis makes the gaps between training and validation comparable from panel to panel; the GoogLeNet
    assignment (Q9) shows its overfitting, underfitting and regularised runs this way.
    """
    if not runs:
        raise ValueError("plot_runs needs at least one run")
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4), sharey=True, squeeze=False)
    for ax, (name, run) in zip(axes[0], runs.items(), strict=False):
        history = _history_dict(run)
        if metric not in history:
            raise KeyError(f"run {name!r} recorded no {metric!r}; it has {sorted(history)}.")
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], marker="o", markersize=3, label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="o", markersize=3, label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(metric.replace("_", " "))
    axes[0][0].legend()
    fig.suptitle(title or f"Training and validation {metric.replace('_', ' ')}")
    fig.tight_layout()
    return fig


def plot_accuracy_against_time(
    runs: Mapping[str, object],
    metric: str = "val_accuracy",
    target: float | None = None,
    budget_s: float | None = None,
    title: str | None = None,
) -> Figure:
    """Each run's ``metric`` after every epoch against the minutes of training so far (a time frontier).

    ``runs`` maps names to :class:`course.train.TrainResult` objects (their ``epoch_times_s`` give the
    time axis). ``target`` draws a horizontal line (an accuracy to reach) and ``budget_s`` a vertical one
    (the time allowed). The GoogLeNet assignment (Q9) reads its run this way: what accuracy each minute
    of CPU bought.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, run in runs.items():
        times = getattr(run, "epoch_times_s", None)
        history = _history_dict(run)
        if not times or metric not in history:
            raise ValueError(f"run {name!r} needs epoch_times_s and a recorded {metric!r} (a TrainResult).")
        minutes = np.cumsum(times) / 60.0
        ax.plot(minutes, history[metric][: len(minutes)], marker="o", label=name)
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    if budget_s is not None:
        ax.axvline(budget_s / 60.0, color="grey", linestyle=":", linewidth=1, label=f"{budget_s / 60:g} min budget")
    ax.set_xlabel("training time (minutes)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or f"{metric.replace('_', ' ')} against training time")
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true, y_pred, class_names: Sequence[str] | None = None, normalize: bool = True, title: str | None = None
) -> Figure:
    """A confusion matrix as a heat map, rows = true class, columns = predicted class.

    With ``normalize`` each row is divided by its total, so a cell is the
    fraction of that true class given that prediction and the diagonal holds
    each class's recall; otherwise cells are counts. The plotted matrix is in
    ``fig.axes[0].images[0].get_array()``.
    """
    n = len(class_names) if class_names is not None else None
    counts = confusion_matrix(y_true, y_pred, num_classes=n)
    n = counts.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    else:
        values = counts
    size = max(4.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class" if normalize else "count")
    ax.set_xticks(
        range(n),
        names,
        rotation=45 if max(map(len, names)) > 2 else 0,
        ha="right" if max(map(len, names)) > 2 else "center",
    )
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 20:
        threshold = (values.max() if values.size else 0) / 2
        for i in range(n):
            for j in range(n):
                text = f"{values[i, j]:.2f}" if normalize else f"{values[i, j]:d}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if values[i, j] > threshold else "black",
                )
    accuracy = np.trace(counts) / max(1, counts.sum())
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.2%})")
    fig.tight_layout()
    return fig


def show_images(
    images,
    labels: Sequence | None = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """A grid of images, each captioned with its label.

    Args:
        images: ``(n, h, w)``, ``(n, h, w, 1)`` or ``(n, h, w, 3)``; integers
            (0..255) or floats. Single-channel images are drawn in grey, each
            scaled to its own min..max, so feature maps and filters with
            negative values show too.
        labels: one caption per image (numbers or strings); with
            ``class_names``, integer labels are shown as class names.
        class_names: names indexed by label.
        ncols: images per row.
        title: the figure's title (default: "n images").
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (3, 4)):
        raise ValueError(f"expected images shaped (n, h, w), (n, h, w, 1) or (n, h, w, 3); got {images.shape}.")
    n = len(images)
    if n == 0:
        raise ValueError("show_images needs at least one image.")
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {n} images but {len(labels)} labels.")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    caption_lines = 0 if labels is None else max(str(label).count("\n") + 1 for label in labels)
    row_height = 1.5 + 0.2 * caption_lines
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.5 * ncols, row_height * nrows + 0.8), squeeze=False, layout="constrained"
    )
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(images[i], cmap="gray" if images.ndim == 3 else None)
        if labels is not None:
            label = labels[i]
            if class_names is not None and isinstance(label, (int, np.integer)):
                label = class_names[int(label)]
            ax.set_title(str(label), fontsize=9)
    h, w = images.shape[1:3]
    fig.suptitle(title or f"{n} image{'s' if n != 1 else ''}")
    fig.supxlabel(f"{w} pixels wide per image", fontsize=9)
    fig.supylabel(f"{h} pixels high", fontsize=9)
    return fig


def summary_table(model) -> pd.DataFrame:
    """One row per layer of ``model.layers``: name, type, output shape and parameter count.

    Output shapes leave out the batch dimension (``28x28x6``). The total of
    the "parameters" column (trainable and non-trainable) is
    ``table.attrs["total_parameters"]`` and equals ``model.count_params()``;
    ``table.attrs["trainable_parameters"]`` counts the trainable ones.
    """
    rows = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
            out = "x".join("?" if d is None else str(d) for d in shape[1:]) if shape is not None else "?"
        except (AttributeError, ValueError):  # a layer that was never called has no output yet
            out = "?"
        rows.append((layer.name, type(layer).__name__, out, int(layer.count_params()) if layer.built else 0))
    table = pd.DataFrame(rows, columns=["layer", "type", "output shape", "parameters"])
    table.attrs["total_parameters"] = int(table["parameters"].sum())
    table.attrs["trainable_parameters"] = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    return table


def grad_cam(model, images, layer_name: str | None = None, class_index=None) -> np.ndarray:
    """Grad-CAM heat maps: where in each image the evidence for a class lies (lecture 10).

    Grad-CAM (Selvaraju et al., 2017, "Grad-CAM: visual explanations from deep networks via
    gradient-based localization", ICCV) weighs each channel of a convolutional layer's activations by
    the mean gradient of the class's score with respect to it (:func:`course.gradients.activation_gradients`),
    sums the weighted channels and keeps the positive part (ReLU): the places whose features raise the
    class's score. The map, as coarse as the layer (7x7 for VGG16's last block), is resized (bilinear)
    to the input's size and scaled so each image's peak is 1.

    Args:
        model: a functional or sequential Keras model with one (channels-last) image input.
        images: ``(n, H, W, C)``, or one image ``(H, W, C)``, as the model takes them.
        layer_name: the layer to look at (default: the last layer with a 4-D output, usually the last
            convolution, or a nested pretrained base).
        class_index: the class to explain: an int, one per image, or ``None`` for each image's
            predicted class.

    Returns:
        ``(n, H, W)`` floats in ``[0, 1]``. A map with no positive evidence stays all zero. Draw them
        over the images with :func:`plot_grad_cam`.
    """
    import keras

    from course import gradients

    images = np.asarray(images)
    if images.ndim == len(model.inputs[0].shape) - 1:  # one image
        images = images[None]
    if layer_name is None:
        candidates = gradients.feature_map_layers(model)
        if not candidates:
            raise ValueError(f"model {model.name!r} has no layer with a 4-D output (feature maps) for Grad-CAM.")
        layer_name = candidates[-1]
    activations, grads = gradients.activation_gradients(model, layer_name, images, class_index)
    if activations.ndim != 4:
        raise ValueError(
            f"Grad-CAM needs a layer with 4-D output (n, h, w, channels); {layer_name!r} gives "
            f"{activations.shape}. Layers that do: {gradients.feature_map_layers(model)}."
        )
    weights = grads.mean(axis=(1, 2))  # (n, channels): each channel's importance for the class
    cams = np.maximum(np.einsum("nhwc,nc->nhw", activations, weights), 0.0)
    size = images.shape[1:3]
    cams = keras.ops.image.resize(cams[..., None], size, interpolation="bilinear", data_format="channels_last")
    cams = np.maximum(keras.ops.convert_to_numpy(cams)[..., 0].astype(np.float64), 0.0)
    peaks = cams.max(axis=(1, 2), keepdims=True)
    return np.divide(cams, peaks, out=np.zeros_like(cams), where=peaks > 0).clip(0.0, 1.0)


def plot_grad_cam(images, heatmaps, titles: Sequence[str] | None = None, alpha: float = 0.4, ncols: int = 6) -> Figure:
    """Heat maps (from :func:`grad_cam`) drawn over their images, one panel per image (lecture 10).

    ``images`` are ``(n, H, W)``, ``(n, H, W, 1)`` (drawn in grey) or ``(n, H, W, 3)`` (colour), each
    scaled to its own min..max; ``heatmaps`` are ``(n, h, w)`` in ``[0, 1]``, stretched over their image
    if their size differs. Red marks where the evidence for the class lies; ``alpha`` is the heat map's
    opacity. ``titles`` gives each panel a caption (e.g. true and predicted class). The figure has one
    axes per image.
    """
    images, heatmaps = np.asarray(images), np.asarray(heatmaps, dtype=float)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise ValueError(f"expected images shaped (n, h, w), (n, h, w, 1) or (n, h, w, 3); got {images.shape}.")
    if heatmaps.ndim == 2:
        heatmaps = heatmaps[None]
    n = len(images)
    if n == 0 or heatmaps.ndim != 3 or len(heatmaps) != n:
        raise ValueError(f"expected one (h, w) heat map per image: {n} images, heat maps {heatmaps.shape}.")
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles.")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 2.4 * nrows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        image = images[i].astype(float)
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        h, w = image.shape[:2]
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        ax.imshow(heatmaps[i], cmap="jet", alpha=alpha, vmin=0, vmax=1, extent=(-0.5, w - 0.5, h - 0.5, -0.5))
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    fig.suptitle("Grad-CAM: red marks the regions that raise the class's score")
    fig.tight_layout()
    return fig
