"""Recurrent: any cell over time, long sequences, and clear errors on bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.layers import LSTM, Elman, ElmanCell, LSTMCell, Recurrent

RNG = np.random.default_rng(4)
X = RNG.normal(size=(2, 5, 3)).astype("float32")


def test_runs_keras_cells_like_keras_rnn():
    for cell in (keras.layers.SimpleRNNCell(4), keras.layers.GRUCell(4)):
        ours = Recurrent(cell, return_sequences=True, go_backwards=True)
        theirs = keras.layers.RNN(cell, return_sequences=True, go_backwards=True)
        np.testing.assert_allclose(ours(X), theirs(X), atol=1e-6)


def test_recurrent_of_our_cell_is_the_sequence_layer():
    cell = LSTMCell(4, output_activation=None)
    generic = Recurrent(cell, return_state=True)
    layer = LSTM(4, output_activation=None, return_state=True)
    generic(X), layer(X)
    layer.set_weights(generic.get_weights())
    for a, b in zip(generic(X), layer(X)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    config = Recurrent.from_config(generic.get_config()).get_config()
    assert config == generic.get_config()


def test_ten_thousand_steps_forward():
    """A 10,000-step sequence with return_sequences=False runs in a compiled loop
    and gives the same final state as two 5,000-step halves chained."""
    steps = 10_000
    layer = LSTM(8, return_state=True)
    x = tf.constant(RNG.normal(size=(2, steps, 3)).astype("float32"))
    run = tf.function(lambda x, state=None: layer(x, initial_state=state))
    output, h, c = run(x)
    assert output.shape == (2, 8) and np.isfinite(output).all()
    _, h_half, c_half = run(x[:, : steps // 2])
    output_chained, _, c_chained = run(x[:, steps // 2 :], [h_half, c_half])
    np.testing.assert_allclose(output_chained, output, atol=1e-5)
    np.testing.assert_allclose(c_chained, c, atol=1e-5)


def test_variable_length_batches_in_one_model():
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, Elman(4)(inputs))
    for steps in (1, 7):
        x = RNG.normal(size=(2, steps, 3)).astype("float32")
        assert model.predict(x, verbose=0).shape == (2, 4)


@pytest.mark.parametrize(
    "layer", [lambda: LSTM(4, return_sequences=True), lambda: Elman(4, return_sequences=True)], ids=["lstm", "elman"]
)
def test_fit_traces_with_unknown_batch_and_time_and_a_mask(layer):
    """model.fit traces the training (hand-written BPTT) path with batch and
    time unknown; the masked, padded batch trains and its loss is finite."""
    inputs = keras.Input((None, 3))
    masked = keras.layers.Masking()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(layer()(masked)))
    model.compile("sgd", "mse")
    x = RNG.normal(size=(4, 6, 3)).astype("float32")
    x[:, 4:] = 0.0
    history = model.fit(x, np.zeros((4, 6, 2), "float32"), epochs=2, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((2, 3), "float32"), "rank 3"),
        (np.zeros((2, 5, 3, 1), "float32"), "rank 3"),
        (np.zeros((2, 0, 3), "float32"), "at least one time step"),
        (np.zeros((2, 5, 3), "complex64"), "real numbers"),
    ],
    ids=["rank-2", "rank-4", "zero-length", "complex"],
)
@pytest.mark.parametrize("make", [lambda: Elman(4), lambda: LSTM(4)], ids=["elman", "lstm"])
def test_bad_sequences(make, x, message):
    layer = make()
    if message != "rank 3":
        layer(X)  # already built
    with pytest.raises(ValueError, match=message):
        layer(x)


def test_zero_length_known_only_at_run_time():
    layer = LSTM(4)
    layer(X)
    run = tf.function(lambda x: layer(x), input_signature=[tf.TensorSpec((None, None, 3))])
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least one time step"):
        run(tf.zeros((2, 0, 3)))


@pytest.mark.parametrize(
    "mask",
    [np.ones((2, 4), bool), np.ones((2, 5, 1), bool), np.ones((3, 5), bool)],
    ids=["short", "rank-3", "batch"],
)
def test_mask_of_wrong_shape(mask):
    with pytest.raises(ValueError, match="mask must have shape"):
        Elman(4)(X, mask=mask)


def test_bad_initial_state_and_stateful_use():
    layer = LSTM(4)
    with pytest.raises(ValueError, match="initial_state must hold 2"):
        layer(X, initial_state=[np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match="initial_state must have shape"):
        layer(X, initial_state=[np.zeros((2, 3), "float32")] * 2)
    stateful = Elman(4, stateful=True)
    stateful(X)
    with pytest.raises(ValueError, match="expected batch size 2"):
        stateful(np.zeros((3, 5, 3), "float32"))
    with pytest.raises(ValueError, match="fixed batch size"):
        Elman(4, stateful=True)(keras.Input((5, 3)))
    with pytest.raises(ValueError, match="unroll=True needs a fixed number"):
        Elman(4, unroll=True)(keras.Input((None, 3)))


def test_bad_cells():
    with pytest.raises(ValueError, match="cell must be"):
        Recurrent("lstm")
    with pytest.raises(ValueError, match="state_size"):
        Recurrent(type("Cell", (), {"call": lambda self, x, s: x, "state_size": [0]})())


def test_functional_shapes_and_masks():
    inputs = keras.Input((None, 3))
    masked = keras.layers.Masking()(inputs)
    outputs, h, c = LSTM(4, return_sequences=True, return_state=True)(masked)
    assert outputs.shape == (None, None, 4) and h.shape == c.shape == (None, 4)
    cell_sizes = ElmanCell(6)
    assert Recurrent(cell_sizes).compute_output_shape((2, 5, 3)) == (2, 6)
