import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.training import GradientNormMonitor

LR = 0.1


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = (5 * rng.normal(size=(16, 2))).astype("float32")
    return x, y


def small_model():
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(2)])


def hand_sgd(model, x, y, batch_size, epochs, clip):
    """Plain SGD by hand; returns the unclipped global norms, per-variable norms, final weights."""
    variables = model.trainable_variables
    norms, per_variable = [], []
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(xb) - yb) ** 2)
            grads = [g.numpy().astype(np.float64) for g in tape.gradient(loss, variables)]
            var_norms = np.array([np.linalg.norm(g) for g in grads])
            norm = np.sqrt(np.sum(var_norms**2))
            norms.append(norm)
            per_variable.append(var_norms)
            for v, g, gn in zip(variables, grads, var_norms):
                scale = clip(norm, gn)
                v.assign(v.numpy() - LR * scale * g)
    return np.array(norms), np.array(per_variable), model.get_weights()


def fit_monitored(optimizer, epochs=2, batch_size=4, steps_per_execution=1):
    x, y = data()
    model = small_model()
    reference = keras.models.clone_model(model)
    reference.set_weights(model.get_weights())
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=steps_per_execution)
    monitor = GradientNormMonitor()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=[monitor])
    return model, reference, monitor, history, (x, y)


def test_global_clipnorm_norms_and_flags_match_a_hand_computation():
    tau = 8.0
    model, reference, monitor, history, (x, y) = fit_monitored(keras.optimizers.SGD(LR, global_clipnorm=tau))
    norms, _, weights = hand_sgd(reference, x, y, 4, 2, clip=lambda n, gn: min(1.0, tau / n))
    np.testing.assert_allclose(monitor.norms, norms, rtol=1e-5)
    np.testing.assert_array_equal(monitor.clipped, norms > tau)
    assert 0 < monitor.clipped.sum() < len(norms)  # the threshold splits the steps
    assert monitor.clip_fraction == pytest.approx(np.mean(norms > tau))
    for got, want in zip(model.get_weights(), weights):  # training itself is unchanged
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    # written to the training log once per epoch
    assert history.history["grad_norm"] == pytest.approx([norms[:4].mean(), norms[4:].mean()], rel=1e-5)
    assert history.history["grad_norm_max"] == pytest.approx([norms[:4].max(), norms[4:].max()], rel=1e-5)
    assert history.history["clip_fraction"] == pytest.approx([np.mean(norms[:4] > tau), np.mean(norms[4:] > tau)])
    assert [len(e) for e in monitor.epoch_norms] == [4, 4]


def test_per_variable_clipnorm_fires_when_any_variable_exceeds_tau():
    tau = 5.0
    model, reference, monitor, _, (x, y) = fit_monitored(keras.optimizers.SGD(LR, clipnorm=tau))
    norms, per_variable, weights = hand_sgd(reference, x, y, 4, 2, clip=lambda n, gn: min(1.0, tau / gn))
    np.testing.assert_allclose(monitor.norms, norms, rtol=1e-5)
    fired = (per_variable > tau).any(axis=1)
    assert 0 < fired.sum() < len(fired)
    np.testing.assert_array_equal(monitor.clipped, fired)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_without_clipping_nothing_fires():
    _, reference, monitor, _, (x, y) = fit_monitored(keras.optimizers.SGD(LR), epochs=1)
    norms, _, _ = hand_sgd(reference, x, y, 4, 1, clip=lambda n, gn: 1.0)
    np.testing.assert_allclose(monitor.norms, norms, rtol=1e-5)
    assert not monitor.clipped.any() and monitor.clip_fraction == 0.0


def test_every_step_is_recorded_with_steps_per_execution():
    # 16 samples, batch 2 -> 8 steps per epoch, executed 3 at a time (3 + 3 + 2)
    _, reference, monitor, _, (x, y) = fit_monitored(
        keras.optimizers.SGD(LR, global_clipnorm=8.0), epochs=2, batch_size=2, steps_per_execution=3
    )
    norms, _, _ = hand_sgd(reference, x, y, 2, 2, clip=lambda n, gn: min(1.0, 8.0 / n))
    assert monitor.norms.shape == (16,)
    np.testing.assert_allclose(monitor.norms, norms, rtol=1e-4)


def test_the_optimizer_is_restored_after_fit_with_adam():
    model, _, monitor, _, (x, y) = fit_monitored(keras.optimizers.Adam(0.01, global_clipnorm=8.0), epochs=1)
    assert "apply" not in vars(model.optimizer)
    np.testing.assert_array_equal(monitor.clipped, monitor.norms > 8.0)
    before = monitor.norms.copy()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # no monitor now: nothing recorded
    np.testing.assert_array_equal(monitor.norms, before)


def test_nothing_recorded_yet_is_an_error():
    with pytest.raises(RuntimeError, match="no training step"):
        _ = GradientNormMonitor().clip_fraction
    assert GradientNormMonitor().norms.shape == (0,)


def test_gradient_accumulation_is_refused():
    x, y = data()
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(LR, global_clipnorm=1.0, gradient_accumulation_steps=2), loss="mse")
    with pytest.raises(ValueError, match="gradient_accumulation_steps=2"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientNormMonitor()])


def test_nan_gradient_is_recorded_not_hidden():
    x, y = data()
    x[3, 0] = np.nan
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(LR, global_clipnorm=1.0), loss="mse")
    monitor = GradientNormMonitor()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    assert np.isnan(monitor.norms[0])


def test_loss_scale_optimizer_norms_are_unscaled():
    x, y = data()
    model = small_model()
    reference = keras.models.clone_model(model)
    reference.set_weights(model.get_weights())
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(LR, global_clipnorm=1.0))
    model.compile(optimizer=optimizer, loss="mse")
    monitor = GradientNormMonitor()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    norms, _, _ = hand_sgd(reference, x, y, 16, 1, clip=lambda n, gn: min(1.0, 1.0 / n))
    np.testing.assert_allclose(monitor.norms, norms, rtol=1e-5)  # not multiplied by the loss scale (2**15)
    assert monitor.clipped.tolist() == [True]
