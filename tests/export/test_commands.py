"""``keras-seq export`` and ``keras-seq infer`` end to end."""

import re

import numpy as np
import pytest
from PIL import Image

from keras_seq.export import EdgeModel
from keras_seq.export.bundled_inputs import digits
from keras_seq.export.digit_image import load_digit_image
from keras_seq import cli, saving
from keras_seq.models import handwriting, lenet5


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("commands")


def test_export_int8_digits_prints_size_ops_and_parity_then_infer_reads_a_png(folder, capsys):
    model_path = folder / "lenet.keras"
    saving.save_model(lenet5("modern"), model_path)
    out = folder / "lenet.tflite"
    assert cli.main(["export", str(model_path), "--quantize", "int8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out.stat().st_size} bytes" in printed and "quantization int8" in printed
    assert "ops: " in printed and "WHILE loops: 0" in printed
    assert re.search(r"parity on 500 MNIST test digits: max \|keras - tflite\| = \S+, argmax agreement", printed)

    x, _ = digits("test", 1)
    png = folder / "seven.png"
    Image.fromarray((255 - x[0, ..., 0] * 255).astype(np.uint8)).resize((120, 120)).save(png)
    assert cli.main(["infer", str(out), str(png)]) == 0
    printed = capsys.readouterr().out
    match = re.search(r"prediction: (\d)  probability: ([0-9.]+)", printed)
    expected = EdgeModel(out).predict(load_digit_image(png)[None])[0]
    assert int(match.group(1)) == int(np.argmax(expected))
    assert float(match.group(2)) == pytest.approx(float(expected.max()), abs=1e-4)


def test_export_handwriting_at_a_fixed_length_runs_everywhere_and_infer_reads_a_word(folder, capsys):
    model_path = folder / "words.keras"
    saving.save_model(handwriting(units=8, filters=(4, 8), features=8), model_path)
    out = folder / "words.tflite"
    assert cli.main(["export", str(model_path), "--out", str(out), "--max-length", "14"]) == 0
    printed = capsys.readouterr().out
    assert "]: unroll" in printed and "fused recurrent ops: 0" in printed and "WHILE loops: 0" in printed
    assert "dynamic dimensions: none" in printed
    assert "compiled-model: yes" in printed and "litert-js: yes" in printed
    assert re.search(r"OCR words of held-out fold 0 \(TFLite at each word's length\): max \|keras - tflite\| = "
                     r"\S+e-0[6-9], argmax agreement 100.00%", printed)
    assert cli.main(["infer", str(out), "word:0"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"prediction: '[a-z]+'  probability: [0-9.]+ .*truth: 'ommanding'", printed)


def test_export_int8_handwriting_unrolled_at_a_fixed_length_calibrates_on_padded_words(folder, capsys):
    """The bundled calibration words come at their own lengths; a fixed-length file pads them (it refused
    them: 'samples of shape (9, 16, 8, 1); expected (14, 16, 8, 1)'), and the int8 file loads everywhere."""
    model_path = folder / "words-int8.keras"
    saving.save_model(handwriting(units=8, filters=(4, 8), features=8), model_path)
    out = folder / "words-int8.tflite"
    argv = ["export", str(model_path), "--out", str(out), "--max-length", "14", "--quantize", "int8",
            "--recurrent", "unroll"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "]: unroll" in printed and "quantization int8" in printed
    for runtime in ("interpreter: yes", "interpreter-builtin: yes", "compiled-model: yes", "litert-js: yes"):
        assert runtime in printed
    # an untrained model's probabilities are near uniform, so its argmax says nothing: int8 steps of ~1/256
    difference = re.search(r"max \|keras - tflite\| = (\S+),", printed)
    assert float(difference.group(1)) <= 0.02
    EdgeModel(out, runtime="interpreter", xnnpack=False).predict(np.zeros((1, 5, 16, 8, 1), np.float32))


def test_command_errors_exit_2_with_a_message(folder, capsys):
    (folder / "junk.tflite").write_bytes(b"\0" * 64)
    assert cli.main(["infer", str(folder / "junk.tflite"), "word:1"]) == 2
    assert "not a TFLite flatbuffer" in capsys.readouterr().err
    assert cli.main(["export", str(folder / "missing.keras"), "--out", str(folder / "x.tflite")]) == 2
    assert "does not exist" in capsys.readouterr().err
    if (folder / "words.tflite").exists():
        assert cli.main(["infer", str(folder / "words.tflite"), "word:99999"]) == 2
        assert "INDEX in 0-6876" in capsys.readouterr().err
