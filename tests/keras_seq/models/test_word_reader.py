"""The word reader: shapes, the column mask (padding never changes a reading), fixed-width copies."""

import keras
import numpy as np
import pytest

from keras_seq.datasets import word_strips
from keras_seq.models import word_reader
from keras_seq.models.word_reader import fixed_width_copy, is_word_reader, reads_word_strips, steps_for_width

TINY = dict(units=8, filters=(4, 4, 4), bottleneck=4, features=8, dropout=0.0)


def test_padding_and_width_do_not_change_the_outputs():
    model = word_reader(**TINY)
    strip = np.random.default_rng(0).random((word_strips.HEIGHT, 30)).astype("float32")
    alone = np.asarray(model(word_strips.model_input([strip])))
    assert alone.shape == (1, steps_for_width(30), 27)
    assert np.allclose(alone.sum(-1), 1.0, atol=1e-5)
    padded = np.asarray(model(word_strips.model_input([strip, strip[:, :10]], width=64)))
    assert padded.shape == (2, 32, 27)
    np.testing.assert_allclose(padded[0, :15], alone[0], atol=1e-5)
    fixed = fixed_width_copy(model, 64)
    assert tuple(fixed.inputs[0].shape) == (None, word_strips.HEIGHT, 64, 2)
    np.testing.assert_allclose(np.asarray(fixed(word_strips.model_input([strip], 64)))[0, :15], alone[0], atol=1e-5)


def test_bad_settings_are_refused():
    for options, match in [(dict(units=0), "units=0"), (dict(filters=(4, 4)), "filters="),
                           (dict(bottleneck=0), "bottleneck=0"), (dict(dropout=1.0), "dropout="),
                           (dict(width=1), "width=1")]:
        with pytest.raises(ValueError, match=match):
            word_reader(**options)


def test_what_a_word_reader_is():
    assert reads_word_strips((None, word_strips.HEIGHT, None, 2)) and reads_word_strips((1, word_strips.HEIGHT, 256, 2))
    assert not reads_word_strips((None, 16, 256, 2)) and not reads_word_strips((None, word_strips.HEIGHT, 256, 1))
    assert not reads_word_strips((None, 28, 28, 1))
    assert is_word_reader(word_reader(**TINY)) and is_word_reader(fixed_width_copy(word_reader(**TINY), 64))
    strip = keras.Input((word_strips.HEIGHT, None, 2))
    ten_classes = keras.Model(strip, keras.layers.Dense(10)(keras.layers.Reshape((-1, 2 * word_strips.HEIGHT))(strip)))
    assert not is_word_reader(ten_classes)
    assert not is_word_reader(np.zeros((1, word_strips.HEIGHT, 8, 2)))
