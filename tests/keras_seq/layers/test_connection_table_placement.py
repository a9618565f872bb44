"""``ConnectionTableConv2D``'s dense kernel is placed by a product with a 0/1 matrix, not gathered."""

import keras
import numpy as np

from keras_seq.layers import LENET_C3_TABLE, ConnectionTableConv2D


def test_the_dense_kernel_holds_each_connection_exactly_where_the_table_says():
    layer = ConnectionTableConv2D(16, 5, LENET_C3_TABLE)
    layer.build((None, 14, 14, 6))
    weights = np.random.default_rng(0).standard_normal(layer.kernel.shape).astype(np.float32)
    layer.kernel.assign(weights)
    dense = keras.ops.convert_to_numpy(layer.dense_kernel())
    expected = np.zeros((5, 5, 6, 16), np.float32)
    expected[:, :, LENET_C3_TABLE] = weights  # connections in the table's row-major order
    np.testing.assert_array_equal(dense, expected)


def test_outputs_are_those_of_a_conv2d_with_the_zero_filled_kernel():
    layer = ConnectionTableConv2D(16, 5, LENET_C3_TABLE, activation="tanh")
    x = np.random.default_rng(1).standard_normal((2, 14, 14, 6)).astype(np.float32)
    y = keras.ops.convert_to_numpy(layer(x))
    dense = keras.layers.Conv2D(16, 5, activation="tanh")
    dense.build(x.shape)
    kernel = np.zeros((5, 5, 6, 16), np.float32)
    kernel[:, :, LENET_C3_TABLE] = keras.ops.convert_to_numpy(layer.kernel)
    dense.set_weights([kernel, keras.ops.convert_to_numpy(layer.bias)])
    np.testing.assert_array_equal(y, keras.ops.convert_to_numpy(dense(x)))

