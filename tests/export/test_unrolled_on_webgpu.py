"""Unrolled recurrences run whole on LiteRT.js's WebGPU accelerator (Chromium's software adapter) as in Keras.

Rank-3 inputs included: a looped file splits between GPU and CPU (LiteRT.js then fails, "Asyncify is
not defined", or refuses the rank-3 tensor at the split, which the GPU side holds as rank 4); the
unrolled file has no split.
"""

import keras
import numpy as np
import pytest

from keras_seq.export import to_tflite
from keras_seq.layers import LSTM, Bidirectional, Elman, stacked


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
