"""Files run in Chromium's LiteRT.js on WebGPU (software adapter) and wasm, against Keras and the op
report's GPU verdict."""

import keras
import numpy as np
import pytest

from keras_seq.export import op_report, to_tflite
from keras_seq.models import digits_rnn, lenet5


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class FirstRow(keras.layers.Layer):
    """``x[:, 0]``: a STRIDED_SLICE with shrink_axis_mask, which the GPU refuses."""

    def call(self, x):
        return x[:, 0]


def digit_input(seed=0):
    return np.random.default_rng(seed).random((1, 28, 28, 1), dtype=np.float32)


@pytest.mark.parametrize("accelerator", ["webgpu", "wasm"])
def test_lenet5_modern_runs_fully_on_the_accelerator_as_keras(runner, accelerator):
    keras.utils.set_random_seed(0)
    model = lenet5("modern")
    x = digit_input()
    run = runner.run(to_tflite(model, batch_size=1), x, accelerator=accelerator, repeats=2)
    assert (run.ran_on, run.fully_accelerated, run.cpu_ops) == (accelerator, True, ())
    np.testing.assert_allclose(run.output, np.asarray(model(x)), atol=1e-4)
    assert len(run.run_ms) == 2 and run.median_ms > 0


def _first_row():
    return keras.Sequential([keras.Input((28, 28)), FirstRow(), keras.layers.Dense(3)]), (1, 28, 28)


@pytest.mark.parametrize("name, build, recurrent", [
    ("unrolled digits RNN", lambda: (digits_rnn(units=4), (1, 28, 28, 1)), "unroll"),
    ("looped digits RNN", lambda: (digits_rnn(units=4), (1, 28, 28, 1)), "loop"),
    ("shrinking slice", _first_row, None),
])
def test_the_reports_gpu_verdict_is_what_webgpu_does(runner, name, build, recurrent):
    keras.utils.set_random_seed(1)
    model, shape = build()
    data = to_tflite(model, batch_size=1, recurrent=recurrent)
    x = np.random.default_rng(2).random(shape, dtype=np.float32)
    report = op_report(data)
    try:
        run = runner.run(data, x, accelerator="webgpu")
    except RuntimeError as error:   # a WHILE loop split between GPU and wasm breaks LiteRT.js
        assert not report.gpu_delegated, f"{name}: the report says fully delegated, WebGPU failed: {error}"
        assert "WHILE" in str(error)
        return
    assert run.fully_accelerated == report.gpu_delegated, (name, report.gpu, run.cpu_ops)
    np.testing.assert_allclose(run.output, np.asarray(model(x)), atol=1e-4, err_msg=name)
    for reason in report.gpu:          # each op the report names is one LiteRT left to the CPU
        assert any(line.startswith(reason.split(":")[0] + ":") for line in run.cpu_ops), (reason, run.cpu_ops)


def test_bad_arguments_get_clear_errors(runner):
    data = to_tflite(lenet5("modern"), batch_size=1)
    with pytest.raises(ValueError, match="accelerator"):
        runner.run(data, digit_input(), accelerator="gpu")
    with pytest.raises(RuntimeError, match="LiteRT.js could not run"):
        runner.run(data, np.zeros(5, np.float32), accelerator="wasm")
