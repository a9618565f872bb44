"""Unrolled recurrences run whole on LiteRT.js's WebGPU accelerator (Chromium's software adapter) as in Keras.

Rank-3 inputs included: a looped file splits between GPU and CPU (LiteRT.js then fails, "Asyncify is
not defined", or refuses the rank-3 tensor at the split, which the GPU side holds as rank 4); the
unrolled file has no split.
"""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, to_tflite
from keras_seq.layers import LSTM, Bidirectional, Elman, stacked
from keras_seq.models import digits_rnn


def masked(x):
    return keras.layers.Masking(0.0)(x)


@pytest.mark.parametrize("build", [
    lambda x: keras.layers.Dense(10, activation="softmax")(Elman(8)(x)),
    lambda x: Bidirectional(LSTM(6, return_sequences=True))(masked(x)),
    lambda x: Bidirectional(Elman(5), merge_mode="sum")(masked(x)),
    lambda x: stacked([6, 4], layer="lstm", return_sequences=True)(x),
    lambda x: keras.layers.LSTM(5, go_backwards=True, return_sequences=True)(masked(x)),
], ids=["rank3-elman-rows", "masked-bilstm", "masked-bi-elman-sum", "stacked-lstm", "masked-keras-lstm-backwards"])
def test_the_unrolled_file_runs_fully_on_webgpu_as_keras(runner, build):
    keras.utils.set_random_seed(0)
    x = keras.Input((12, 7))
    model = keras.Model(x, build(x))
    data = to_tflite(model)
    sample = np.random.default_rng(1).standard_normal((1, 12, 7)).astype(np.float32)
    sample[0, 9:] = 0.0  # padding at the end, masked where the model masks
    run = runner.run(data, sample, accelerator="webgpu")
    assert (run.ran_on, run.fully_accelerated, run.cpu_ops) == ("webgpu", True, ())
    expected = np.asarray(model(sample))
    np.testing.assert_allclose(np.reshape(run.output, expected.shape), expected, atol=1e-4)


@pytest.mark.parametrize("quantization", ["int8", "dynamic"])
def test_a_quantized_unrolled_lstm_runs_fully_on_webgpu(runner, quantization):
    """int8 activations (TensorFlow's calibrator) and int8 weights alike, on the digits RNN's image rows:
    the whole file on the GPU, within quantization error of the same file on the CPU."""
    keras.utils.set_random_seed(0)
    model = digits_rnn(units=6)
    calibration = np.random.default_rng(2).random((64, 28, 28, 1), dtype=np.float32)
    data = to_tflite(model, quantization=quantization, representative_data=calibration, recurrent="unroll")
    assert op_report(data).gpu_delegated
    sample = calibration[:1]
    run = runner.run(data, sample, accelerator="webgpu")
    assert (run.ran_on, run.fully_accelerated, run.cpu_ops) == ("webgpu", True, ())
    on_cpu = EdgeModel(data, verify=False).predict(sample)
    np.testing.assert_allclose(np.reshape(run.output, on_cpu.shape), on_cpu, atol=0.03)


def test_int8_of_a_rank_3_sequence_fails_on_webgpu_as_the_verdict_says(runner):
    """LiteRT.js 2.5.3's WebGPU fails on an int8 product over 9 or more rows of a rank-3 input."""
    keras.utils.set_random_seed(0)
    x = keras.Input((12, 7))
    model = keras.Model(x, LSTM(6)(x))
    calibration = np.random.default_rng(2).random((64, 12, 7), dtype=np.float32)
    data = to_tflite(model, quantization="int8", representative_data=calibration, recurrent="unroll")
    assert [r.split(":")[0] for r in op_report(data).gpu] == ["FULLY_CONNECTED"]
    with pytest.raises(RuntimeError, match="could not run .* on webgpu"):
        runner.run(data, calibration[:1], accelerator="webgpu")


def test_an_int8_split_with_an_unread_output_fails_on_webgpu_as_the_verdict_says(runner):
    inputs = keras.Input((12,))
    first, _, third = keras.ops.split(keras.layers.Dense(12)(inputs), 3, axis=1)
    model = keras.Model(inputs, first * third)
    x = np.random.default_rng(0).random((16, 12), dtype=np.float32)
    data = to_tflite(model, quantization="int8", batch_size=1, representative_data=x)
    assert not op_report(data).gpu_delegated
    with pytest.raises(RuntimeError, match="could not run .* on webgpu"):
        runner.run(data, x[:1], accelerator="webgpu")
