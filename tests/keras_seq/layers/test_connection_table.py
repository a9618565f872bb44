import keras
import numpy as np
import pytest

from keras_seq.layers import LENET_C3_TABLE, ConnectionTableConv2D


def test_table_is_the_papers_table_one():
    assert LENET_C3_TABLE.shape == (6, 16) and LENET_C3_TABLE.dtype == bool
    assert LENET_C3_TABLE.sum() == 60
    columns = [set(np.flatnonzero(LENET_C3_TABLE[:, j])) for j in range(16)]
    # Columns 0-5: three contiguous S2 maps (cyclically), starting at map j.
    for j in range(6):
        assert columns[j] == {j % 6, (j + 1) % 6, (j + 2) % 6}
    # Columns 6-11: four contiguous S2 maps, starting at map j - 6.
    for j in range(6, 12):
        assert columns[j] == {(j - 6 + k) % 6 for k in range(4)}
    # Columns 12-14: four non-contiguous maps; column 15: all six.
    assert columns[12:] == [{0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5}, set(range(6))]


def test_table_cannot_be_changed_by_accident():
    with pytest.raises(ValueError):
        LENET_C3_TABLE[0, 1] = True


def test_lenet_c3_has_1516_trainable_parameters():
    c3 = ConnectionTableConv2D(16, 5, LENET_C3_TABLE)
    c3.build((None, 14, 14, 6))
    assert c3.count_params() == 1516  # 60 connections * 25 + 16 biases
    assert sum(int(np.prod(w.shape)) for w in c3.trainable_weights) == 1516
    assert c3.non_trainable_weights == []


def reference(x, dense_kernel, bias):
    """Plain numpy valid cross-correlation summed over input maps."""
    kh, kw, _, filters = dense_kernel.shape
    rows, cols = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], rows, cols, filters), np.float64)
    for r in range(rows):
        for c in range(cols):
            window = x[:, r : r + kh, c : c + kw, :]
            out[:, r, c, :] = np.einsum("nuvi,uvio->no", window, dense_kernel)
    return out + bias


def test_output_is_the_masked_dense_convolution():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 9, 6)).astype(np.float32)
    c3 = ConnectionTableConv2D(16, 5, LENET_C3_TABLE, bias_initializer="random_normal")
    y = np.asarray(c3(x))
    dense = np.asarray(c3.dense_kernel())
    assert np.all(dense[:, :, ~LENET_C3_TABLE] == 0)
    assert np.all(dense[:, :, LENET_C3_TABLE] != 0)
    np.testing.assert_allclose(y, reference(x, dense, np.asarray(c3.bias)), rtol=1e-4, atol=1e-4)


def test_a_map_ignores_the_input_maps_its_column_does_not_mark():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 14, 14, 6)).astype(np.float32)
    c3 = ConnectionTableConv2D(16, 5, LENET_C3_TABLE)
    before = np.asarray(c3(x))
    changed = x.copy()
    changed[..., 5] += 10.0  # S2 map 5 feeds columns 3, 4, 5, 8-11, 13-15 only
    after = np.asarray(c3(changed))
    unaffected = ~LENET_C3_TABLE[5]
    np.testing.assert_array_equal(before[..., unaffected], after[..., unaffected])
    assert np.all(np.abs(before[..., ~unaffected] - after[..., ~unaffected]).max(axis=(0, 1, 2)) > 0)


def test_all_true_table_is_an_ordinary_conv2d():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    sparse = ConnectionTableConv2D(4, 3, np.ones((3, 4), bool), strides=2, padding="same", activation="tanh")
    dense = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="tanh")
    sparse.build(x.shape)
    dense.build(x.shape)
    dense.set_weights([np.asarray(sparse.dense_kernel()), np.asarray(sparse.bias)])
    np.testing.assert_allclose(sparse(x), dense(x), rtol=1e-5, atol=1e-5)


def test_int_padding_adds_zeros_on_each_side():
    x = np.random.default_rng(3).normal(size=(1, 5, 5, 2)).astype(np.float32)
    padded = ConnectionTableConv2D(3, 3, np.ones((2, 3), bool), padding=2)
    plain = ConnectionTableConv2D(3, 3, np.ones((2, 3), bool))
    padded.build(x.shape)
    plain.build((None, 9, 9, 2))
    plain.set_weights(padded.get_weights())
    np.testing.assert_allclose(padded(x), plain(np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)])), rtol=1e-6, atol=1e-6)


def test_training_moves_only_connected_weights_and_reduces_the_loss():
    import tensorflow as tf

    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 8, 8, 6)).astype(np.float32)
    target = ConnectionTableConv2D(16, 3, LENET_C3_TABLE, kernel_initializer="random_normal")
    y = np.asarray(target(x))
    layer = ConnectionTableConv2D(16, 3, LENET_C3_TABLE)
    layer.build(x.shape)
    optimizer = keras.optimizers.Adam(0.05)
    losses = []
    for _ in range(10):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x) - y))
        optimizer.apply(tape.gradient(loss, layer.trainable_weights), layer.trainable_weights)
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]
    dense = np.asarray(layer.dense_kernel())
    assert np.all(dense[:, :, ~LENET_C3_TABLE] == 0)


BAD_ARGUMENTS = [
    ({"table": np.ones((6, 15), bool)}, r"shape \(input maps, filters=16\)"),
    ({"table": np.ones(16, bool)}, "shape"),
    ({"table": LENET_C3_TABLE.astype(int)}, "boolean"),
    ({"table": [["X"] * 16] * 6}, "boolean"),
    ({"table": np.zeros((6, 16), bool)}, r"column\(s\) \[0, 1,"),
    ({"table": np.where(np.arange(16) == 7, False, LENET_C3_TABLE)}, r"\[7\] mark no input"),
    ({"filters": 0, "table": np.ones((6, 0), bool)}, "filters=0"),
    ({"kernel_size": 0}, "kernel_size=0"),
    ({"kernel_size": 4, "padding": "same"}, "odd kernel"),
    ({"strides": -1}, "strides=-1"),
    ({"padding": "half"}, "padding='half'"),
]


def test_bad_arguments_are_refused():
    for kwargs, message in BAD_ARGUMENTS:
        arguments = {"filters": 16, "kernel_size": 5, "table": LENET_C3_TABLE, **kwargs}
        with pytest.raises(ValueError, match=message):
            ConnectionTableConv2D(**arguments)


def test_bad_inputs_are_refused():
    c3 = ConnectionTableConv2D(16, 5, LENET_C3_TABLE)
    with pytest.raises(ValueError, match="table has 6 rows.*4 channels"):
        c3(np.zeros((1, 14, 14, 4), np.float32))
    with pytest.raises(ValueError, match="ndim=4|rows, cols, maps"):
        ConnectionTableConv2D(16, 5, LENET_C3_TABLE)(np.zeros((14, 14, 6), np.float32))
    with pytest.raises(ValueError, match="smaller than"):
        ConnectionTableConv2D(16, 5, LENET_C3_TABLE)(np.zeros((1, 4, 14, 6), np.float32))
