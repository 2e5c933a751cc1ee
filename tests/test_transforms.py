"""Tests for course.transforms: the shifts and permutations (pure NumPy), and the X-ray augmentation (Keras)
and contrast equalisation (scikit-image) of lecture 10."""

import numpy as np
import pytest

from course.transforms import inverse_permutation, permute_pixels, pixel_permutation, shift_images


def _ramp(n=2, h=5, w=6, channels=None):
    shape = (n, h, w) if channels is None else (n, h, w, channels)
    return np.arange(np.prod(shape), dtype=np.int32).reshape(shape) + 1  # no zeros, so fill is detectable


def test_zero_shift_is_a_copy():
    x = _ramp()
    y = shift_images(x, 0, 0)
    assert np.array_equal(x, y)
    assert y is not x and not np.shares_memory(x, y)


@pytest.mark.parametrize("dx, dy", [(1, 0), (-2, 0), (0, 3), (0, -1), (2, -3), (-1, 4)])
def test_shift_moves_pixels_and_fills_border(dx, dy):
    x = _ramp()
    y = shift_images(x, dx, dy)
    h, w = x.shape[1:3]
    for r in range(h):
        for c in range(w):
            r0, c0 = r - dy, c - dx  # where the output pixel came from
            expected = x[:, r0, c0] if (0 <= r0 < h and 0 <= c0 < w) else np.zeros_like(x[:, 0, 0])
            assert np.array_equal(y[:, r, c], expected)


def test_shift_direction_convention():
    x = np.zeros((1, 4, 4), np.uint8)
    x[0, 1, 1] = 255
    assert shift_images(x, dx=2)[0, 1, 3] == 255  # right
    assert shift_images(x, dy=2)[0, 3, 1] == 255  # down
    assert shift_images(x, dx=-1, dy=-1)[0, 0, 0] == 255  # up-left


def test_shift_keeps_shape_dtype_channels_and_fill():
    x = _ramp(channels=3).astype(np.float32)
    y = shift_images(x, 1, 1, fill=-1.0)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.all(y[:, 0] == -1.0) and np.all(y[:, :, 0] == -1.0)
    assert np.array_equal(y[:, 1:, 1:], x[:, :-1, :-1])


def test_shift_past_the_border_leaves_only_fill():
    x = _ramp()
    assert not shift_images(x, dx=x.shape[2]).any()
    assert not shift_images(x, dy=-x.shape[1]).any()


def test_shift_rejects_non_batches():
    with pytest.raises(ValueError):
        shift_images(np.zeros((4, 4)), 1, 0)


def test_permutation_is_a_reproducible_permutation():
    p = pixel_permutation(28, 28, seed=3)
    assert np.array_equal(np.sort(p), np.arange(784))
    assert np.array_equal(p, pixel_permutation(28, 28, seed=3))
    assert not np.array_equal(p, pixel_permutation(28, 28, seed=4))


@pytest.mark.parametrize("channels", [None, 2])
def test_permute_pixels_moves_whole_pixels_and_inverts(channels):
    x = _ramp(n=3, channels=channels)
    h, w = x.shape[1:3]
    p = pixel_permutation(h, w, seed=0)
    y = permute_pixels(x, p)
    assert y.shape == x.shape and y.dtype == x.dtype
    flat_x = x.reshape(3, h * w, -1)
    flat_y = y.reshape(3, h * w, -1)
    assert np.array_equal(flat_y[:, 0], flat_x[:, p[0]])
    assert np.array_equal(flat_y, flat_x[:, p])
    # same multiset of values per image: information is kept
    assert np.array_equal(np.sort(y.reshape(3, -1), axis=1), np.sort(x.reshape(3, -1), axis=1))
    assert np.array_equal(permute_pixels(y, inverse_permutation(p)), x)


def test_permute_pixels_rejects_wrong_permutations():
    x = _ramp()
    with pytest.raises(ValueError):
        permute_pixels(x, np.arange(10))
    with pytest.raises(ValueError):
        permute_pixels(x, np.zeros(30, dtype=int))


def _xrays(n=4, size=128, seed=0):
    """Float grey levels 0-255 shaped (n, size, size, 1): a bright disc (a chest) on a dark field, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2.5) ** 2 < (size / 3) ** 2) * 150.0
    images = disc + 40 + rng.normal(0, 10, (n, size, size))
    return np.clip(images, 0, 255).astype(np.float32)[..., None]


def test_xray_augmentation_changes_images_in_training_only():
    from course.transforms import xray_augmentation

    augment = xray_augmentation(seed=0)
    x = _xrays()
    trained = np.asarray(augment(x, training=True))
    assert trained.shape == x.shape and trained.dtype == np.float32
    assert trained.min() >= 0 and trained.max() <= 255
    assert not np.allclose(trained, x)
    inferred = np.asarray(augment(x, training=False))
    assert inferred.shape == x.shape and inferred.dtype == np.float32
    np.testing.assert_array_equal(inferred, x)


def test_xray_augmentation_has_the_right_layers_and_no_flip():
    from course.transforms import xray_augmentation

    names = [type(layer).__name__ for layer in xray_augmentation().layers]
    assert names == ["RandomRotation", "RandomTranslation", "RandomZoom", "RandomContrast", "RandomErasing"]
    assert "RandomFlip" not in names
    assert "RandomErasing" not in [type(layer).__name__ for layer in xray_augmentation(erasing=False).layers]
    assert "flip" in xray_augmentation.__doc__.lower() and "heart" in xray_augmentation.__doc__


def test_equalize_spreads_a_low_contrast_image_deterministically():
    from course.transforms import equalize

    rng = np.random.default_rng(0)
    dim = (_xrays(n=3, size=64)[..., 0] * 0.15 + 90).astype(np.uint8)  # grey levels squeezed into 90-128
    out = equalize(dim)
    assert out.shape == dim.shape and out.dtype == np.uint8
    assert out.std() > 2 * dim.std()
    np.testing.assert_array_equal(out, equalize(dim))
    np.testing.assert_array_equal(dim, (_xrays(n=3, size=64)[..., 0] * 0.15 + 90).astype(np.uint8))  # input kept
    assert equalize(dim[..., None]).shape == dim.shape + (1,)
    blank = np.full((1, 32, 32), 128, np.uint8)
    np.testing.assert_array_equal(equalize(blank), blank)
    with pytest.raises(ValueError, match="uint8"):
        equalize(rng.random((2, 32, 32)))
