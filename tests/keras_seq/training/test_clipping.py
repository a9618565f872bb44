"""Keras's clipnorm / global_clipnorm implement clipping by norm (Pascanu et al. 2013).

    G = g                    if ||g||_2 <= tau
    G = (tau / ||g||_2) g    otherwise            (Pascanu et al., 2013)

``global_clipnorm``: g is all gradients together; ``clipnorm``: each
variable's gradient is its own g.
"""

import keras
import numpy as np
import pytest

LR = 0.5
# two variables; ||g1|| = 5, ||g2|| = 13, ||(g1, g2)|| = sqrt(194) ~ 13.93
G1 = np.array([3.0, 4.0])
G2 = np.array([[5.0, 12.0]])
START = [np.array([1.0, -1.0]), np.array([[0.5, 2.0]])]


def lecture_clip(g, tau):
    norm = np.sqrt(sum(np.sum(gi**2) for gi in g))
    return [gi if norm <= tau else tau / norm * gi for gi in g]


def one_sgd_step(**clip):
    variables = [keras.Variable(w.astype("float32")) for w in START]
    keras.optimizers.SGD(LR, **clip).apply([G1.astype("float32"), G2.astype("float32")], variables)
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("tau", [1.0, 10.0, 13.5, 14.0, 100.0])
def test_global_clipnorm_is_the_lecture_rule_on_all_gradients_together(tau):
    G = lecture_clip([G1, G2], tau)
    for got, w, g in zip(one_sgd_step(global_clipnorm=tau), START, G):
        np.testing.assert_allclose(got, w - LR * g, rtol=1e-6)


@pytest.mark.parametrize("tau", [1.0, 5.0, 10.0, 13.0, 100.0])
def test_clipnorm_is_the_lecture_rule_per_variable(tau):
    G = [lecture_clip([G1], tau)[0], lecture_clip([G2], tau)[0]]
    for got, w, g in zip(one_sgd_step(clipnorm=tau), START, G):
        np.testing.assert_allclose(got, w - LR * g, rtol=1e-6)


def test_clipped_step_keeps_the_direction_and_has_length_tau():
    tau = 2.0
    after = one_sgd_step(global_clipnorm=tau)
    step = np.concatenate([(w - a).ravel() for w, a in zip(START, after)]) / LR
    g = np.concatenate([G1.ravel(), G2.ravel()])
    assert np.linalg.norm(step) == pytest.approx(tau, rel=1e-6)
    np.testing.assert_allclose(step / tau, g / np.linalg.norm(g), rtol=1e-5)


def test_one_fit_step_of_a_model_is_clipped_the_same_way():
    # y_pred = x @ w and loss = y_pred, so the gradient is x^T exactly: (6, 8), norm 10
    x = np.array([[6.0, 8.0]], "float32")
    for tau, expected_step in [(2.5, x.T * 0.25), (20.0, x.T)]:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
        model.compile(optimizer=keras.optimizers.SGD(1.0, global_clipnorm=tau), loss=lambda y, p: keras.ops.sum(p))
        model.fit(x, np.zeros((1, 1), "float32"), epochs=1, verbose=0)
        np.testing.assert_allclose(model.get_weights()[0], -expected_step, rtol=1e-6)


def test_keras_refuses_two_clipping_options_at_once():
    with pytest.raises(ValueError, match="Only one of"):
        keras.optimizers.SGD(0.1, clipnorm=1.0, global_clipnorm=1.0)
