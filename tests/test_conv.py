"""course.conv: the from-scratch convolutions of lecture 01b, against loops, Keras and each other."""

import numpy as np
import pytest

from course import conv


def _naive_corr2d(x, k, stride=1):
    """The definition, one output position at a time."""
    kh, kw = k.shape
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    y = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[i, j] = np.sum(x[i * stride : i * stride + kh, j * stride : j * stride + kw] * k)
    return y


def test_corr2d_on_the_textbook_example():
    x = np.arange(9.0).reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert np.array_equal(conv.corr2d(x, k), [[19.0, 25.0], [37.0, 43.0]])


@pytest.mark.parametrize("shape, kernel, stride", [((7, 9), (3, 3), 1), ((8, 6), (2, 3), 2), ((5, 5), (5, 5), 1)])
def test_corr2d_matches_the_definition(shape, kernel, stride):
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=shape), rng.normal(size=kernel)
    assert np.allclose(conv.corr2d(x, k, stride=stride), _naive_corr2d(x, k, stride))


def test_padding_adds_zeros_on_each_side():
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(6, 5)), rng.normal(size=(3, 3))
    padded = np.pad(x, ((1, 1), (2, 2)))
    assert np.allclose(conv.corr2d(x, k, padding=(1, 2)), _naive_corr2d(padded, k))


@pytest.mark.parametrize("n, k, p, s", [(28, 5, 0, 1), (32, 3, 1, 1), (224, 11, 2, 4), (7, 3, 0, 2), (8, 3, 1, 3)])
def test_output_size_is_the_shape_corr2d_returns(n, k, p, s):
    y = conv.corr2d(np.zeros((n, n)), np.ones((k, k)), padding=p, stride=s)
    assert y.shape == (conv.output_size(n, k, p, s),) * 2


def test_output_size_refuses_kernels_that_do_not_fit():
    with pytest.raises(ValueError):
        conv.output_size(3, 5)
    with pytest.raises(ValueError):
        conv.output_size(5, 3, stride=0)


def test_conv2d_flips_the_kernel():
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1.0
    k = np.arange(1.0, 10.0).reshape(3, 3)
    assert np.array_equal(conv.conv2d(impulse, k, padding=1)[1:4, 1:4], k)  # convolution: the kernel itself
    assert np.array_equal(conv.corr2d(impulse, k, padding=1)[1:4, 1:4], k[::-1, ::-1])  # correlation: flipped


def test_multi_channel_versions_add_channels_and_stack_outputs():
    rng = np.random.default_rng(2)
    x, k, b = rng.normal(size=(6, 7, 3)), rng.normal(size=(3, 3, 3, 4)), rng.normal(size=4)
    y = conv.corr2d_multi_in_out(x, k, b)
    assert y.shape == (4, 5, 4)
    for o in range(4):
        expected = sum(_naive_corr2d(x[..., c], k[..., c, o]) for c in range(3)) + b[o]
        assert np.allclose(y[..., o], expected)
    with pytest.raises(ValueError):
        conv.corr2d_multi_in(x, k[..., 0][..., :2])


def test_one_by_one_convolution_is_a_matrix_product_per_pixel():
    rng = np.random.default_rng(3)
    x, k = rng.normal(size=(4, 5, 3)), rng.normal(size=(1, 1, 3, 2))
    assert np.allclose(conv.corr2d_multi_in_out(x, k), x @ k[0, 0])


def test_dense_matrix_computes_the_same_as_corr2d():
    rng = np.random.default_rng(4)
    x, k = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    w = conv.dense_matrix(k, 6, 7)
    assert w.shape == (42, 4 * 6)
    assert np.allclose(x.reshape(-1) @ w, conv.corr2d(x, k).reshape(-1))
    assert np.count_nonzero(w) == 4 * 6 * k.size  # each output reads only its window


def test_kernel_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    x, y, k = rng.normal(size=(8, 8)), rng.normal(size=(6, 6)), rng.normal(size=(3, 3))
    loss, grad = conv.kernel_gradient(x, y, k)
    eps = 1e-6
    numeric = np.zeros_like(k)
    for index in np.ndindex(k.shape):
        step = np.zeros_like(k)
        step[index] = eps
        numeric[index] = (conv.kernel_gradient(x, y, k + step)[0] - conv.kernel_gradient(x, y, k - step)[0]) / (2 * eps)
    assert loss == pytest.approx(np.mean((conv.corr2d(x, k) - y) ** 2))
    assert np.allclose(grad, numeric, atol=1e-6)


def test_fit_kernel_recovers_a_known_kernel():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(20, 20))
    true = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    kernel, losses = conv.fit_kernel(x, conv.corr2d(x, true), true.shape, steps=200, learning_rate=0.1)
    assert len(losses) == 201 and losses[-1] < 1e-8 < losses[0]
    assert conv.relative_error(kernel, true) < 1e-4


def test_relative_error():
    assert conv.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert conv.relative_error([1.0, 2.2], [1.0, 2.0]) == pytest.approx(0.1)
    assert conv.relative_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError):
        conv.relative_error([1.0], [1.0, 2.0])


def test_corr2d_matches_keras_conv2d():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 9, 8, 3)).astype("float32")
    for strides, padding, pad in [(1, "valid", 0), (2, "valid", 0), (1, "same", 1)]:
        layer = keras.layers.Conv2D(4, 3, strides=strides, padding=padding)
        y = keras.ops.convert_to_numpy(layer(x))[0]
        kernel, bias = layer.get_weights()
        ours = conv.corr2d_multi_in_out(x[0], kernel, bias, padding=pad, stride=strides)
        assert ours.shape == y.shape
        assert conv.relative_error(ours, y) < 1e-5
