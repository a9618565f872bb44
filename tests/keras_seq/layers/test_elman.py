"""Elman: the same results, weights and gradients as keras.layers.SimpleRNN."""


import keras
import numpy as np
import pytest

from keras_seq.layers import Elman, ElmanCell, Recurrent

from recurrent_parity import as_list, assert_all_close, assert_keras_weights_load, gradients

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6, 3)).astype("float32")
MASK = np.ones((4, 6), bool)
MASK[1, 4:] = False  # right padding
MASK[2, 1:] = False
MASK[3, :] = False  # fully masked


def twin(kwargs):
    """Our Elman and Keras's SimpleRNN, built, with the same weights."""
    ours, theirs = Elman(5, **kwargs), keras.layers.SimpleRNN(5, **kwargs)
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"return_sequences": True},
        {"return_state": True, "go_backwards": True},
        {"return_sequences": True, "return_state": True, "go_backwards": True},
        {"return_sequences": True, "unroll": True},
        {"activation": "relu", "use_bias": False, "return_sequences": True},
    ],
)
@pytest.mark.parametrize("mask", [None, MASK], ids=["no_mask", "mask"])
def test_forward_matches_simple_rnn(kwargs, mask):
    ours, theirs = twin(kwargs)
    assert_all_close(ours(X, mask=mask), theirs(X, mask=mask))


def test_keras_weights_load():
    assert_keras_weights_load(Elman(5), keras.layers.SimpleRNN(5), X, [(3, 5), (5, 5), (5,)])


def test_lecture_equation_by_hand():
    """h_t = tanh(W1 x_t + Wh h_{t-1} + b), h_0 = 0, in plain NumPy."""
    layer = Elman(5, return_sequences=True, bias_initializer="random_normal")
    out = np.asarray(layer(X))
    w1, wh, b = layer.get_weights()
    h = np.zeros((4, 5), "float32")
    for t in range(X.shape[1]):
        h = np.tanh(X[:, t] @ w1 + h @ wh + b)
        np.testing.assert_allclose(out[:, t], h, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, mask, training",
    [
        ({}, MASK, True),  # training: our hand-written BPTT
        ({"return_sequences": True, "go_backwards": True}, MASK, True),
        ({"return_sequences": True}, None, False),  # inference: autodiff of the loop
    ],
    ids=["last-mask-train", "sequences-backwards-mask-train", "sequences-inference"],
)
def test_gradients_match_simple_rnn(kwargs, mask, training):
    ours, theirs = twin(kwargs)
    assert_all_close(gradients(ours, X, mask, training), gradients(theirs, X, mask, training), atol=1e-4)


def test_stateful_batches_match_simple_rnn():
    kwargs = {"stateful": True, "return_state": True}
    ours, theirs = Elman(5, **kwargs), keras.layers.SimpleRNN(5, **kwargs)
    first, second = X, X[:, ::-1] * 0.5
    ours(first), theirs(first)
    theirs.set_weights(ours.get_weights())
    ours.reset_state(), theirs.reset_state()
    for batch in (first, second):
        for a, b in zip(as_list(ours(batch)), as_list(theirs(batch))):
            np.testing.assert_allclose(a, b, atol=1e-5)
    # The second batch started from the first's final state, not from zeros.
    fresh = Elman(5)
    fresh(X)
    fresh.set_weights(ours.get_weights())
    assert not np.allclose(as_list(ours(second))[0], fresh(second), atol=1e-3)
    ours.reset_state()
    np.testing.assert_allclose(as_list(ours(second))[0], fresh(second), atol=1e-6)


def test_initial_state_matches_simple_rnn():
    ours, theirs = twin({"return_state": True})
    h0 = RNG.normal(size=(4, 5)).astype("float32")
    for a, b in zip(as_list(ours(X, initial_state=[h0])), as_list(theirs(X, initial_state=[h0]))):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_cell_runs_inside_keras_rnn():
    cell = ElmanCell(5)
    keras_rnn = keras.layers.RNN(cell, return_sequences=True)
    ours = Elman(5, return_sequences=True)
    keras_rnn(X), ours(X)
    ours.set_weights(keras_rnn.get_weights())
    np.testing.assert_allclose(keras_rnn(X), ours(X), atol=1e-5)


def linear_elman(**kwargs):
    """Three linear units, no bias, every step returned: h_t = W x_t + W_h h_{t-1}, dropout masks visible."""
    return Elman(3, activation=None, use_bias=False, return_sequences=True, **kwargs)


def test_dropout_masks_are_fixed_over_time():
    """Input dropout as Keras: one mask per sequence, the same at every step."""
    rate = 0.5
    layer = linear_elman(dropout=rate, kernel_initializer="identity", recurrent_initializer="zeros", seed=3)
    x = np.ones((8, 5, 3), "float32")
    out = np.asarray(layer(x, training=True))  # h_t = x_t * mask / (1 - rate)
    assert set(np.unique(out)) <= {0.0, 1.0 / (1 - rate)}
    assert 0.0 in out and 1.0 / (1 - rate) in out
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))
    np.testing.assert_allclose(layer(x, training=False), x)


def test_recurrent_dropout_mask_is_fixed_over_time():
    rate = 0.5
    layer = linear_elman(recurrent_dropout=rate, kernel_initializer="zeros", recurrent_initializer="identity", seed=4)
    x = np.zeros((8, 3, 3), "float32")
    h0 = np.ones((8, 3), "float32")
    out = np.asarray(layer(x, initial_state=[h0], training=True))  # h_t = h_{t-1} * m / (1 - r)
    scale = 1.0 / (1 - rate)
    assert set(np.unique(out[:, 0])) <= {0.0, scale}
    np.testing.assert_allclose(out[:, 1], out[:, 0] ** 2, atol=1e-6)  # same mask again


def test_is_a_recurrent_layer_with_public_attributes():
    layer = Elman(7, activation="relu", use_bias=False)
    assert isinstance(layer, Recurrent)
    assert (layer.units, layer.use_bias, layer.cell.units) == (7, False, 7)
    assert layer.activation is keras.activations.relu


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units"),
        ({"units": 2.5}, "units"),
        ({"units": 3, "dropout": 1.5}, "dropout"),
        ({"units": 3, "recurrent_dropout": -0.1}, "recurrent_dropout"),
        ({"units": 3, "return_sequences": "yes"}, "return_sequences"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Elman(**kwargs)
