"""The files to_tflite writes by default for the project's models are ones LiteRT's GPU accelerator takes whole.

Checked from the file alone (:func:`keras_seq.export.gpu_delegation.gpu_unsupported`); the browser tests
run such files on LiteRT.js's WebGPU accelerator.
"""

import keras
import numpy as np
import pytest

from keras_seq.export import op_report, to_tflite
from keras_seq.export.gpu_delegation import gpu_unsupported
from keras_seq.layers import LSTM, Bidirectional, Elman
from keras_seq.models import digits_rnn, handwriting, lenet5


def rank3_elman():
    rows = keras.Input((28, 28))  # a rank-3 input: (batch, T, features)
    return keras.Model(rows, keras.layers.Dense(10, activation="softmax")(Elman(8)(rows)))


def masked_bilstm():
    x = keras.Input((10, 5))
    h = Bidirectional(LSTM(6, return_sequences=True))(keras.layers.Masking(0.0)(x))
    return keras.Model(x, keras.layers.Dense(3)(h))


@pytest.mark.parametrize("build, kwargs", [
    (lambda: lenet5("faithful"), {}),
    (lambda: digits_rnn(units=8), {}),
    (rank3_elman, {}),
    (masked_bilstm, {}),
], ids=["lenet5-faithful", "digits-rnn", "rank3-elman", "masked-bilstm"])
def test_batch_1_files_are_fully_delegable_to_the_gpu(build, kwargs):
    data = to_tflite(build(), batch_size=1, **kwargs)
    assert gpu_unsupported(data) == []


def test_the_handwriting_recurrence_is_delegable_but_its_rank_5_input_is_not():
    """(batch, T, 16, 8, 1) letters: the unrolled BiLSTM is taken, the rank-5 tensors are not."""
    data = to_tflite(handwriting(units=6, filters=(2, 4), features=8), max_length=6)
    assert gpu_unsupported(data) and all("rank-5" in reason for reason in gpu_unsupported(data))


def test_the_loop_is_what_the_gpu_refuses():
    assert any(reason.startswith("WHILE") for reason in gpu_unsupported(to_tflite(rank3_elman(), recurrent="loop")))


def test_the_connection_table_convolution_has_no_gather_even_int8():
    model = lenet5("faithful")
    calibration = np.random.default_rng(2).random((8, 28, 28, 1)).astype(np.float32)
    for kwargs in ({}, {"quantization": "int8", "representative_data": calibration}):
        data = to_tflite(model, batch_size=1, **kwargs)
        assert "GATHER" not in op_report(data).ops and gpu_unsupported(data) == []
