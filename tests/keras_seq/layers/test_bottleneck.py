import keras
import numpy as np
import pytest

from keras_seq.layers import Bottleneck1x1


def test_is_a_1x1_convolution_followed_by_the_activation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 5, 8)).astype(np.float32)
    layer = Bottleneck1x1(3, bias_initializer="random_normal")
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (1, 1, 8, 3)  # c_o x c_i x 1 x 1, channels last
    np.testing.assert_allclose(y, np.maximum(x @ kernel[0, 0] + bias, 0), rtol=1e-5, atol=1e-5)
    assert layer.count_params() == 8 * 3 + 3


def test_weights_move_to_keras_conv2d():
    x = np.random.default_rng(1).normal(size=(1, 4, 4, 6)).astype(np.float32)
    ours = Bottleneck1x1(2, activation="tanh")
    theirs = keras.layers.Conv2D(2, 1, activation="tanh")
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-6)


def test_linear_is_refused_because_it_could_be_folded():
    for activation in (None, "linear", keras.activations.linear):
        with pytest.raises(ValueError, match="folded into the next convolution.*allow_linear=True"):
            Bottleneck1x1(4, activation=activation)


def test_linear_on_purpose_is_allowed():
    layer = Bottleneck1x1(4, activation=None, allow_linear=True)
    x = np.random.default_rng(2).normal(size=(1, 3, 3, 5)).astype(np.float32)
    y = layer(x)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(y, x @ kernel[0, 0] + bias, rtol=1e-5, atol=1e-5)


def test_bad_filters_are_refused():
    for filters in (0, -2, 2.5, "4", True):
        with pytest.raises(ValueError, match="filters="):
            Bottleneck1x1(filters)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="ndim=4|rows, cols, channels"):
        Bottleneck1x1(2)(np.zeros((4, 4), np.float32))
    layer = Bottleneck1x1(2)
    layer(np.zeros((1, 4, 4, 6), np.float32))
    with pytest.raises(ValueError, match="axis -1|incompatible"):
        layer(np.zeros((1, 4, 4, 5), np.float32))
