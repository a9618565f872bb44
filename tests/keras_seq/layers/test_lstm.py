"""LSTM: the same results, weights and gradients as keras.layers.LSTM; the
lecture's variant against a NumPy implementation of its equations."""


import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.layers import LSTM, LSTMCell, Recurrent

from recurrent_parity import as_list, assert_all_close, assert_keras_weights_load, gradients

RNG = np.random.default_rng(1)
X = RNG.normal(size=(4, 6, 3)).astype("float32")
MASK = np.ones((4, 6), bool)
MASK[1, 4:] = False
MASK[2, 1:] = False
MASK[3, :] = False


def twin(kwargs, units=5):
    ours, theirs = LSTM(units, **kwargs), keras.layers.LSTM(units, **kwargs)
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"return_sequences": True, "return_state": True},
        {"return_sequences": True, "return_state": True, "go_backwards": True},
        {"return_sequences": True, "unroll": True},
        {"unit_forget_bias": False, "use_bias": False, "activation": "relu"},
    ],
)
@pytest.mark.parametrize("mask", [None, MASK], ids=["no_mask", "mask"])
def test_forward_matches_keras_lstm(kwargs, mask):
    kwargs = dict(kwargs)
    if kwargs.get("activation") == "relu":  # Keras applies `activation` to C_t too
        kwargs_ours = {**kwargs, "output_activation": "relu"}
        ours, theirs = LSTM(5, **kwargs_ours), keras.layers.LSTM(5, **kwargs)
        ours(X), theirs(X)
        theirs.set_weights(ours.get_weights())
    else:
        ours, theirs = twin(kwargs)
    assert_all_close(ours(X, mask=mask), theirs(X, mask=mask))


def test_keras_weights_load_and_the_forget_bias_starts_at_one():
    ours = LSTM(5)
    ours(X)
    # unit_forget_bias: b_f starts at 1, the other gates at 0 (order i, f, c, o).
    np.testing.assert_array_equal(ours.cell.bias.numpy(), np.repeat([0, 1, 0, 0], 5))
    assert_keras_weights_load(ours, keras.layers.LSTM(5), X, [(3, 20), (5, 20), (20,)])


@pytest.mark.parametrize("output_activation", [None, "tanh"])
def test_equations_by_hand_in_numpy(output_activation):
    """I, F, O, C_t = F C_{t-1} + I theta(.), h_t = O C_t (lecture) or O tanh(C_t)."""
    layer = LSTM(
        5,
        output_activation=output_activation,
        return_sequences=True,
        return_state=True,
        bias_initializer="random_normal",
        unit_forget_bias=False,
    )
    out, h_last, c_last = as_list(layer(X))
    kernel, recurrent_kernel, bias = layer.get_weights()
    w = np.split(kernel, 4, axis=1)  # W_ix, W_fx, W_x, W_ox
    u = np.split(recurrent_kernel, 4, axis=1)  # W_ih, W_fh, W_h, W_oh
    b = np.split(bias, 4)
    h = c = np.zeros((4, 5))
    for t in range(X.shape[1]):
        x = X[:, t]
        input_gate = sigmoid(x @ w[0] + h @ u[0] + b[0])
        forget_gate = sigmoid(x @ w[1] + h @ u[1] + b[1])
        output_gate = sigmoid(x @ w[3] + h @ u[3] + b[3])
        c = forget_gate * c + input_gate * np.tanh(x @ w[2] + h @ u[2] + b[2])
        h = c * output_gate if output_activation is None else output_gate * np.tanh(c)
        np.testing.assert_allclose(out[:, t], h, atol=1e-5)
    np.testing.assert_allclose(h_last, h, atol=1e-5)
    np.testing.assert_allclose(c_last, c, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, mask, training",
    [
        ({"return_state": True}, MASK, True),  # training: our hand-written BPTT
        ({"return_sequences": True, "go_backwards": True}, MASK, True),
        ({"return_sequences": True, "return_state": True}, None, False),  # autodiff
    ],
    ids=["state-mask-train", "sequences-backwards-mask-train", "sequences-inference"],
)
def test_gradients_match_keras_lstm(kwargs, mask, training):
    ours, theirs = twin(kwargs)
    assert_all_close(gradients(ours, X, mask, training), gradients(theirs, X, mask, training), atol=1e-4)


def test_lecture_variant_gradients_match_autodiff():
    """The hand-written BPTT (training) against autodiff of the loop (inference)."""
    layer = LSTM(5, output_activation=None, return_sequences=True)
    layer(X)
    x = tf.constant(X)

    def gradients(training):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(layer(x, mask=MASK, training=training)))
        return tape.gradient(loss, [x] + layer.trainable_weights)

    for a, b in zip(gradients(True), gradients(False)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_stateful_batches_match_keras_lstm():
    kwargs = {"stateful": True, "return_sequences": True}
    ours, theirs = LSTM(5, **kwargs), keras.layers.LSTM(5, **kwargs)
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    ours.reset_state(), theirs.reset_state()
    for batch in (X, X[:, ::-1], X * 2):
        np.testing.assert_allclose(ours(batch), theirs(batch), atol=1e-5)
    assert len(ours.states) == 2 and len(ours.weights) == 3  # states are not weights


def test_initial_state_matches_keras_lstm():
    ours, theirs = twin({"return_state": True})
    state = [RNG.normal(size=(4, 5)).astype("float32") for _ in range(2)]
    for a, b in zip(as_list(ours(X, initial_state=state)), as_list(theirs(X, initial_state=state))):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_cells_work_both_ways_with_keras_rnn():
    ours_in_keras = keras.layers.RNN(LSTMCell(5), return_sequences=True)
    keras_in_ours = Recurrent(keras.layers.LSTMCell(5), return_sequences=True)
    reference = keras.layers.LSTM(5, return_sequences=True)
    for layer in (ours_in_keras, keras_in_ours, reference):
        layer(X)
    ours_in_keras.set_weights(reference.get_weights())
    keras_in_ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours_in_keras(X, mask=MASK), reference(X, mask=MASK), atol=1e-5)
    np.testing.assert_allclose(keras_in_ours(X, mask=MASK), reference(X, mask=MASK), atol=1e-5)


def test_dropout_only_in_training_and_trains():
    layer = LSTM(5, dropout=0.3, recurrent_dropout=0.3, seed=1)
    layer(X)
    np.testing.assert_allclose(layer(X), layer(X))  # inference: no dropout
    assert not np.allclose(layer(X, training=True), layer(X))
    inside_keras = keras.layers.RNN(LSTMCell(5, dropout=0.3, recurrent_dropout=0.3, seed=1))
    assert not np.allclose(inside_keras(X, training=True), inside_keras(X))
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    assert all(np.isfinite(g).all() for g in tape.gradient(loss, layer.trainable_weights))


def test_public_attributes_for_export():
    layer = LSTM(6, return_sequences=True, go_backwards=True, output_activation=None)
    assert layer.cell.units == 6 and layer.units == 6
    assert layer.cell.output_activation is None and layer.output_activation is None
    assert layer.activation is keras.activations.tanh
    assert layer.recurrent_activation is keras.activations.sigmoid
    assert (layer.use_bias, layer.return_sequences, layer.return_state, layer.go_backwards) == (
        True,
        True,
        False,
        True,
    )
    assert LSTM(3).cell.output_activation is keras.activations.tanh


def test_fits_a_model():
    inputs = keras.Input((6, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(LSTM(8)(inputs)))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    y = X.sum(axis=(1, 2))[:, None] / 5
    first = model.evaluate(X, y, verbose=0)
    model.fit(np.tile(X, (30, 1, 1)), np.tile(y, (30, 1)), batch_size=4, epochs=1, verbose=0)
    assert model.evaluate(X, y, verbose=0) < first / 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": -1}, "units"),
        ({"units": 3, "unit_forget_bias": "yes"}, "unit_forget_bias"),
        ({"units": 3, "dropout": 1.0}, "dropout"),
        ({"units": 3, "stateful": 1}, "stateful"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTM(**kwargs)
