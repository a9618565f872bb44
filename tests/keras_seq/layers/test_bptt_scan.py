"""The hand-written BPTT (training calls) against automatic differentiation of
the plain loop (inference calls), for every way a step's gradient is formed:
closed-form LSTM and Elman steps, the lecture's LSTM, cells whose activations
fall back to differentiating the step, with and without masks, last output or
all outputs, forwards or backwards, with the final states in the loss."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.layers import LSTM, Elman, Recurrent
from keras_seq.layers.bptt_scan import scan_with_bptt
from keras_seq.layers.lstm_cell import LSTMCell

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 0, 1]], bool)

LAYERS = {
    "lstm": lambda **kw: LSTM(5, **kw),
    "lstm-lecture": lambda **kw: LSTM(5, output_activation=None, **kw),
    "lstm-relu-step-autodiff": lambda **kw: LSTM(5, activation="relu", **kw),
    "elman": lambda **kw: Elman(5, **kw),
    "elman-softsign-step-autodiff": lambda **kw: Elman(5, activation="softsign", **kw),
}


def gradients(layer, x, mask, training, initial_state=None):
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = layer(x, mask=mask, training=training, initial_state=initial_state)
        loss = sum(tf.reduce_sum(tf.sin(2.0 * y + i)) for i, y in enumerate(outputs))
    return tape.gradient(loss, [x] + layer.trainable_weights)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_training_gradients_equal_autodiff_of_the_loop(kind, mask, return_sequences, go_backwards):
    layer = LAYERS[kind](return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    layer(X)
    x = tf.constant(X)
    assert layer.uses_bptt_scan(True) and not layer.uses_bptt_scan(False)
    for hand, auto in zip(gradients(layer, x, mask, True), gradients(layer, x, mask, False)):
        np.testing.assert_allclose(hand, auto, atol=1e-5)


def test_zero_output_for_masked_last_step_passes_no_gradient_back():
    """zero_output_for_mask with only the last output returned: a row whose
    last step is masked outputs zeros, so its output gradient reaches no step."""
    cell = LSTMCell(5)
    layer = Recurrent(cell, return_state=True, zero_output_for_mask=True)
    layer(X)
    x = tf.constant(X)
    for hand, auto in zip(gradients(layer, x, MASK, True), gradients(layer, x, MASK, False)):
        np.testing.assert_allclose(hand, auto, atol=1e-5)


def test_gradient_reaches_the_initial_states():
    layer = LSTM(5, return_sequences=True)
    layer(X)
    x = tf.constant(X)
    state = [tf.constant(RNG.normal(size=(3, 5)).astype("float32")) for _ in range(2)]

    def state_gradients(training):
        with tf.GradientTape() as tape:
            tape.watch(state)
            loss = tf.reduce_sum(tf.sin(layer(x, mask=MASK, training=training, initial_state=state)))
        return tape.gradient(loss, state)

    for hand, auto in zip(state_gradients(True), state_gradients(False)):
        np.testing.assert_allclose(hand, auto, atol=1e-5)


def test_zero_length_sequence_gives_zero_gradients():
    cell = LSTMCell(5)
    cell.build((None, 4))
    inputs = tf.zeros((0, 3, 4))
    states = [tf.ones((3, 5)), tf.ones((3, 5))]
    weights = [cell.kernel, cell.bias, cell.recurrent_kernel]
    with tf.GradientTape() as tape:
        tape.watch(states)
        output, final = scan_with_bptt(cell, inputs, states, *map(tf.convert_to_tensor, weights))
        loss = tf.reduce_sum(output) + tf.reduce_sum(final[1])
    d_states = tape.gradient(loss, states)
    np.testing.assert_allclose(d_states[0], 1.0)  # the output is h_0 itself
    np.testing.assert_allclose(d_states[1], 1.0)
