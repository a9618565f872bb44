"""``recurrent="fused-lstm"``: ops in the file, float32 parity with Keras, state handling."""

import keras
import numpy as np
import pytest

from keras_seq.export import EdgeModel, op_report, parity, to_tflite
from keras_seq.export.parity import keras_outputs
from keras_seq.layers import LSTM, Bidirectional, Elman

ROWS, COLS, UNITS = 28, 28, 16


def row_lstm(lstm=keras.layers.LSTM, bidirectional=None, time=ROWS, **lstm_kwargs):
    """A row-by-row digit reader: (batch, T, 28) -> LSTM -> softmax over 10."""
    rows = keras.Input((time, COLS))
    layer = lstm(UNITS, **lstm_kwargs)
    h = (bidirectional(layer) if bidirectional else layer)(rows)
    return keras.Model(rows, keras.layers.Dense(10, activation="softmax")(h))


def converted(model, **kwargs):
    kwargs.setdefault("recurrent", "fused-lstm")
    edge = EdgeModel(to_tflite(model, **kwargs), verify=False)  # the probe has its own tests
    return edge, op_report(edge)


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(0).random((5, ROWS, COLS), dtype=np.float32)


@pytest.fixture(scope="module", params=["keras", "ours"])
def row_model(request):
    model = row_lstm(keras.layers.LSTM if request.param == "keras" else LSTM)
    return (model,) + converted(model)


@pytest.fixture(scope="module")
def bidirectional_model():
    model = row_lstm(LSTM, Bidirectional, time=None)
    return (model,) + converted(model)


def test_lstm_becomes_one_fused_op_with_no_loop_and_matches_keras(row_model, rows):
    model, edge, report = row_model
    assert report.ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1
    assert report.loops == 0 and report.subgraphs == 1 and not report.custom_ops
    assert [item["lowering"] for item in report.lowering] == ["fused-lstm"]
    assert edge.runtime == "interpreter"  # CompiledModel loads no variable tensors
    assert report.loads_in == ("interpreter", "interpreter-builtin")
    assert "variable tensors" in report.runtimes["compiled-model"]
    result = parity(model, edge, rows)
    assert result.max_abs_diff < 1e-5 and result.argmax_agreement == 1.0


def test_two_consecutive_predicts_are_identical_although_the_op_keeps_state(row_model, rows):
    _, edge, _ = row_model
    assert edge.file.variables  # the fused op's h and C live in variable tensors
    first = edge.predict(rows)
    np.testing.assert_array_equal(edge.predict(rows), first)
    np.testing.assert_array_equal(edge.predict(rows[2:3]), first[2:3])


def test_our_bidirectional_becomes_two_fused_ops_at_any_length(bidirectional_model, rows):
    model, edge, report = bidirectional_model
    assert report.ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2 and report.loops == 0
    assert edge.input_shape == (1, -1, COLS)  # fixed batch for the state, any length
    for length in (1, 11):
        np.testing.assert_allclose(
            edge.predict(rows[:, :length]), keras_outputs(model, rows[:, :length]), atol=1e-5
        )


def test_keras_bidirectional_with_sequences_and_go_backwards_fuses(rows):
    x = keras.Input((ROWS, COLS))
    h = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True))(x)
    h = keras.layers.LSTM(8, go_backwards=True)(h)
    model = keras.Model(x, h)
    edge, report = converted(model)
    assert report.ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 3 and report.loops == 0
    assert [item["lowering"] for item in report.lowering] == ["fused-lstm", "fused-lstm"]
    np.testing.assert_allclose(edge.predict(rows), keras_outputs(model, rows), atol=1e-5)


def test_unfusable_layers_fall_back_to_our_loop_and_say_why(rows):
    x = keras.Input((ROWS, COLS))
    h = LSTM(UNITS, output_activation=None, return_sequences=True, name="lecture")(x)
    h = Elman(UNITS, return_sequences=True, name="elman")(h)
    h = keras.layers.LSTM(UNITS, activation="relu", name="relu")(h)
    model = keras.Model(x, h)
    edge, report = converted(model)
    assert report.loops >= 3 and report.fused_recurrent == 0
    assert [item["lowering"] for item in report.lowering] == ["loop"] * 3
    reasons = {item["layer"]: item["reason"] for item in report.lowering}
    assert "O_t * C_t" in reasons["lecture"]
    assert "no fused TFLite kernel" in reasons["elman"]
    assert "activation='relu'" in reasons["relu"]
    assert str(report).count("]: loop (") == 3
    np.testing.assert_allclose(edge.predict(rows), keras_outputs(model, rows), atol=1e-5)
    with pytest.raises(ValueError, match="WHILE"):
        edge.stream()  # a loop restarts from zero at every call: no state to carry


def test_stream_in_chunks_equals_one_predict():
    edge, _ = converted(row_lstm(time=None, return_sequences=True))
    x = np.random.default_rng(1).random((1, ROWS, COLS), dtype=np.float32)
    stream = edge.stream()
    chunks = [stream.feed(x[:, :5]), stream.feed(x[:, 5:17]), stream.feed(x[:, 17:])]
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), edge.predict(x), atol=1e-6)
    assert stream.steps == ROWS
    stream.reset()
    np.testing.assert_allclose(stream.feed(x[:, :5]), chunks[0], atol=1e-7)


def test_stream_refuses_models_that_read_backwards_or_have_fixed_length(bidirectional_model, row_model):
    with pytest.raises(ValueError, match="causal"):
        bidirectional_model[1].stream()
    with pytest.raises(ValueError, match="dynamic time axis"):
        row_model[1].stream()


def test_the_digits_rnn_model_exports_fused_and_matches_keras():
    from keras_seq.export.bundled_inputs import digits
    from keras_seq.models import digits_rnn

    model = digits_rnn(units=UNITS)
    edge, report = converted(model)
    assert report.fused_recurrent == 1 and report.loops == 0
    x, _ = digits("test", 20)
    result = parity(model, edge, x)
    assert result.max_abs_diff < 1e-5 and result.argmax_agreement == 1.0
