"""The files to_tflite writes by default for the project's models are ones LiteRT's GPU accelerator takes whole.

Checked from the file alone (:func:`keras_seq.export.gpu_delegation.gpu_unsupported`); the browser tests
run such files on LiteRT.js's WebGPU accelerator.
"""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, to_tflite
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


def test_the_handwriting_file_drops_the_letters_channel_so_the_gpu_takes_it_whole():
    """(batch, T, 16, 8, 1) letters: the file takes (1, T, 16, 8) (the GPU takes no rank-5 tensor) and
    EdgeModel still takes the model's shape, giving Keras's outputs."""
    keras.utils.set_random_seed(0)
    model = handwriting(units=6, filters=(2, 4), features=8)
    data = to_tflite(model, max_length=6)
    assert gpu_unsupported(data) == []
    edge = EdgeModel(data)
    assert edge.signature["inputs"][0]["shape"] == (1, 6, 16, 8) and edge.input_shape == (1, 6, 16, 8, 1)
    words = [(np.random.default_rng(n).random((n, 16, 8, 1)) > 0.6).astype(np.float32) for n in (2, 6)]
    for word, probabilities in zip(words, edge.predict(words)):
        np.testing.assert_allclose(probabilities, model.predict(word[None], verbose=0)[0], atol=1e-5)
    with pytest.raises(ValueError, match="expected 5 dimensions"):
        edge.predict(words[1][..., 0][None])       # the file's own shape is not what predict takes
    calibration = [w for w in words for _ in range(4)]
    int8 = EdgeModel(to_tflite(model, max_length=6, quantization="int8", recurrent="unroll",
                               representative_data=calibration))
    assert int8.signature["inputs"][0]["shape"] == (1, 6, 16, 8)
    np.testing.assert_allclose(int8.predict(words[1][None]), edge.predict(words[1][None]), atol=0.1)


def test_a_rank_5_input_with_channels_is_left_as_it_is():
    x = keras.Input((4, 6, 6, 2))
    model = keras.Model(x, keras.layers.Dense(3)(keras.layers.Reshape((4, 72))(x)))
    edge = EdgeModel(to_tflite(model, batch_size=1))
    assert edge.signature["inputs"][0]["shape"] == edge.input_shape == (1, 4, 6, 6, 2)


def test_the_loop_is_what_the_gpu_refuses():
    assert any(reason.startswith("WHILE") for reason in gpu_unsupported(to_tflite(rank3_elman(), recurrent="loop")))


def test_the_connection_table_convolution_has_no_gather_even_int8():
    model = lenet5("faithful")
    calibration = np.random.default_rng(2).random((8, 28, 28, 1)).astype(np.float32)
    for kwargs in ({}, {"quantization": "int8", "representative_data": calibration}):
        data = to_tflite(model, batch_size=1, **kwargs)
        assert "GATHER" not in op_report(data).ops and gpu_unsupported(data) == []
