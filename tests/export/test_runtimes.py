"""Every model family exports to a file that loads and matches Keras in every runtime its op report claims.

The runtimes run here: the classic ``Interpreter`` with XNNPACK and with
builtin kernels, and LiteRT's ``CompiledModel``; LiteRT.js has its browser
tests. The report must also be right about the runtimes it excludes.
"""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, to_tflite
from keras_seq.export.bundled_inputs import digits, words
from keras_seq.export.parity import keras_outputs
from keras_seq.layers import LSTM, Bidirectional, stacked
from keras_seq.models import digits_rnn, handwriting, lenet5

RUNNABLE_HERE = {
    "interpreter": dict(runtime="interpreter"),
    "interpreter-builtin": dict(runtime="interpreter", xnnpack=False),
    "compiled-model": dict(runtime="compiled-model"),
}


def outputs_everywhere(data):
    """``{runtime: EdgeModel}`` for each runtime here that the op report says loads ``data``."""
    report = op_report(data)
    return report, {name: EdgeModel(data, verify=False, **RUNNABLE_HERE[name])
                    for name in report.loads_in if name in RUNNABLE_HERE}


def check_everywhere(model, data, x, atol=1e-5, lengths=None):
    report, edges = outputs_everywhere(data)
    assert edges, "the file loads nowhere"
    if lengths is None:
        expected = keras_outputs(model, x)
    else:
        full = keras_outputs(model, x)
        expected = [full[i, :n] for i, n in enumerate(lengths)]
        x = [x[i, :n] for i, n in enumerate(lengths)]
    for name, edge in edges.items():
        assert edge.runtime == name
        actual = edge.predict(x)
        for want, got in zip(expected, actual):
            np.testing.assert_allclose(got, want, atol=atol, err_msg=name)
    return report


def sequences(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.fixture(scope="module")
def digit_images():
    return digits("test", 8)[0]


@pytest.mark.parametrize("variant", ["faithful", "modern"])
def test_lenet_float32_and_int8_run_in_every_runtime_at_a_fixed_batch(variant, digit_images):
    model = lenet5(variant)
    report = check_everywhere(model, to_tflite(model, batch_size=1), digit_images)
    assert report.loads_in == ("interpreter", "interpreter-builtin", "compiled-model", "litert-js")
    int8 = to_tflite(model, batch_size=1, quantization="int8", representative_data=digits("train", 64)[0])
    report = check_everywhere(model, int8, digit_images, atol=0.05)
    assert not report.dynamic and "compiled-model" in report.loads_in


def test_a_dynamic_batch_is_flagged_and_kept_from_litert_js_and_compiled_model(digit_images):
    model = lenet5("modern")
    data = to_tflite(model)
    report = check_everywhere(model, data, digit_images)
    assert report.dynamic and report.dynamic[0][1][0] == -1
    assert "dynamic dimensions" in report.runtimes["litert-js"]
    assert "dynamic dimensions" in report.runtimes["compiled-model"]
    assert EdgeModel(data, verify=False).runtime == "interpreter"
    with pytest.raises(ValueError, match="runtime='compiled-model' cannot run this file: .*dynamic"):
        EdgeModel(data, verify=False, runtime="compiled-model")


@pytest.mark.parametrize("recurrent, lowering", [(None, "unroll"), ("loop", "loop")])
def test_digits_rnn_unrolled_by_default_or_our_loop_runs_everywhere(digit_images, recurrent, lowering):
    model = digits_rnn(units=16)
    data = to_tflite(model, recurrent=recurrent)
    report = check_everywhere(model, data, digit_images)
    assert report.fused_recurrent == 0 and not report.custom_ops and (report.loops >= 1) == (lowering == "loop")
    assert [item["lowering"] for item in report.lowering] == [lowering]
    assert EdgeModel(data, verify=False).runtime == "compiled-model"


def test_the_fused_file_really_fails_in_compiled_model_with_our_message(digit_images, capfd):
    model = digits_rnn(units=16)
    data = to_tflite(model, recurrent="fused-lstm")
    report = check_everywhere(model, data, digit_images)
    assert "compiled-model" not in report.loads_in and "litert-js" not in report.loads_in
    with pytest.raises(ValueError, match="variable tensors"):
        EdgeModel(data, verify=False, runtime="compiled-model")
    # Not only the report: LiteRT itself refuses it, and its log stays out of the terminal.
    from keras_seq.export.runners import CompiledModelRunner

    capfd.readouterr()
    with pytest.raises(ValueError, match="CompiledModel cannot load this file: .*[Vv]ariable tensor"):
        CompiledModelRunner(data)
    assert "model_load" not in capfd.readouterr().err


@pytest.fixture(scope="module")
def handwriting_model():
    return handwriting(units=16, filters=(4, 8), features=16)


@pytest.fixture(scope="module")
def test_words():
    chosen = words("test", 12)
    x, _, mask = chosen.padded()
    return x, mask.sum(axis=1)


def test_handwriting_bilstm_at_a_fixed_length_runs_everywhere(handwriting_model, test_words):
    x, lengths = test_words
    data = to_tflite(handwriting_model, max_length=x.shape[1])
    report = check_everywhere(handwriting_model, data, x, lengths=lengths)
    assert not report.dynamic
    assert report.loads_in == ("interpreter", "interpreter-builtin", "compiled-model", "litert-js")
    assert [item["lowering"] for item in report.lowering] == ["unroll"]  # a short fixed length
    edge = EdgeModel(data)  # probed in a child process, in CompiledModel too
    assert edge.runtime == "compiled-model" and edge.max_length == x.shape[1]
    with pytest.raises(ValueError, match="max_length"):
        edge.predict([np.zeros((x.shape[1] + 1, 16, 8, 1), np.float32)])


def test_handwriting_bilstm_at_a_dynamic_length(handwriting_model, test_words):
    x, lengths = test_words
    data = to_tflite(handwriting_model)
    report = check_everywhere(handwriting_model, data, x, lengths=lengths)
    assert report.dynamic and "litert-js" not in report.loads_in


def test_max_length_needs_a_masked_open_time_axis():
    x = keras.Input((None, 3))
    unmasked = keras.Model(x, LSTM(4)(x))
    with pytest.raises(ValueError, match="no keras.layers.Masking"):
        to_tflite(unmasked, max_length=5)
    seven = keras.Input((7, 3))
    with pytest.raises(ValueError, match="conflicts with"):
        to_tflite(keras.Model(seven, LSTM(4)(seven)), max_length=5)
    flat = keras.Input((3,))
    with pytest.raises(ValueError, match="applies to sequence inputs"):
        to_tflite(keras.Model(flat, keras.layers.Dense(2)(flat)), max_length=5)
    with pytest.raises(ValueError, match="recurrent='fused'"):
        to_tflite(unmasked, recurrent="fused")


@pytest.mark.parametrize(
    "build",
    [
        lambda x: stacked([8, 6], layer="elman", return_sequences=True)(x),
        lambda x: stacked([8, 6], layer="lstm", stack="cells")(x),
        lambda x: LSTM(8, output_activation=None, return_sequences=True)(x),
        lambda x: keras.layers.GRU(8, return_sequences=True)(x),
        lambda x: keras.layers.SimpleRNN(8, go_backwards=True)(x),
    ],
    ids=["stacked-elman", "stacked-lstm-cells", "h=O*C-lstm", "keras-gru", "keras-simplernn-backwards"],
)
def test_other_recurrent_families_run_everywhere(build):
    x = keras.Input((9, 3))
    model = keras.Model(x, build(x))
    report = check_everywhere(model, to_tflite(model), sequences((2, 9, 3)))
    assert "compiled-model" in report.loads_in and not report.custom_ops


def test_int8_inputs_and_outputs_run_the_same_in_compiled_model_and_the_interpreter(digit_images):
    model = lenet5("modern")
    data = to_tflite(model, batch_size=1, quantization="int8", int8_io=True,
                     representative_data=digits("train", 64)[0])
    compiled = EdgeModel(data, verify=False)
    assert compiled.runtime == "compiled-model" and compiled.input_dtype == np.int8
    interpreter = EdgeModel(data, verify=False, runtime="interpreter")
    np.testing.assert_array_equal(compiled.predict(digit_images), interpreter.predict(digit_images))
    assert "runtime compiled-model" in repr(compiled)


def test_long_masked_sequences_written_in_blocks_match_keras_everywhere():
    """91 steps x 48 units outgrow one block: blocks of 10 steps, the last one
    holding a single step, and padded steps masked in both directions."""
    x = keras.Input((91, 5))
    h = keras.layers.Masking(0.0)(x)
    h = Bidirectional(LSTM(48, return_sequences=True))(h)
    model = keras.Model(x, keras.layers.Dense(3)(h))
    data = sequences((2, 91, 5), seed=3)
    data[0, 60:] = 0.0  # a shorter sequence, padded
    report = check_everywhere(model, to_tflite(model), data)
    assert report.loops == 4  # an outer and an inner loop per direction
