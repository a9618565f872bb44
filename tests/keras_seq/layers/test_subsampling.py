import keras
import numpy as np
import pytest

from keras_seq.layers import Subsampling2D, scaled_tanh


def test_average_times_coefficient_plus_bias_then_activation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 4, 3)).astype(np.float32)
    layer = Subsampling2D(2, activation="tanh")
    layer.build(x.shape)
    a, b = np.array([2.0, -0.5, 1.5], np.float32), np.array([0.1, 0.0, -0.3], np.float32)
    layer.set_weights([a, b])
    means = x.reshape(2, 3, 2, 2, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(layer(x), np.tanh(a * means + b), rtol=1e-5, atol=1e-6)


def test_lenet_s2_and_s4_parameter_counts():
    s2, s4 = Subsampling2D(2, activation=scaled_tanh), Subsampling2D(2, activation=scaled_tanh)
    assert tuple(s2.compute_output_shape((None, 28, 28, 6))) == (None, 14, 14, 6)
    s2.build((None, 28, 28, 6))
    s4.build((None, 10, 10, 16))
    assert (s2.count_params(), s4.count_params()) == (12, 32)  # 2 per map, as in the paper


def test_defaults_are_plain_average_pooling():
    x = np.random.default_rng(1).normal(size=(1, 7, 7, 2)).astype(np.float32)
    np.testing.assert_allclose(Subsampling2D(2)(x), keras.layers.AveragePooling2D(2)(x), rtol=1e-6, atol=1e-6)


def test_gradients_reach_the_coefficient_and_the_bias():
    import tensorflow as tf

    x = np.random.default_rng(2).normal(size=(3, 4, 6, 2)).astype(np.float32)
    layer = Subsampling2D(2)
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(x))
    d_coefficient, d_bias = tape.gradient(total, [layer.coefficient, layer.bias])
    # d/da_k sum y = sum of the block means of map k; d/db_k = number of blocks.
    means = x.reshape(3, 2, 2, 3, 2, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(d_coefficient, means.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d_bias, [3 * 2 * 3] * 2)


def test_bad_arguments_are_refused():
    for kwargs, message in [
        ({"pool_size": 0}, "pool_size=0"),
        ({"pool_size": (2, 2, 2)}, "pool_size="),
        ({"strides": 0}, "strides=0"),
        ({"activation": "no_such_activation"}, "no_such_activation"),
    ]:
        with pytest.raises(ValueError, match=message):
            Subsampling2D(**kwargs)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="ndim=4|rows, cols, maps"):
        Subsampling2D()(np.zeros((4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="smaller than"):
        Subsampling2D(3)(np.zeros((1, 2, 4, 1), np.float32))
    layer = Subsampling2D()
    layer(np.zeros((1, 4, 4, 6), np.float32))
    with pytest.raises(ValueError, match="axis -1|incompatible"):
        layer(np.zeros((1, 4, 4, 5), np.float32))
