"""The recurrent step arithmetic: the zero-state LSTM step is the general step at C_{t-1} = 0."""

import keras
import numpy as np
import pytest

from keras_seq.layers import recurrent_math


@pytest.mark.parametrize("gate_order", [recurrent_math.KERAS_GATE_ORDER, recurrent_math.SIGMOID_GATES_FIRST])
@pytest.mark.parametrize("output_activation", [keras.activations.tanh, None])
def test_the_zero_state_step_is_the_step_from_a_zero_cell(gate_order, output_activation):
    z = np.random.default_rng(0).standard_normal((3, 20)).astype(np.float32)
    args = (keras.activations.sigmoid, keras.activations.tanh, output_activation)
    h, c = recurrent_math.lstm_step(z, None, *args, gate_order=gate_order)
    h0, c0 = recurrent_math.lstm_step(z, np.zeros((3, 5), np.float32), *args, gate_order=gate_order)
    np.testing.assert_allclose(h, h0, atol=1e-7)
    np.testing.assert_allclose(c, c0, atol=1e-7)
