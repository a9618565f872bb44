"""Export policy lives in ``to_tflite``: the word reader's int8 rule, one vocabulary, quiet conversion;
``keras-seq export`` writes the portable batch-1 file unless asked for a dynamic batch."""

import keras
import numpy as np
import pytest

from keras_seq import cli, saving
from keras_seq.export import EdgeModel, op_report, to_tflite
from keras_seq.export.export_options import QUANTIZATIONS
from keras_seq.layers import LSTM
from keras_seq.models import lenet5, word_reader


@pytest.fixture(scope="module")
def tiny_reader():
    return word_reader(width=24, units=8, filters=(4, 8, 8), bottleneck=4, features=8)


def strips(widths, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for width in widths:
        strip = np.zeros((32, width, 2), np.float32)
        strip[8:24, :, 0] = rng.random((16, width)) > 0.6
        strip[:, :, 1] = 1.0
        samples.append(strip)
    return samples


def test_int8_of_a_word_reader_from_python_gets_the_fused_lstm_at_a_dynamic_width(tiny_reader):
    data = to_tflite(tiny_reader, quantization="int8", representative_data=strips([10, 16, 24, 12]))
    report = op_report(data)
    assert report.fused_recurrent == 2 and report.loops == 0
    assert all(item["lowering"] == "fused-lstm" and "no column mask" in item["reason"] for item in report.lowering)
    edge = EdgeModel(data, verify=False)
    assert edge.input_shape == (1, 32, -1, 2)
    assert edge.predict(strips([16])[0][None]).shape == (1, 8, 27)  # a word at its own width


@pytest.mark.parametrize("kwargs, message", [
    ({"max_length": 12}, "a word reader reads a strip of 24 columns and keeps its model's width"),
    ({"quantization": "int8", "recurrent": "loop"}, "calibrator crashes on the loop"),
    ({"recurrent": "fused-lstm", "batch_size": 2}, "reads one word at a time"),
])
def test_what_cannot_work_for_a_word_reader_is_refused_in_the_library(tiny_reader, kwargs, message):
    if kwargs.get("quantization") == "int8":
        kwargs["representative_data"] = strips([24])
    with pytest.raises(ValueError, match=message):
        to_tflite(tiny_reader, **kwargs)


def test_one_quantization_vocabulary():
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    assert QUANTIZATIONS == ("none", "dynamic", "float16", "int8")
    assert len(to_tflite(model, quantization="none")) == len(to_tflite(model))  # "none" is None
    with pytest.raises(ValueError, match="quantization"):
        to_tflite(model, quantization="float32")


def test_to_tflite_from_python_prints_nothing(capfd):
    x = keras.Input((5, 3))
    to_tflite(keras.Model(x, LSTM(4)(x)), recurrent="loop")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_the_export_command_writes_batch_1_unless_asked_for_a_dynamic_batch(tmp_path, capsys):
    model_path = tmp_path / "lenet.keras"
    saving.save_model(lenet5("modern"), model_path)
    portable, dynamic = tmp_path / "portable.tflite", tmp_path / "dynamic.tflite"
    assert cli.main(["export", str(model_path), "--out", str(portable)]) == 0
    assert "litert-js: yes" in capsys.readouterr().out
    assert EdgeModel(portable, verify=False).input_shape == (1, 28, 28, 1)
    assert cli.main(["export", str(model_path), "--out", str(dynamic), "--batch-size", "dynamic"]) == 0
    assert "litert-js: no" in capsys.readouterr().out
    assert EdgeModel(dynamic, verify=False).input_shape == (-1, 28, 28, 1)
    with pytest.raises(SystemExit):
        cli.main(["export", str(model_path), "--out", str(dynamic), "--batch-size", "0"])
    assert "expected a positive integer or 'dynamic', got '0'" in capsys.readouterr().err


def test_the_export_command_says_what_int8_was_calibrated_on(tmp_path, capsys):
    model_path = tmp_path / "lenet.keras"
    saving.save_model(lenet5("modern"), model_path)
    assert cli.main(["export", str(model_path), "--quantize", "int8", "--out", str(tmp_path / "q.tflite")]) == 0
    assert "int8 calibration: the first 200 MNIST training digits" in capsys.readouterr().out
