"""``recurrent="unroll"``: straight-line recurrences (no WHILE, no GATHER), weights once, parity with Keras."""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, to_tflite
from keras_seq.export.parity import keras_outputs
from keras_seq.export.recurrent_unrolled import UNROLL_MAX_STEPS
from keras_seq.export.tflite_file import read_tflite
from keras_seq.layers import LSTM, Bidirectional, Elman, stacked
from keras_seq.models import digits_rnn, handwriting, word_reader

# Builtin ops LiteRT's GPU accelerator runs; an unrolled recurrence uses no others.
GPU_STEP_OPS = {
    "FULLY_CONNECTED", "ADD", "SUB", "MUL", "LOGISTIC", "TANH", "CONCATENATION", "SLICE", "SPLIT", "SPLIT_V",
    "RESHAPE", "TRANSPOSE", "SOFTMAX",
}


def sequences(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def exported(model, **kwargs):
    """``(bytes, op report)`` of ``to_tflite(model, **kwargs)``."""
    data = to_tflite(model, **kwargs)
    return data, op_report(data)


def assert_matches_keras_everywhere(model, data, x, atol=1e-5):
    expected = keras_outputs(model, x)
    for runtime in ("interpreter", "compiled-model"):
        got = EdgeModel(data, verify=False, runtime=runtime).predict(x)
        np.testing.assert_allclose(got, expected, atol=atol, err_msg=runtime)


def masked_input(time=7, features=3):
    x = keras.Input((time, features))
    return x, keras.layers.Masking(0.0)(x)


@pytest.mark.parametrize(
    "build",
    [
        lambda x: Elman(6)(x),
        lambda x: keras.layers.SimpleRNN(6, go_backwards=True, return_sequences=True)(x),
        lambda x: LSTM(6, return_sequences=True)(x),
        lambda x: LSTM(6, output_activation=None)(x),
        lambda x: keras.layers.LSTM(6, go_backwards=True)(x),
        lambda x: Bidirectional(LSTM(5, return_sequences=True))(x),
        lambda x: Bidirectional(Elman(5), merge_mode="sum")(x),
        lambda x: stacked([6, 4], layer="lstm", return_sequences=True)(x),
        lambda x: keras.layers.Add()(LSTM(4, return_state=True)(x)[1:]),
    ],
    ids=["elman", "keras-simplernn-backwards-sequences", "lstm-sequences", "lstm-h=O*C", "keras-lstm-backwards",
         "bilstm-sequences", "bi-elman-sum", "stacked-lstm", "lstm-final-states"],
)
def test_each_family_unrolls_into_gpu_ops_and_matches_keras(build):
    x = keras.Input((7, 3))
    model = keras.Model(x, build(x))
    data, report = exported(model)
    assert report.loops == 0 and report.subgraphs == 1
    assert set(report.ops) <= GPU_STEP_OPS, set(report.ops) - GPU_STEP_OPS
    assert {item["lowering"] for item in report.lowering} == {"unroll"}
    assert_matches_keras_everywhere(model, data, sequences((3, 7, 3)))


@pytest.mark.parametrize("zero_output", [False, True], ids=["carried-output", "zero-output"])
def test_masked_steps_keep_keras_semantics_without_select(zero_output):
    """Padding at the end and in the middle, forward, backward and bidirectional: the
    masking rule is arithmetic on a 0/1 mask (the GPU accelerator has no SELECT)."""
    x, h = masked_input()
    forward = LSTM(5, return_sequences=True, zero_output_for_mask=zero_output)(h)
    backward = Elman(4, go_backwards=True)(h)
    both = Bidirectional(LSTM(3, return_sequences=True))(h)
    model = keras.Model(x, keras.layers.Concatenate()([forward, both, keras.layers.RepeatVector(7)(backward)]))
    data = sequences((3, 7, 3), seed=1)
    data[0, 4:] = 0.0
    data[1, 2] = 0.0
    blob, report = exported(model)
    recurrent_ops = [op for op in report.main_ops if op in ("SELECT", "SELECT_V2", "GATHER", "WHILE")]
    assert recurrent_ops.count("SELECT_V2") <= 1  # at most Keras's own Masking layer's, none per step
    assert "GATHER" not in recurrent_ops and "WHILE" not in recurrent_ops
    assert_matches_keras_everywhere(model, blob, data)


def test_weights_are_stored_once_whatever_the_length():
    def size(time):
        x = keras.Input((time, 8))
        return len(to_tflite(keras.Model(x, LSTM(32)(x)), recurrent="unroll"))

    short, long = size(8), size(40)
    recurrent_kernel = 32 * 4 * 32 * 4  # bytes of U in float32, 16 KiB
    assert long - short < 32 * 3072  # a dozen ops (and their tensors' names) per step
    assert long - short < 32 * recurrent_kernel / 4  # not a copy of U per step


def test_the_recurrent_kernel_is_one_tensor_for_every_step():
    x = keras.Input((12, 4))
    data = to_tflite(keras.Model(x, Elman(9)(x)), recurrent="unroll")
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_content=data).get_tensor_details()
    assert sum(1 for t in details if tuple(t["shape"]) == (9, 9)) == 1
    assert read_tflite(data).subgraph_ops[0].count("FULLY_CONNECTED") == 12  # input product + 11 steps


def test_the_default_unrolls_up_to_the_threshold_and_loops_beyond():
    def lowering(time, **kwargs):
        x = keras.Input((time, 2))
        report = op_report(to_tflite(keras.Model(x, Elman(3)(x)), **kwargs))
        return report.lowering[0], report.loops

    assert lowering(UNROLL_MAX_STEPS) == ({"layer": "elman", "kind": "Elman", "lowering": "unroll", "reason": ""}, 0)
    beyond, loops = lowering(UNROLL_MAX_STEPS + 1)
    assert beyond["lowering"] == "loop" and f"> {UNROLL_MAX_STEPS} steps" in beyond["reason"] and loops == 1
    assert lowering(UNROLL_MAX_STEPS + 1, recurrent="unroll")[0]["lowering"] == "unroll"
    assert lowering(5, recurrent="loop")[0]["lowering"] == "loop"


def test_the_default_loops_wide_cells_at_lengths_where_xnnpack_runs_the_loop_faster():
    x = keras.Input((17, 2))
    report = op_report(to_tflite(keras.Model(x, Elman(512)(x))))  # 17 steps x 512 values > 16 x 512
    assert report.lowering[0]["lowering"] == "loop" and "T=17 steps x 512 gate values" in report.lowering[0]["reason"]


def test_a_length_known_only_at_run_time_falls_back_to_the_loop_and_says_why():
    x = keras.Input((None, 2))
    model = keras.Model(x, LSTM(3)(x))
    report = op_report(to_tflite(model, recurrent="unroll"))
    assert report.loops == 1
    assert report.lowering[0]["lowering"] == "loop"
    assert "not unrolled: the sequence length is only known at run time" in report.lowering[0]["reason"]


def test_digits_rnn_and_the_handwriting_bilstm_unroll_by_default_and_match_keras():
    digits = digits_rnn(units=8)
    data, report = exported(digits)
    assert report.loops == 0 and [item["lowering"] for item in report.lowering] == ["unroll"]
    assert_matches_keras_everywhere(digits, data, np.random.default_rng(2).random((2, 28, 28, 1), np.float32))

    letters = handwriting(units=6, filters=(2, 4), features=8)
    x = (np.random.default_rng(3).random((2, 5, 16, 8, 1)) > 0.5).astype(np.float32)
    x[0, 3:] = 0.0  # a shorter word, padded
    data, report = exported(letters, max_length=5)
    assert report.loops == 0 and [item["lowering"] for item in report.lowering] == ["unroll"]
    assert_matches_keras_everywhere(letters, data, x)


def test_the_word_reader_at_a_fixed_width_unrolls_and_matches_keras():
    reader = word_reader(width=24, units=4, filters=(2, 2, 2), bottleneck=2, features=4)
    strips = np.zeros((2, 32, 24, 2), np.float32)
    strips[:, 8:24, :, 0] = np.random.default_rng(4).random((2, 16, 24)) > 0.6
    strips[0, :, :16, 1] = 1.0  # a 16-column word padded to 24
    strips[0, :, 16:, 0] = 0.0
    strips[1, :, :, 1] = 1.0
    data, report = exported(reader)
    assert report.loops == 0 and [item["lowering"] for item in report.lowering] == ["unroll"]
    assert_matches_keras_everywhere(reader, data, strips)


def test_int8_of_an_unrolled_recurrence_calibrates_and_runs_in_compiled_model():
    """No loop, so TensorFlow's int8 calibrator (which crashes on WHILE) quantizes it."""
    x, h = masked_input(6, 3)
    model = keras.Model(x, keras.layers.Dense(2)(Bidirectional(Elman(8))(h)))
    data = np.random.default_rng(5).random((64, 6, 3)).astype(np.float32)
    blob = to_tflite(model, quantization="int8", representative_data=data, recurrent="unroll")
    report = op_report(blob)
    assert report.loops == 0 and "compiled-model" in report.loads_in and "litert-js" in report.loads_in
    got = EdgeModel(blob, verify=False, runtime="compiled-model").predict(data[:8])
    np.testing.assert_allclose(got, keras_outputs(model, data[:8]), atol=0.05)  # int8 steps of 1/128 or so
