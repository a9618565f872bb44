"""EdgeModel: batches of any size, clear errors on bad inputs, signature and repr."""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, ModelFileError, to_tflite
from keras_seq.export.parity import keras_outputs


@pytest.fixture(scope="module")
def dense_model():
    x = keras.Input((6,))
    model = keras.Model(x, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8, activation="relu")(x)))
    return model, to_tflite(model)


@pytest.fixture(scope="module")
def sequence_model():
    x = keras.Input((None, 4))
    model = keras.Model(x, keras.layers.LSTM(5, return_sequences=True)(x))
    return model, EdgeModel(to_tflite(model), verify=False)


def test_any_batch_size_with_a_dynamic_or_a_fixed_batch(dense_model):
    model, data = dense_model
    x = np.random.default_rng(0).random((7, 6), dtype=np.float32)
    expected = keras_outputs(model, x)
    dynamic = EdgeModel(data)
    assert dynamic.input_shape == (-1, 6)
    for n in (1, 7, 3):
        np.testing.assert_allclose(dynamic.predict(x[:n]), expected[:n], atol=1e-6)
    fixed = EdgeModel(to_tflite(model, batch_size=2), verify=False)
    assert fixed.input_shape == (2, 6)
    np.testing.assert_allclose(fixed.predict(x), expected, atol=1e-6)  # 2 + 2 + 2 + (1 padded)


def test_sequence_batches_run_one_sample_at_a_time_from_zero_state(sequence_model):
    model, edge = sequence_model
    x = np.random.default_rng(1).random((3, 9, 4), dtype=np.float32)
    np.testing.assert_allclose(edge.predict(x), keras_outputs(model, x), atol=1e-5)
    lists = edge.predict([x[0, :2], x[1], x[2, :5]])
    np.testing.assert_allclose(lists[1], keras_outputs(model, x[1:2])[0], atol=1e-5)
    assert [y.shape for y in lists] == [(2, 5), (9, 5), (5, 5)]


def test_bad_inputs_raise_clear_value_errors(sequence_model):
    _, edge = sequence_model
    good = np.zeros((1, 3, 4), np.float32)
    cases = [
        (good[0], "expected 3 dimensions"),
        (np.zeros((1, 3, 5), np.float32), "axis 2 must be 4"),
        (np.zeros((0, 3, 4), np.float32), "empty"),
        (np.full((1, 3, 4), "a"), "dtype"),
        (np.where(good == 0, np.nan, good), "NaN"),
        (np.full((1, 3, 4), np.inf), "NaN or infinity"),
        ([], "empty list"),
        ([good[0], np.zeros((3, 5))], r"x\[1\].*axis 1 must be 4"),
        ([[1, "b"]], "dtype|dimensions"),
    ]
    for x, message in cases:
        with pytest.raises(ValueError, match=message):
            edge.predict(x)
    np.testing.assert_array_equal(edge.predict(good.astype(np.float64)), edge.predict(good))  # casts


def test_signature_repr_and_constructor_errors(dense_model, tmp_path):
    _, data = dense_model
    edge = EdgeModel(data, num_threads=1)
    assert edge.signature["inputs"][0]["shape"] == (-1, 6)
    assert edge.signature["outputs"][0]["dtype"] == "float32"
    assert "(-1, 6)" in repr(edge) and "(-1, 3)" in repr(edge) and f"{len(data)} bytes" in repr(edge)
    path = tmp_path / "dense.tflite"
    path.write_bytes(data)
    assert EdgeModel(str(path)).size == len(data)
    with pytest.raises(ModelFileError, match="does not exist"):
        EdgeModel(tmp_path / "missing.tflite")
    with pytest.raises(ValueError, match="file path or bytes"):
        EdgeModel(42)
    with pytest.raises(ValueError, match="num_threads=0"):
        EdgeModel(data, num_threads=0)
