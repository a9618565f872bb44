"""int8 of masked, unrolled recurrences: calibration on padded words of every length gives a file every
runtime loads; calibration that never reaches some steps is refused or warned about, never a file that
aborts LiteRT (the handwriting model's int8 unrolled file did, calibrated on 7- and 9-letter words only)."""

import warnings

import keras
import numpy as np
import pytest

from keras_seq.export import CalibrationWarning, ConversionError, EdgeModel, to_tflite
from keras_seq.export.parity import keras_outputs
from keras_seq.export.quantized_ranges import empty_ranges, refused_ops
from keras_seq.layers import LSTM, Bidirectional

STEPS, FEATURES = 6, 3


def masked_bilstm():
    x = keras.Input((None, FEATURES))
    h = Bidirectional(LSTM(8, return_sequences=True))(keras.layers.Masking(0.0)(x))
    return keras.Model(x, keras.layers.Dense(4, activation="softmax")(h))


def words(lengths, seed=0):
    """Unpadded sequences of the given lengths, values in [0.1, 1] (never a zero, masked, step)."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.1, 1.0, (n, FEATURES)).astype(np.float32) for n in lengths]


def int8(model, samples):
    return to_tflite(model, quantization="int8", recurrent="unroll", max_length=STEPS,
                     representative_data=samples)


def test_calibration_words_of_every_length_are_padded_and_the_file_loads_everywhere():
    model = masked_bilstm()
    samples = words([1, 2, 3, 4, 5, 6] * 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)
        data = int8(model, samples)  # unpadded words, padded to max_length like predict pads them
    assert refused_ops(data) == [] and empty_ranges(data) == []
    test = words([2, 6, 4], seed=1)
    for runtime, xnnpack in (("interpreter", False), ("interpreter", True), ("compiled-model", True)):
        got = EdgeModel(data, verify=False, runtime=runtime, xnnpack=xnnpack).predict(test)
        for word, letters in zip(test, got):
            np.testing.assert_allclose(letters, keras_outputs(model, word[None])[0], atol=0.06, err_msg=runtime)


def test_calibration_that_never_reaches_the_last_steps_is_refused_or_warned_about():
    model = masked_bilstm()
    try:
        with pytest.warns(CalibrationWarning, match=f"every length up to max_length={STEPS}"):
            data = int8(model, words([3] * 48))  # steps 3-5 are padding in every calibration word
    except ConversionError as error:
        assert f"every length up to max_length={STEPS}" in str(error) and "LiteRT refuses" in str(error)
    else:
        assert refused_ops(data) == []  # a file that is written loads (the builtin kernels would abort)
        EdgeModel(data, verify=False, runtime="interpreter", xnnpack=False).predict(words([3]))


def test_calibration_longer_than_max_length_says_so():
    with pytest.raises(ValueError, match=f"at most max_length={STEPS} steps"):
        int8(masked_bilstm(), words([STEPS + 1] * 4))
