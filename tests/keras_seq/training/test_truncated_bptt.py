import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq import layers
from keras_seq.training import GradientNormMonitor, TruncatedBPTT

B, T, F, K = 4, 10, 3, 4  # 10 steps by chunks of 4: [0, 4), [4, 8), [8, 10)

RECURRENT = {
    "ours-lstm": lambda **kw: layers.LSTM(5, return_sequences=True, **kw),
    "ours-elman": lambda **kw: layers.Elman(5, return_sequences=True, **kw),
    "keras-lstm": lambda **kw: keras.layers.LSTM(5, return_sequences=True, **kw),
}


def stateful_and_plain(kind, batch_size=B):
    """A stateful model for truncated BPTT and a plain one with the same weights."""
    make = RECURRENT[kind]
    stateful = keras.Sequential(
        [keras.Input(batch_shape=(batch_size, None, F)), make(stateful=True), keras.layers.Dense(2)]
    )
    plain = keras.Sequential([keras.Input((None, F)), make(), keras.layers.Dense(2)])
    plain.set_weights(stateful.get_weights())
    return stateful, plain


def sequences(n=2 * B, steps=T, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, steps, F)).astype("float32"), rng.normal(size=(n, steps, 2)).astype("float32")


@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_chunked_forward_pass_equals_the_untruncated_one(kind):
    stateful, plain = stateful_and_plain(kind)
    x, _ = sequences()
    tbptt = TruncatedBPTT(stateful, K)
    assert tbptt.chunks(T) == [(0, 4), (4, 8), (8, 10)]
    np.testing.assert_allclose(tbptt.predict(x), plain.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    if kind == "ours-lstm":  # again: the states are reset between batches and calls, nothing leaks
        np.testing.assert_allclose(tbptt.predict(x[::-1]), plain.predict(x[::-1], verbose=0), rtol=1e-5, atol=1e-6)


def reached_steps(model_fn, x):
    """For every output step t, the input steps its gradient reaches."""
    x = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        out = model_fn(x)
        sums = [tf.reduce_sum(out[:, t]) for t in range(T)]
    reached = [np.flatnonzero(np.abs(tape.gradient(s, x).numpy()).sum(axis=(0, 2)) > 0) for s in sums]
    return reached


@pytest.mark.parametrize("kind", ["ours-lstm", "keras-lstm"])
def test_gradient_is_cut_exactly_at_the_chunk_start(kind):
    stateful, plain = stateful_and_plain(kind)
    x, _ = sequences(n=B)
    truncated = reached_steps(TruncatedBPTT(stateful, K).forward, x)
    full = reached_steps(plain, x)
    for t in range(T):
        chunk_start = (t // K) * K
        assert truncated[t].tolist() == list(range(chunk_start, t + 1)), t
        assert full[t].tolist() == list(range(0, t + 1)), t  # without truncation it goes back to t = 0


def test_fit_is_one_sgd_step_per_chunk_with_state_carried_and_gradient_cut():
    stateful, _ = stateful_and_plain("ours-lstm")
    by_hand, _ = stateful_and_plain("ours-lstm")
    by_hand.set_weights(stateful.get_weights())
    x, y = sequences()
    stateful.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    monitor = GradientNormMonitor()
    history = TruncatedBPTT(stateful, K).fit(x, y, epochs=1, shuffle=False, callbacks=[monitor])

    variables = by_hand.trainable_variables
    recurrent = by_hand.layers[0]
    losses, norms = [], []
    for b in range(0, len(x), B):
        recurrent.reset_state()
        for start, stop in [(0, 4), (4, 8), (8, 10)]:
            with tf.GradientTape() as tape:
                error = by_hand(x[b : b + B, start:stop], training=True) - y[b : b + B, start:stop]
                loss = tf.reduce_mean(error**2)
            grads = tape.gradient(loss, variables)
            norms.append(np.sqrt(sum(float(tf.reduce_sum(g**2)) for g in grads)))
            losses.append(float(loss))
            for v, g in zip(variables, grads):
                v.assign(v - 0.5 * g)
    for got, want in zip(stateful.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(monitor.norms, norms, rtol=1e-4)  # 2 batches x 3 chunks
    assert history.history["loss"] == pytest.approx([np.mean(losses)], rel=1e-4)


def test_sequence_not_longer_than_k_is_one_chunk_of_plain_bptt():
    stateful, plain = stateful_and_plain("ours-elman")
    tbptt = TruncatedBPTT(stateful, 50)
    x, _ = sequences(n=B)
    assert tbptt.chunks(T) == [(0, T)]
    np.testing.assert_allclose(tbptt.predict(x), plain.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert reached_steps(tbptt.forward, x)[-1].tolist() == list(range(T))


@pytest.mark.parametrize("k", [0, -3, 2.5, True, "4", None])
def test_k_must_be_a_positive_int(k):
    stateful, _ = stateful_and_plain("ours-elman")
    with pytest.raises(ValueError, match=r"k=.* is not allowed; expected an int >= 1"):
        TruncatedBPTT(stateful, k)


def test_models_it_cannot_train():
    plain = keras.Sequential([keras.Input((None, F)), layers.LSTM(3, return_sequences=True)])
    with pytest.raises(ValueError, match="stateful=False"):
        TruncatedBPTT(plain, K)
    bidirectional = keras.Sequential(
        [keras.Input(batch_shape=(B, None, F)),
         layers.Bidirectional(layers.LSTM(3, return_sequences=True, stateful=True))]
    )
    with pytest.raises(ValueError, match="Bidirectional"):
        TruncatedBPTT(bidirectional, K)
    dense = keras.Sequential([keras.Input(batch_shape=(B, None, F)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no recurrent layer"):
        TruncatedBPTT(dense, K)
    unbuilt = keras.Sequential([layers.LSTM(3, return_sequences=True, stateful=True)])
    with pytest.raises(ValueError, match="not built"):
        TruncatedBPTT(unbuilt, K)
    many_to_one = keras.Sequential([keras.Input(batch_shape=(B, None, F)), layers.LSTM(3, stateful=True)])
    many_to_one.compile(optimizer="sgd", loss="mse")
    x, _ = sequences()
    with pytest.raises(ValueError, match="one output per time step"):
        TruncatedBPTT(many_to_one, K).fit(x, np.zeros((2 * B, T, 3), "float32"))
    with pytest.raises(ValueError, match="must be a keras.Model"):
        TruncatedBPTT(layers.LSTM(3, stateful=True), K)


def test_bad_data():
    stateful, _ = stateful_and_plain("ours-elman")
    stateful.compile(optimizer="sgd", loss="mse")
    tbptt = TruncatedBPTT(stateful, K)
    x, y = sequences()
    with pytest.raises(ValueError, match="multiple of the model's batch size 4 sequences, got 6"):
        tbptt.fit(x[:6], y[:6])
    nan_x = x.copy()
    nan_x[1, 7, 0] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        tbptt.fit(nan_x, y)
    nan_y = y.copy()
    nan_y[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="y contains NaN"):
        tbptt.fit(x, nan_y)
    with pytest.raises(ValueError, match="per-step targets"):
        tbptt.fit(x, y[:, :5])
    with pytest.raises(ValueError, match="floating point"):
        tbptt.predict(x.astype("int32"))
    with pytest.raises(ValueError, match=r"shape \(N, T, features"):
        tbptt.predict(x[:, :, 0])
    with pytest.raises(ValueError, match="at least one time step"):
        tbptt.predict(x[:, :0])
    with pytest.raises(ValueError, match="epochs=0 is not allowed"):
        tbptt.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match=r"one batch of shape \(4, T"):
        tbptt.forward(x)
    stateful.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution=1"):
        tbptt.fit(x, y)
