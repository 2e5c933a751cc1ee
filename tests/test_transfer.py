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


def test_per_class_with_a_seed_draws_n_of_each_class_reproducibly():
    labels = np.repeat([0, 1, 2], 20)
    a, b = transfer.per_class(labels, 5, seed=1), transfer.per_class(labels, 5, seed=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.bincount(labels[a]), [5, 5, 5])
    assert not np.array_equal(a, transfer.per_class(labels, 5, seed=2))
    assert not np.array_equal(a, transfer.per_class(labels, 5))  # not simply the first five
    np.testing.assert_array_equal(transfer.per_class(labels, None, seed=3), np.arange(60))


def test_pooled_gives_each_layers_mean_in_its_slice():
    base = chain()
    model, slices = transfer.pooled(base, ("p1", "p2"))
    out = model.predict(IMAGES, verbose=0)
    assert out.shape == (10, 4 + 6) and slices == {"p1": slice(0, 4), "p2": slice(4, 10)}
    p1 = keras.Model(base.inputs, base.get_layer("p1").output).predict(IMAGES, verbose=0)
    np.testing.assert_allclose(out[:, slices["p1"]], p1.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    single, only = transfer.pooled(base, "p2")
    assert single.output_shape == (None, 6) and only == {"p2": slice(0, 6)}


def test_head_pools_maps_but_not_vectors():
    on_maps, on_vectors = transfer.head((4, 4, 512), 5), transfer.head((512,), 5)
    assert [type(la).__name__ for la in on_maps.layers] == ["GlobalAveragePooling2D", "Dense", "Dropout", "Dense"]
    assert on_maps.count_params() == on_vectors.count_params() == 512 * 256 + 256 + 256 * 5 + 5
    assert on_vectors.output_shape == (None, 5)


def test_epochs_for_small_sets_see_at_least_the_minimum():
    assert transfer.epochs_for(25, 8, 2_000) == 80
    assert transfer.epochs_for(2_318, 8, 2_000) == 8
    assert transfer.epochs_for(10, 3) == 3


def test_fit_and_score_learns_a_separable_task():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    net = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    accuracy = transfer.fit_and_score(net, (x[:150], y[:150]), (x[150:], y[150:]), lr=0.05, epochs=20, seed=0)
    assert accuracy > 0.9


def test_resized_keeps_uint8_and_leaves_the_right_size_alone():
    photos = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    assert transfer.resized(photos, 8) is photos
    small = transfer.resized(photos, 4)
    assert small.shape == (3, 4, 4, 3) and small.dtype == np.uint8
    flat = np.full((1, 8, 8, 3), 77, np.uint8)
    assert (transfer.resized(flat, 5) == 77).all()


def test_transplant_copies_and_freezes_only_the_first_blocks():
    from course import models

    source = models.vgg(11, (32, 32, 3), 5, 0.125, include_top=False, batch_norm=True)
    keras.utils.set_random_seed(7)
    target = models.vgg(11, (32, 32, 3), 5, 0.125, include_top=False, batch_norm=True)
    transfer.transplant(source, target, blocks=2, freeze=True)
    for layer in target.layers:
        if not layer.weights:
            continue
        theirs = source.get_layer(layer.name).get_weights()
        same = all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), theirs, strict=True))
        early = layer.name.startswith(("block1_", "block2_"))
        assert same == early or "bn" in layer.name  # fresh batch norms start equal anyway
        assert layer.trainable == (not early)
    conv3 = target.get_layer("block3_conv1").get_weights()[0]
    assert not np.array_equal(conv3, source.get_layer("block3_conv1").get_weights()[0])
    with pytest.raises(ValueError, match="no layers named"):
        transfer.transplant(source, chain(), blocks=1, freeze=False)
