"""Bidirectional: Keras's results and weights, and the lecture's BiRNN output."""

import os
import tempfile

import keras
import numpy as np
import pytest

from keras_seq.layers import LSTM, Bidirectional, Elman

from recurrent_parity import as_list, assert_all_close, gradients

RNG = np.random.default_rng(2)
X = RNG.normal(size=(3, 5, 4)).astype("float32")
MASK = np.ones((3, 5), bool)
MASK[1, 3:] = False
MASK[2, 1:] = False


SEQUENCES_AND_STATES = {"return_sequences": True, "return_state": True}


@pytest.mark.parametrize(
    "merge_mode, kwargs",
    [("concat", {})] + [(mode, SEQUENCES_AND_STATES) for mode in ("concat", "sum", "mul", "ave", None)],
    ids=["concat-last", "concat", "sum", "mul", "ave", "None"],
)
def test_matches_keras_bidirectional(merge_mode, kwargs):
    ours = Bidirectional(LSTM(4, **kwargs), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, **kwargs), merge_mode=merge_mode)
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    for mask in (None, MASK):
        assert_all_close(ours(X, mask=mask), theirs(X, mask=mask))


def test_masked_elman_sequences_and_gradients_match_keras():
    ours = Bidirectional(Elman(4, return_sequences=True))
    theirs = keras.layers.Bidirectional(keras.layers.SimpleRNN(4, return_sequences=True))
    ours(X), theirs(X)
    theirs.set_weights(ours.get_weights())
    out = np.asarray(ours(X, mask=MASK))
    assert np.all(out[~MASK] == 0)  # padded steps give zeros in both directions
    assert_all_close(gradients(ours, X, MASK, training=True), gradients(theirs, X, MASK, training=True), atol=1e-4)


def test_ours_inside_keras_bidirectional_and_keras_inside_ours():
    reference = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    ours_in_keras = keras.layers.Bidirectional(LSTM(4, return_sequences=True))
    keras_in_ours = Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    for layer in (reference, ours_in_keras, keras_in_ours):
        layer(X)
        layer.set_weights(reference.get_weights())
        assert_all_close(layer(X, mask=MASK), reference(X, mask=MASK))


def test_states_are_forward_then_backward():
    layer = Bidirectional(LSTM(4, return_state=True), merge_mode="concat")
    output, h_f, c_f, h_b, c_b = as_list(layer(X))
    np.testing.assert_allclose(output, np.concatenate([h_f, h_b], axis=-1), atol=1e-6)
    forward, backward = layer.forward_layer, layer.backward_layer
    assert not forward.go_backwards and backward.go_backwards
    assert_all_close(forward(X), [output[:, :4], h_f, c_f])
    assert_all_close(backward(X), [output[:, 4:], h_b, c_b])
    h0 = [RNG.normal(size=(3, 4)).astype("float32") for _ in range(4)]
    with_state = as_list(layer(X, initial_state=h0))
    assert_all_close(with_state[1:3], forward(X, initial_state=h0[:2])[1:])
    assert_all_close(with_state[3:], backward(X, initial_state=h0[2:])[1:])


def test_dense_on_concat_is_the_lectures_output():
    """o_t = theta(W_f h_t^(f) + W_b h_t^(b)) with separate weights per direction."""
    inputs = keras.Input((5, 4))
    bi = Bidirectional(Elman(3, return_sequences=True))
    dense = keras.layers.Dense(2, activation="tanh")
    model = keras.Model(inputs, dense(bi(inputs)))
    o = model.predict(X, verbose=0)
    h_f = np.asarray(bi.forward_layer(X))
    h_b = np.asarray(bi.backward_layer(X))[:, ::-1]  # back to input time order
    kernel, bias = dense.get_weights()
    w_f, w_b = kernel[:3], kernel[3:]  # the two directions' output weights
    np.testing.assert_allclose(o, np.tanh(h_f @ w_f + h_b @ w_b + bias), atol=1e-5)
    # h^(b) reads the future: x at the last step changes h_1^(b) but not h_1^(f).
    x2 = X.copy()
    x2[:, -1] += 1.0
    h_f2, h_b2 = np.asarray(bi.forward_layer(x2)), np.asarray(bi.backward_layer(x2))[:, ::-1]
    np.testing.assert_allclose(h_f2[:, 0], h_f[:, 0])
    assert not np.allclose(h_b2[:, 0], h_b[:, 0])


def test_custom_backward_layer_and_keras_file_round_trip():
    layer = Bidirectional(
        LSTM(4, return_sequences=True),
        backward_layer=Elman(3, return_sequences=True, go_backwards=True),
    )
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, layer(keras.layers.Masking()(inputs)))
    assert model.output.shape == (None, None, 7)
    path = os.path.join(tempfile.mkdtemp(), "bi.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[-1].backward_layer, Elman)
    assert_all_close(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)


def test_stateful_bidirectional_keeps_and_resets_states():
    layer = Bidirectional(Elman(3, stateful=True))
    first = np.asarray(layer(X))
    second = np.asarray(layer(X))
    assert not np.allclose(first, second)
    layer.reset_state()
    np.testing.assert_allclose(layer(X), first, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3))
    with pytest.raises(ValueError, match="return_sequences"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="layer"):
        Bidirectional("lstm")
    with pytest.raises(ValueError, match="initial_state"):
        Bidirectional(LSTM(3))(X, initial_state=[np.zeros((3, 3), "float32")] * 3)
