"""The VGG16 transfer assignment's checks (course.grading.vgg16_transfer): each passes a correct answer and
fails the mistakes it exists to catch."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from course import transfer
from course.grading import vgg16_transfer as grading


def good_preprocess(images):
    return keras.applications.vgg16.preprocess_input(np.array(images, dtype="float32"))


def test_preprocess_check_passes_keras_and_names_the_usual_mistakes():
    grading.check_preprocess(good_preprocess)
    with pytest.raises(AssertionError, match="no scaling"):
        grading.check_preprocess(lambda x: np.asarray(x, "float32") / 255.0)
    with pytest.raises(AssertionError, match="wrong order"):
        grading.check_preprocess(lambda x: good_preprocess(x)[..., ::-1])
    with pytest.raises(AssertionError, match="float32"):
        grading.check_preprocess(lambda x: good_preprocess(x).astype("float64"))


def test_preprocess_that_works_in_place_is_caught():
    def in_place(images):
        images[...] = 0
        return good_preprocess(images)

    with pytest.raises(AssertionError, match="changed the images"):
        grading.check_preprocess(in_place)


def head(units=256, rate=0.5, pool=keras.layers.GlobalAveragePooling2D, input_shape=grading.HEAD_INPUT):
    return keras.Sequential(
        [
            keras.Input(input_shape),
            pool(),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )


def test_head_check():
    assert grading.head_parameters() == 132_613
    grading.check_head(head())
    grading.check_head(head(input_shape=(2, 2, 512)), (2, 2, 512))
    with pytest.raises(AssertionError, match="256 units"):
        grading.check_head(head(units=128))
    with pytest.raises(AssertionError, match="dropout rate"):
        grading.check_head(head(rate=0.2))
    with pytest.raises(AssertionError, match="layers are"):
        grading.check_head(head(pool=keras.layers.Flatten))


@pytest.fixture(scope="module")
def base():
    return keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))


def whole(base_model):
    image = keras.Input((64, 64, 3))
    return keras.Model(image, head(input_shape=(2, 2, 512))(base_model(image)))


def test_trainable_counts_for_both_stages(base):
    base.trainable = False
    model = whole(base)
    grading.check_trainable(model, grading.head_parameters(), "stage 1", reported=grading.head_parameters())
    with pytest.raises(AssertionError, match="measure it"):
        grading.check_trainable(model, grading.head_parameters(), "stage 1", reported=123)
    base.trainable = True
    with pytest.raises(AssertionError, match="stage 1"):
        grading.check_trainable(model, grading.head_parameters(), "stage 1")
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block5")
    assert transfer.trainable_parameters(base) == grading.BLOCK5_PARAMETERS == 7_079_424
    grading.check_trainable(model, grading.BLOCK5_PARAMETERS + grading.head_parameters(), "stage 2")


def test_last_block_check():
    def right(b):
        b.trainable = True
        for layer in b.layers:
            layer.trainable = layer.name.startswith("block5")
        return b

    def everything(b):
        b.trainable = True
        return b

    def forgets_the_model_flag(b):  # the model stays frozen, so in Keras 3 no layer trains
        for layer in b.layers:
            layer.trainable = layer.name.startswith("block5")
        return b

    grading.check_last_block(right)
    with pytest.raises(AssertionError, match="block1_conv1"):
        grading.check_last_block(everything)
    with pytest.raises(AssertionError, match="0 parameters are trainable"):
        grading.check_last_block(forgets_the_model_flag)
    with pytest.raises(AssertionError, match="return the base"):
        grading.check_last_block(lambda b: None)


def test_learning_rates():
    grading.check_learning_rates(1e-3, 1e-4)
    with pytest.raises(AssertionError, match="ten times lower"):
        grading.check_learning_rates(1e-3, 1e-3)


def test_comparison_check():
    sizes = (10, 50, None)
    curve = pd.DataFrame(
        {
            "10": {"scratch": 0.3, "head only": 0.4, "fine-tuned": 0.38},
            "50": dict.fromkeys(grading.METHODS, 0.5),
            "all": dict.fromkeys(grading.METHODS, 0.7),
        }
    ).T
    grading.check_comparison(curve, sizes)
    worse = curve.copy()
    worse.loc["10", "scratch"] = 0.45
    with pytest.raises(AssertionError, match="does not beat"):
        grading.check_comparison(worse, sizes)
    with pytest.raises(AssertionError, match="no column 'scratch'"):
        grading.check_comparison(curve.drop(columns="scratch"), sizes)
    with pytest.raises(AssertionError, match="no row 50"):
        grading.check_comparison(curve.drop(index="50"), sizes)
    percent = curve * 100
    with pytest.raises(AssertionError, match="fractions"):
        grading.check_comparison(percent, sizes)
    assert [grading.size_label(n) for n in sizes] == ["10", "50", "all"]


def test_transfer_must_win_except_in_a_full_run_on_the_offline_weights(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    assert grading.transfer_must_win("imagenet") and not grading.transfer_must_win("kit")
    assert grading.transfer_must_win("kit", smoke_flag=True)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading.transfer_must_win("kit")
    scratch_ahead = pd.DataFrame({"10": {"scratch": 0.45, "head only": 0.34, "fine-tuned": 0.38}}).T
    grading.check_comparison(scratch_ahead, (10,), transfer_must_win=False)
    with pytest.raises(AssertionError, match="does not beat"):
        grading.check_comparison(scratch_ahead, (10,), transfer_must_win=True)
