"""stacked(): the lecture's deep RNN, layer l reading layer l-1's sequence."""

import os
import tempfile

import keras
import numpy as np
import pytest

from keras_seq.layers import LSTM, Bidirectional, Elman, stacked
from keras_seq.layers.stacked import StackedRecurrent

RNG = np.random.default_rng(3)
X = RNG.normal(size=(3, 6, 4)).astype("float32")


def test_wiring_is_h_t_l_from_h_t_l_minus_1():
    """h_t^(l) = tanh(W^(l) h_t^(l-1) + W_h^(l) h_{t-1}^(l) + b^(l)), h^(0) = x."""
    deep = stacked([5, 4, 2], layer="elman")
    out = np.asarray(deep(X))
    assert [layer.return_sequences for layer in deep.layers] == [True, True, False]
    h_below = X
    for layer in deep.layers:
        w, w_h, b = layer.get_weights()
        assert w.shape[0] == h_below.shape[-1]  # reads the layer below
        h = np.zeros((3, w.shape[1]), "float32")
        sequence = []
        for t in range(X.shape[1]):
            h = np.tanh(h_below[:, t] @ w + h @ w_h + b)
            sequence.append(h)
        h_below = np.stack(sequence, axis=1)
    np.testing.assert_allclose(out, h_below[:, -1], atol=1e-5)


def test_same_as_layers_applied_by_hand_with_masks():
    deep = stacked([5, 4], layer="lstm", return_sequences=True)
    mask = np.ones((3, 6), bool)
    mask[1, 3:] = False
    out = np.asarray(deep(X, mask=mask))
    first, second = (LSTM(5, return_sequences=True), LSTM(4, return_sequences=True))
    by_hand = second(first(X, mask=mask), mask=mask)
    first.set_weights(deep.layers[0].get_weights())
    second.set_weights(deep.layers[1].get_weights())
    by_hand = second(first(X, mask=mask), mask=mask)
    np.testing.assert_allclose(out, by_hand, atol=1e-6)
    np.testing.assert_allclose(out[1, 3:], np.broadcast_to(out[1, 2], (3, 4)), atol=1e-6)


def test_bidirectional_stack_in_a_model_round_trip():
    deep = stacked([4, 3], layer="lstm", bidirectional=True, return_sequences=True, dropout=0.1)
    assert all(isinstance(layer, Bidirectional) for layer in deep.layers)
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, keras.layers.Dense(2)(deep(keras.layers.Masking()(inputs))))
    assert model.output.shape == (None, None, 2)
    path = os.path.join(tempfile.mkdtemp(), "deep.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[2], StackedRecurrent)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        stacked(8)
    with pytest.raises(ValueError, match="units"):
        stacked([])
    with pytest.raises(ValueError, match="layer"):
        stacked([4], layer="gru")
    with pytest.raises(ValueError, match="return_state"):
        stacked([4], return_state=True)
    with pytest.raises(ValueError, match="must return sequences"):
        StackedRecurrent([Elman(3), Elman(3)])
