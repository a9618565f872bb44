import keras
import numpy as np
import pytest

from keras_seq import layers
from keras_seq.training import gradient_flow

T = 100


def classifier(recurrent, steps=T, features=4):
    model = keras.Sequential([keras.Input((steps, features)), recurrent, keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def long_batch(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(16, T, 4)).astype("float32"), rng.integers(0, 3, size=(16,))


def decades_lost(profile):
    """log10 of how much smaller ||dL/dh_t|| is at t = 0 than at t = T-1."""
    return float(np.log10(profile[-1] / profile[0]))


@pytest.mark.parametrize("seed", [0, 1])
def test_elman_gradient_vanishes_much_faster_than_lstm_over_100_steps(seed):
    x, y = long_batch(seed)
    keras.utils.set_random_seed(seed)
    elman = gradient_flow(classifier(layers.Elman(16)), x, y)
    keras.utils.set_random_seed(seed)
    lstm = gradient_flow(classifier(layers.LSTM(16)), x, y)
    assert elman.shape == lstm.shape == (T,)
    # measured: Elman loses 13-14 decades over 100 steps, the LSTM 10-11
    assert decades_lost(elman) > 12
    assert decades_lost(elman) > decades_lost(lstm) + 2


def test_lstm_with_open_forget_gates_keeps_its_gradient_over_100_steps():
    # C_t = F_t * C_{t-1} + ...: with F_t ~ sigmoid(3) ~ 0.95 the cell state
    # carries the gradient back; the Elman state has no such path.
    x, y = long_batch(2)
    lstm = layers.LSTM(16)
    model = classifier(lstm)
    bias = lstm.cell.bias.numpy()
    bias[16:32] = 3.0  # gate order i, f, c, o
    lstm.cell.bias.assign(bias)
    profile = gradient_flow(model, x, y)
    assert decades_lost(profile) < 3
    assert decades_lost(gradient_flow(classifier(layers.Elman(16)), x, y)) > 10


@pytest.mark.parametrize("keras_layer", [False, True])
def test_profile_is_the_total_derivative_computed_by_hand(keras_layer):
    # h_t = tanh(x_t W + h_{t-1} U + b), p_t = h_t V + c, L = mean_t,b,k (p - y)^2
    # dL/dh_t = dL/dp_t V^T + (dL/dh_{t+1} * (1 - h_{t+1}^2)) U^T
    steps, units = 5, 3
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, steps, 2)).astype("float32")
    y = rng.normal(size=(2, steps, 2)).astype("float32")
    recurrent_type = keras.layers.SimpleRNN if keras_layer else layers.Elman
    rnn = recurrent_type(units, return_sequences=True)
    model = keras.Sequential([keras.Input((steps, 2)), rnn, keras.layers.Dense(2)])
    model.compile(loss="mse")
    profile = gradient_flow(model, x, y)

    W, U, b, V, c = [w.astype(np.float64) for w in model.get_weights()]
    h = np.zeros((2, units))
    hs = []
    for t in range(steps):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs.append(h)
    dp = [2 * (hs[t] @ V + c - y[:, t]) / y.size for t in range(steps)]
    grad = np.zeros((2, units))
    expected = np.zeros(steps)
    for t in reversed(range(steps)):
        grad = dp[t] @ V.T + (grad * (1 - hs[t + 1] ** 2)) @ U.T if t + 1 < steps else dp[t] @ V.T
        expected[t] = np.linalg.norm(grad)
    np.testing.assert_allclose(profile, expected, rtol=1e-4)


def test_go_backwards_profile_is_indexed_by_input_time():
    x, y = long_batch(0)
    x, steps = x[:, :30], 30
    forward = gradient_flow(classifier(layers.Elman(8), steps), x, y)
    backward = gradient_flow(classifier(layers.Elman(8, go_backwards=True), steps), x, y)
    # the last step processed is closest to the loss: t = T-1 forwards, t = 0 backwards
    assert forward[-1] > 1e3 * forward[0]
    assert backward[0] > 1e3 * backward[-1]


def test_named_layer_and_bidirectional_forward_direction():
    x, y = long_batch(0)
    x = x[:, :20]
    model = keras.Sequential(
        [
            keras.Input((20, 4)),
            layers.Bidirectional(layers.LSTM(6, return_sequences=True), name="bi"),
            layers.Elman(5, name="top"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy")
    top = gradient_flow(model, x, y, layer=model.get_layer("top"))
    bi = gradient_flow(model, x, y, layer="bi")
    first = gradient_flow(model, x, y)
    assert top.shape == bi.shape == (20,)
    np.testing.assert_allclose(first, bi)  # the first recurrent layer by default
    assert top[-1] > top[0]


def test_explicit_loss_for_an_uncompiled_model():
    x, y = long_batch(0)
    model = keras.Sequential([keras.Input((T, 4)), keras.layers.LSTM(4), keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match="needs a loss"):
        gradient_flow(model, x, y)
    profile = gradient_flow(model, x, y, loss="sparse_categorical_crossentropy")
    assert profile.shape == (T,) and np.all(profile > 0)


def test_bad_inputs():
    x, y = long_batch(0)
    x = x[:, :10]
    model = classifier(layers.Elman(4), steps=10)
    dense_only = keras.Sequential([keras.Input((10, 4)), keras.layers.Flatten(), keras.layers.Dense(3)])
    dense_only.compile(loss="mse")
    with pytest.raises(ValueError, match="no recurrent layer"):
        gradient_flow(dense_only, x, np.zeros((16, 3)))
    with pytest.raises(ValueError, match="layer='nope' is not in model"):
        gradient_flow(model, x, y, layer="nope")
    with pytest.raises(ValueError, match="not a recurrent layer"):
        gradient_flow(model, x, y, layer=model.layers[-1].name)
    bad = x.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        gradient_flow(model, bad, y)
    with pytest.raises(ValueError, match="same number of examples, got 16 and 15"):
        gradient_flow(model, x, y[:15])
    with pytest.raises(ValueError, match="loss='no_such_loss'"):
        gradient_flow(model, x, y, loss="no_such_loss")
    with pytest.raises(ValueError, match="must be a Keras model"):
        gradient_flow("model", x, y)
