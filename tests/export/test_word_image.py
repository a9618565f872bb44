"""The word reader on device: a fixed-width file with a column mask, and ``keras-seq infer`` on word PNGs."""

import numpy as np
import pytest
from PIL import Image

from keras_seq import cli
from keras_seq.datasets import word_strips
from keras_seq.export import EdgeModel, to_tflite
from keras_seq.export import word_image
from keras_seq.models.word_reader import fixed_width_copy

FILE_WIDTH = 64
TEXTS = ["cab", "bead"]  # what conftest's teach_reader teaches


@pytest.fixture(scope="module")
def exported(teach_reader, tmp_path_factory):
    """A tiny reader taught two words, and its float32 file fixed at FILE_WIDTH columns."""
    model, _ = teach_reader(dict(units=24, filters=(8, 16, 16), bottleneck=8, features=24), 1e-2, 250)
    path = tmp_path_factory.mktemp("word_reader") / "words.tflite"
    to_tflite(fixed_width_copy(model, FILE_WIDTH), path)  # recurrence unrolled: masks kept
    return model, path, EdgeModel(path, verify=False)


def test_file_has_a_fixed_width_and_matches_keras_at_several_widths(exported):
    model, _, edge = exported
    assert edge.input_shape == (1, word_strips.HEIGHT, FILE_WIDTH, 2)
    assert edge.output_shape == (1, FILE_WIDTH // 2, 27)
    rng = np.random.default_rng(0)
    for width in (4, 18, 40, FILE_WIDTH):
        strip = (rng.random((word_strips.HEIGHT, width)) > 0.7).astype(np.float32)
        keras_steps = np.asarray(model(word_strips.model_input([strip])))[0]  # at its own width
        tflite_steps = word_image.symbol_probabilities(edge, [strip])[0]  # padded to 64, masked
        assert tflite_steps.shape == keras_steps.shape == (width // 2, 27)
        np.testing.assert_allclose(tflite_steps, keras_steps, atol=2e-5)


@pytest.mark.parametrize("ink_on_paper", [True, False], ids=["black-on-white", "white-on-black"])
def test_infer_reads_a_drawn_word_png(exported, letters, draw_png, tmp_path, capsys, ink_on_paper):
    _, path, _ = exported
    for text in TEXTS:
        png = draw_png(tmp_path / f"{text}.png", letters[text], ink_on_paper)
        assert cli.main(["infer", str(path), str(png)]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[0] == f"text: {text}"
        assert lines[1].startswith("confidences: ") and len(lines[1].split()) == 1 + len(text)
        assert [entry[0] for entry in lines[1].split()[1:]] == list(text)


def test_bad_pictures_get_one_clear_error_each(exported, tmp_path, capsys):
    _, path, _ = exported
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    white = tmp_path / "white.png"
    Image.fromarray(np.full((40, 90), 255, np.uint8)).save(white)
    flat = tmp_path / "flat.png"
    Image.fromarray(np.zeros((1, 50), np.uint8)).save(flat)  # a 1-pixel-high strip (black on white border)
    line = tmp_path / "line.png"
    line_pixels = np.full((30, 200), 255, np.uint8)
    line_pixels[15, 20:180] = 0
    Image.fromarray(line_pixels).save(line)
    wide = tmp_path / "wide.png"
    wide_pixels = np.full((40, 400), 255, np.uint8)
    wide_pixels[10:30, 10:390] = 0
    Image.fromarray(wide_pixels).save(wide)
    for png, message in [(empty, "is empty (0 bytes)"), (white, "is blank"), (flat, "is blank"),
                         (line, "1 pixel high"), (wide, f"at most {FILE_WIDTH}")]:
        assert cli.main(["infer", str(path), str(png)]) == 2
        assert message in capsys.readouterr().err


def test_the_fused_lstm_file_of_a_word_reader_gets_a_dynamic_width(exported):
    """The fused LSTM op has no column mask: to_tflite gives the file a dynamic width (each word
    at its own width) instead of a fixed width whose padding the backward LSTM would read."""
    from keras_seq.export import op_report

    model, _, _ = exported
    data = to_tflite(fixed_width_copy(model, FILE_WIDTH), recurrent="fused-lstm")
    assert EdgeModel(data, verify=False).input_shape == (1, word_strips.HEIGHT, -1, 2)
    assert all("no column mask" in item["reason"] for item in op_report(data).lowering)
