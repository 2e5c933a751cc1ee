"""course.transfer: splitting a chain-shaped base, and the feature cache (kept, keyed, refused when corrupt)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from course import transfer


def chain(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            layers.MaxPooling2D(name="p1"),
            layers.Conv2D(6, 3, padding="same", activation="relu", name="c2"),
            layers.MaxPooling2D(name="p2"),
        ],
        name="tiny",
    )


@pytest.fixture
def cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras"


IMAGES = np.random.default_rng(1).random((10, 8, 8, 3), dtype=np.float32)


def test_split_composes_to_the_base_and_shares_its_weights():
    base = chain()
    bottom, top = transfer.split(base, "p1")
    assert bottom.output_shape[1:] == (4, 4, 4) and top.input_shape[1:] == (4, 4, 4)
    np.testing.assert_allclose(
        top.predict(bottom.predict(IMAGES, verbose=0), verbose=0), base.predict(IMAGES, verbose=0), rtol=1e-5
    )
    base.get_layer("c2").trainable = False
    assert transfer.trainable_parameters(top) == 0  # the same layer object: one flag
    assert transfer.trainable_parameters(base) == 4 * 27 + 4


def test_split_refuses_an_unknown_layer_and_a_branching_model():
    with pytest.raises(ValueError, match="no layer 'c9'"):
        transfer.split(chain(), "c9")
    x = keras.Input((8, 8, 3))
    a = layers.Conv2D(2, 1, name="a")(x)
    b = layers.Conv2D(2, 1, name="b")(x)
    fork = keras.Model(x, layers.Concatenate(name="join")([a, b]))
    with pytest.raises(ValueError, match="chain"):
        transfer.split(fork, "a")


def test_features_are_computed_once_then_read_back(cache_home):
    bottom, _ = transfer.split(chain(), "p1")
    first = transfer.cached_features(bottom, IMAGES, name="t", progress=False)
    assert not first.from_cache and first.path is not None and first.path.is_relative_to(cache_home)
    second = transfer.cached_features(bottom, IMAGES, name="t", progress=False)
    assert second.from_cache and second.seconds == pytest.approx(first.seconds)
    np.testing.assert_array_equal(second.values, first.values)
    np.testing.assert_allclose(first.values, bottom.predict(IMAGES, verbose=0), rtol=2e-3, atol=1e-3)
    assert "read from the cache" in str(second) and "computed now" in str(first)


def test_other_weights_or_other_images_are_other_entries(cache_home):
    bottom, _ = transfer.split(chain(0), "p1")
    transfer.cached_features(bottom, IMAGES, name="t", progress=False)
    assert not transfer.cached_features(transfer.split(chain(5), "p1")[0], IMAGES, name="t", progress=False).from_cache
    assert not transfer.cached_features(bottom, IMAGES[:5], name="t", progress=False).from_cache
    assert len(list((cache_home / transfer.CACHE_FOLDER).glob("t-*.npz"))) == 3


def test_a_corrupt_cache_file_is_computed_again(cache_home):
    bottom, _ = transfer.split(chain(), "p1")
    first = transfer.cached_features(bottom, IMAGES, name="t", progress=False)
    first.path.write_bytes(b"not an npz file")
    again = transfer.cached_features(bottom, IMAGES, name="t", progress=False)
    assert not again.from_cache
    np.testing.assert_array_equal(again.values, first.values)


def test_a_cache_that_cannot_be_written_only_costs_time(monkeypatch, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    monkeypatch.setenv("KERAS_HOME", str(blocked))
    bottom, _ = transfer.split(chain(), "p1")
    features = transfer.cached_features(bottom, IMAGES, name="t", progress=False)
    assert features.path is None and features.values.shape == (10, 4, 4, 4)


def test_per_class_takes_the_first_n_of_each_class_in_order():
    labels = np.array([2, 0, 1, 0, 2, 1, 0, 2])
    np.testing.assert_array_equal(transfer.per_class(labels, 1), [0, 1, 2])
    np.testing.assert_array_equal(transfer.per_class(labels, 2), [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(transfer.per_class(labels, None), np.arange(8))
    assert set(transfer.per_class(labels, 2)) <= set(transfer.per_class(labels, 3))
    with pytest.raises(ValueError):
        transfer.per_class(labels, 0)
