"""The CNN+BiLSTM handwriting model on device: each word at its own length, no padding."""

import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, parity, to_tflite
from keras_seq.export.bundled_inputs import word_samples, words
from keras_seq.models import handwriting


@pytest.fixture(scope="module")
def exported():
    model = handwriting(units=16, filters=(4, 8), features=16)
    return model, EdgeModel(to_tflite(model), verify=False)


@pytest.fixture(scope="module")
def test_words():
    return words("test", 12)


def test_bilstm_becomes_our_loop_and_runs_at_any_word_length(exported):
    _, edge = exported
    report = op_report(edge)
    assert report.fused_recurrent == 0 and report.loops >= 2
    assert [item["lowering"] for item in report.lowering] == ["loop"]
    assert not report.custom_ops
    assert edge.input_shape == (1, -1, 16, 8, 1) and edge.output_shape == (1, -1, 26)


def test_tflite_at_exact_length_matches_keras_masked_output_on_real_letters(exported, test_words):
    model, edge = exported
    x, _, mask = test_words.padded()
    lengths = mask.sum(axis=1)
    assert lengths.min() < x.shape[1]  # the batch really is padded
    result = parity(model, edge, x, lengths=lengths)
    assert result.max_abs_diff < 1e-5 and result.argmax_agreement == 1.0
    assert result.compared == lengths.sum()


def test_word_list_predict_is_repeatable(exported, test_words):
    _, edge = exported
    samples = word_samples(test_words)[:4]
    first = edge.predict(samples)
    assert [p.shape for p in first] == [(len(s), 26) for s in samples]
    for a, b in zip(first, edge.predict(samples)):
        np.testing.assert_array_equal(a, b)
