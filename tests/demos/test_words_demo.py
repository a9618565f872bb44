"""``keras-seq demo words --fast``: trains, exports, reads held-out strips and draws per-letter column saliency."""

import json

import numpy as np

from keras_seq import cli
from keras_seq.datasets.word_strips import HEIGHT
from keras_seq.demos.words import ColumnOcclusion


def test_words_demo_fast_writes_the_file_the_metrics_and_saliency(tmp_path, capsys):
    assert cli.main(["demo", "words", "--fast", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "CER" in printed and "occlusion saliency" in printed
    report = json.loads((tmp_path / "words_metrics.json").read_text())
    assert report["test_strips"] == 12 and 0 <= report["tflite"]["word_accuracy"] <= 1
    assert (tmp_path / "words.tflite").stat().st_size > 0
    figures = list(tmp_path.glob("word_saliency_*.png"))
    assert len(figures) <= 1 and all(f.stat().st_size > 0 for f in figures)


class OneLetterPerColumnBlock:
    """A stand-in file: step t gives letter 'a' the probability of ink in columns 2t, 2t + 1."""

    input_shape = (1, HEIGHT, 16, 2)

    def predict(self, x):
        ink = x[0, :, :, 0].reshape(HEIGHT, 8, 2).max(axis=(0, 2))
        y = np.zeros((1, 8, 27), np.float32)
        y[0, :, 1] = 0.05 + 0.9 * ink
        y[0, :, 0] = 1 - y[0, :, 1]
        return y


def test_column_occlusion_finds_the_columns_a_letter_came_from():
    from keras_seq.models.ctc import decode_ctc
    from keras_seq.export import word_image

    strip = np.zeros((HEIGHT, 16), np.float32)
    strip[4:12, 10:12] = 1.0  # the only ink: columns 10-11, step 5
    edge = OneLetterPerColumnBlock()
    reading = decode_ctc(word_image.symbol_probabilities(edge, [strip])[0][None])[0]
    assert reading.text == "a" and reading.spans == ((5, 5),)
    saliency = ColumnOcclusion(window=2, stride=2)(edge, strip, reading)
    assert saliency.shape == (1, 16)
    assert saliency[0, 10:12].tolist() == [1.0, 1.0] and saliency[0, :10].max() == 0 == saliency[0, 12:].max()
