"""The op report's GPU verdict, read from the file alone (Chromium's WebGPU checks it in
``tests/demos/test_browser_runner.py``)."""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, to_tflite
from keras_seq.export.gpu_delegation import gpu_unsupported
from keras_seq.models import digits_rnn, lenet5


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class FirstRow(keras.layers.Layer):
    """``x[:, 0]``: a STRIDED_SLICE with shrink_axis_mask, which the GPU refuses."""

    def call(self, x):
        return x[:, 0]


def first_row_model():
    return keras.Sequential([keras.Input((6, 4)), FirstRow(), keras.layers.Dense(3)])


def test_lenet_is_fully_delegated_and_the_report_says_so():
    report = op_report(to_tflite(lenet5("modern"), batch_size=1))
    assert report.gpu_delegated and report.gpu == ()
    assert "gpu accelerator (LiteRT GPU, LiteRT.js webgpu): fully delegated" in str(report)


def test_int8_lenet_is_fully_delegated():
    x = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    report = op_report(to_tflite(lenet5("modern"), quantization="int8", batch_size=1, representative_data=x))
    assert report.gpu_delegated, report.gpu


def test_a_while_loop_is_not_delegated():
    report = op_report(to_tflite(digits_rnn(units=4), batch_size=1, recurrent="loop"))
    assert not report.gpu_delegated
    assert any(reason.startswith("WHILE: control flow") for reason in report.gpu), report.gpu
    # the loop body gathers step t with a scalar index, which the GPU refuses too
    assert any(reason.startswith("GATHER: only 1-D indices") for reason in report.gpu), report.gpu
    assert "not fully delegated, on the CPU: " in str(report)


def test_the_unrolled_recurrence_is_fully_delegated():
    data = to_tflite(digits_rnn(units=4), batch_size=1, recurrent="unroll")
    assert op_report(data).gpu_delegated, op_report(data).gpu


def test_int8_of_the_unrolled_lstm_is_fully_delegated():
    """Its first step (C_0 = 0) computes no forget gate, so no int8 SPLIT leaves an output unread."""
    x = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    data = to_tflite(digits_rnn(units=4), quantization="int8", batch_size=1, representative_data=x,
                     recurrent="unroll")
    assert op_report(data).gpu_delegated, op_report(data).gpu


def test_an_int8_split_with_an_unread_output_is_named():
    inputs = keras.Input((12,))
    first, _, third = keras.ops.split(keras.layers.Dense(12)(inputs), 3, axis=1)
    model = keras.Model(inputs, first * third)
    x = np.random.default_rng(0).random((16, 12), dtype=np.float32)
    assert op_report(to_tflite(model, batch_size=1)).gpu_delegated  # float: LiteRT.js runs it
    reasons = op_report(to_tflite(model, quantization="int8", batch_size=1, representative_data=x)).gpu
    assert reasons == ("SPLIT: an int8 split with an output no op reads (LiteRT.js's WebGPU fails on it)",)


def test_a_shrinking_slice_is_named():
    assert gpu_unsupported(to_tflite(first_row_model(), batch_size=1)) == [
        "STRIDED_SLICE: no shrink_axis_mask (x[:, t] drops an axis; slice x[:, t:t+1] and reshape instead)"]


def test_a_rank_5_tensor_is_named():
    model = keras.Sequential([keras.Input((3, 4, 4, 2)), keras.layers.Reshape((3, 32)), keras.layers.Dense(2)])
    (reason,) = gpu_unsupported(to_tflite(model, batch_size=1))
    assert reason.startswith("RESHAPE: rank-5 input [1, 3, 4, 4, 2]"), reason


def test_a_dynamic_batch_is_not_delegated_for_the_compiled_model_reason():
    report = op_report(to_tflite(lenet5("modern")))
    assert report.dynamic and not report.gpu_delegated
    assert report.gpu[0] == report.runtimes["compiled-model"]


def test_an_edge_model_gets_the_verdict_of_its_file():
    data = to_tflite(digits_rnn(units=4), batch_size=1, recurrent="loop")
    assert op_report(EdgeModel(data, verify=False)).gpu == op_report(data).gpu != ()


@pytest.mark.parametrize("data", [b"", b"TFL3" * 4])
def test_a_damaged_file_gets_the_file_error(data):
    from keras_seq.saving import ModelFileError

    with pytest.raises(ModelFileError):
        op_report(data)
