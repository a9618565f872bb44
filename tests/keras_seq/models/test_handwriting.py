"""handwriting: a CNN per letter, a bidirectional LSTM, a softmax per step, padding masked."""

import keras
import numpy as np
import pytest

from keras_seq.datasets import ocr_words
from keras_seq.models import handwriting
from keras_seq.models.handwriting import LettersFromBatch, LettersToBatch, letters_in_batch
from keras_seq.models.masked_bilstm import masked_bilstm

SMALL = {"units": 8, "filters": (4, 8), "features": 16, "dropout": 0.0}


@pytest.fixture(scope="module")
def words():
    return ocr_words.load_words().subset(np.arange(40))


def test_output_is_a_softmax_per_letter_for_any_length(words):
    model = handwriting(**SMALL)
    for maxlen in (None, 20):
        x, _, _ = words.padded(maxlen=maxlen)
        probabilities = np.asarray(model(x))
        assert probabilities.shape == x.shape[:2] + (26,)
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_padding_never_changes_the_real_letters(words):
    """The backward LSTM must start at each word's last real letter, whatever padding follows."""
    model = handwriting(**SMALL)
    x, _, mask = words.padded()
    longer, _, _ = words.padded(maxlen=x.shape[1] + 7)
    short = np.asarray(model(x))
    long_ = np.asarray(model(longer))
    np.testing.assert_allclose(long_[:, : x.shape[1]][mask], short[mask], atol=1e-5)
    # and a word alone gives the same letters as inside a padded batch
    alone = np.asarray(model(x[:1, : int(mask[0].sum())]))
    np.testing.assert_allclose(alone[0], short[0][mask[0]], atol=1e-5)


def test_a_letter_with_ink_is_never_taken_for_padding():
    """Even one lit pixel makes a step real: its output depends on what follows it."""
    model = handwriting(**SMALL)
    x = np.zeros((1, 3, 16, 8, 1), np.float32)
    x[0, 0, 5, 3] = 1.0
    x[0, 1, 9, 2] = 1.0
    with_second = np.asarray(model(x))[0, 0]
    x[0, 1] = 0.0  # now step 1 is padding
    without_second = np.asarray(model(x))[0, 0]
    assert not np.allclose(with_second, without_second, atol=1e-6)


def test_no_layers_that_block_tflite_builtins():
    """Plain layers only: 2-D convolutions on letters folded into the batch, no Conv3D,
    no TimeDistributed (vectorised map) and no 3-D pooling."""
    model = handwriting(**SMALL)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert not kinds & {"TimeDistributed", "MaxPooling3D", "Conv3D"}
    assert {"LettersToBatch", "Conv2D", "LettersFromBatch", "Masking", "Bidirectional"} <= kinds


def test_folding_letters_into_the_batch_keeps_each_letter_apart(words):
    """Changing one letter changes the CNN features of that letter only."""
    model = handwriting(**SMALL)
    features = keras.Model(model.input, model.get_layer("letters_from_batch").output)
    x, _, _ = words.padded()
    before = np.asarray(features(x))
    x[3, 2] = 1.0 - x[3, 2]
    after = np.asarray(features(x))
    changed = np.abs(after - before).max(axis=-1) > 0
    assert changed[3, 2] and changed.sum() == 1


def earlier_form(units, filters, features, dropout, conv3d):
    """The model as saved before: the padding mask applied after unfolding the letters, and the CNN
    folded into the batch (``conv3d=False``) or a Conv3D per letter (``conv3d=True``)."""
    layers = keras.layers
    words = keras.Input(shape=(None, 16, 8, 1), name="letters")
    x = words if conv3d else LettersToBatch(name="letters_to_batch")(words)
    for block, channels in enumerate(filters, start=1):
        if conv3d:
            x = layers.Conv3D(channels, (1, 3, 3), padding="same", activation="relu", name=f"conv{block}")(x)
            x = layers.Conv3D(channels, (1, 3, 3), strides=(1, 2, 2), padding="same", activation="relu",
                              name=f"conv{block}_stride2")(x)
        else:
            x = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"conv{block}")(x)
            x = layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu",
                              name=f"conv{block}_stride2")(x)
    if conv3d:
        x = layers.Reshape((-1, 4 * 2 * filters[1]), name="flatten_letters")(x)
        x = layers.Dense(features, activation="relu", name="letter_features")(x)
    else:
        x = layers.Flatten(name="flatten_letters")(x)
        x = layers.Dense(features, activation="relu", name="letter_features")(x)
        x = LettersFromBatch(name="letters_from_batch")([x, words])
    pixels = layers.Reshape((-1, 16 * 8), name="letter_pixels")(words)
    pixels = layers.Permute((2, 1), name="pixels_first")(pixels)
    ink = layers.Reshape((-1, 1), name="ink_per_step")(layers.GlobalMaxPooling1D(name="letter_ink")(pixels))
    x = masked_bilstm(x, ink, units, dropout)
    outputs = layers.Dense(26, activation="softmax", name="letter_probabilities")(x)
    return keras.Model(words, outputs, name="handwriting")


@pytest.mark.parametrize("conv3d", [True, False], ids=["conv3d", "mask-after-unfolding"])
def test_an_earlier_form_loads_and_converts_to_the_same_outputs(tmp_path, words, conv3d):
    old = earlier_form(units=8, filters=(4, 8), features=16, dropout=0.2, conv3d=conv3d)
    old.save(tmp_path / "old.keras")
    loaded = keras.models.load_model(tmp_path / "old.keras", safe_mode=True)
    x, _, mask = words.padded()
    new = letters_in_batch(loaded)
    kinds = {type(layer).__name__ for layer in new.layers}
    assert "Conv3D" not in kinds and "Permute" not in kinds
    np.testing.assert_allclose(np.asarray(new(x))[mask], np.asarray(old(x))[mask], atol=1e-5)
    assert letters_in_batch(new) is new


def test_letters_in_batch_refuses_other_models():
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="other")
    with pytest.raises(ValueError, match="not a keras_seq handwriting model"):
        letters_in_batch(other)


def test_saves_and_loads_in_safe_mode(tmp_path, words):
    model = handwriting(**SMALL)
    x, _, _ = words.padded()
    model.save(tmp_path / "h.keras")
    loaded = keras.models.load_model(tmp_path / "h.keras", safe_mode=True)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"units": 0}, {"features": -1}, {"filters": (4,)},
                                    {"filters": (4, 0)}, {"dropout": 1.5}])
def test_bad_arguments(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        handwriting(**kwargs)
