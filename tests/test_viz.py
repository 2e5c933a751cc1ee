"""course.viz: every figure has a title and axis labels; the confusion matrix and layer table are right."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from course import viz


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def titled(fig):
    return bool(fig._suptitle and fig._suptitle.get_text()) or any(ax.get_title() for ax in fig.axes)


def labelled_axes(fig):
    """Axes that draw data (not colour bars) and have both axis labels."""
    return [ax for ax in fig.axes if ax.get_xlabel() and ax.get_ylabel()]


HISTORY = {
    "loss": [1.0, 0.5, 0.3],
    "accuracy": [0.6, 0.8, 0.9],
    "val_loss": [1.1, 0.6, 0.5],
    "val_accuracy": [0.5, 0.7, 0.8],
}


def test_plot_history_accepts_dicts_and_results():
    from course.train import TrainResult

    fig = viz.plot_history(HISTORY, title="LeNet-5")
    assert isinstance(fig, Figure) and fig._suptitle.get_text() == "LeNet-5"
    assert len(fig.axes) == 2 and len(labelled_axes(fig)) == 2
    acc_ax = fig.axes[0]
    assert acc_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy"
    lines = {line.get_label(): line for line in acc_ax.get_lines()}
    assert set(lines) == {"training", "validation"}
    np.testing.assert_allclose(lines["validation"].get_ydata(), HISTORY["val_accuracy"])
    np.testing.assert_allclose(lines["training"].get_xdata(), [1, 2, 3])

    result = TrainResult(history={"loss": [0.4], "accuracy": [0.9]}, wall_time_s=1.0, epoch_times_s=[1.0], epochs=1)
    fig = viz.plot_history(result, metrics=("accuracy", "loss", "auc"))  # unrecorded "auc" is skipped
    assert titled(fig) and len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 1
    with pytest.raises(KeyError):
        viz.plot_history(HISTORY, metrics=("auc",))


def test_confusion_matrix_counts_a_known_example():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    expected = np.array([[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    np.testing.assert_array_equal(viz.confusion_matrix(y_true, y_pred), expected)
    scores = np.eye(3)[y_pred] * 0.9  # predicted probabilities give the same counts
    np.testing.assert_array_equal(viz.confusion_matrix(y_true, scores), expected)
    np.testing.assert_array_equal(viz.confusion_matrix([0], [0], num_classes=3), np.diag([1, 0, 0]))

    fig = viz.plot_confusion_matrix(y_true, y_pred, normalize=False)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), expected)
    assert "accuracy 66.67%" in fig.axes[0].get_title()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"

    fig = viz.plot_confusion_matrix(y_true, y_pred, class_names=["cat", "dog", "fox"], title="pets")
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, expected / expected.sum(axis=1, keepdims=True))
    assert fig.axes[0].get_title() == "pets"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["cat", "dog", "fox"]


def test_show_images_captions_and_grid():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 28, 28, 1), dtype=np.uint8)
    fig = viz.show_images(
        images, labels=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], class_names=list("abcdefghij"), ncols=4, title="digits"
    )
    assert fig._suptitle.get_text() == "digits"
    assert fig._supxlabel.get_text() and fig._supylabel.get_text()
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 12 and len(drawn) == 10  # 3 rows of 4, two empty
    assert [ax.get_title() for ax in drawn] == list("abcdefghij")
    np.testing.assert_array_equal(drawn[3].images[0].get_array(), images[3, ..., 0])

    maps = rng.normal(size=(3, 5, 5)).astype("float32")  # feature maps: any range, string labels
    fig = viz.show_images(maps, labels=["x", "y", "z"])
    assert titled(fig) and [ax.get_title() for ax in fig.axes] == ["x", "y", "z"]
    with pytest.raises(ValueError):
        viz.show_images(maps, labels=[1, 2])


def test_summary_table_matches_the_model():
    keras = pytest.importorskip("keras")
    from course import models

    for model in (models.lenet5(), models.lenet5(modern=True, batch_norm=True), models.mlp()):
        table = viz.summary_table(model)
        assert list(table.columns) == ["layer", "type", "output shape", "parameters"]
        assert list(table["layer"]) == [layer.name for layer in model.layers]
        assert list(table["parameters"]) == [layer.count_params() for layer in model.layers]
        assert table.attrs["total_parameters"] == model.count_params()
    table = viz.summary_table(models.lenet5()).set_index("layer")
    assert table.loc["C1", "output shape"] == "28x28x6" and table.loc["C1", "type"] == "Conv2D"
    assert table.loc["C5", "parameters"] == 48_120
    assert table.attrs["trainable_parameters"] == 61_706
    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert viz.summary_table(sequential).to_dict("list") == {
        "layer": [sequential.layers[0].name],
        "type": ["Dense"],
        "output shape": ["3"],
        "parameters": [15],
    }
