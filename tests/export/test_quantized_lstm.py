"""Quantized exports of LSTM models keep the fused op and the model's answers."""

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from keras_seq.export import EdgeModel, op_report, parity, to_tflite
from keras_seq.export.bundled_inputs import digits
from keras_seq.export.errors import ConversionError
from keras_seq.layers import LSTM, Elman


@pytest.fixture(scope="module")
def trained_row_lstm():
    """A row-by-row digit reader (28 steps of 28 pixels, 32 units), briefly trained."""
    keras.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = digits("train", 3000), digits("test", 500)
    rows = keras.Input((28, 28))
    h = keras.layers.LSTM(32)(rows)
    model = keras.Model(rows, keras.layers.Dense(10, activation="softmax")(h))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x[..., 0], y, epochs=6, batch_size=32, verbose=0)
    return model, x[:200, ..., 0], x_test[..., 0], y_test


def accuracy(predict, x, y):
    return float(np.mean(np.argmax(predict(x), axis=-1) == y))


def test_int8_lstm_stays_fused_and_as_accurate(trained_row_lstm):
    model, calibration, x_test, y_test = trained_row_lstm
    keras_accuracy = accuracy(lambda x: model.predict(x, verbose=0), x_test, y_test)
    assert keras_accuracy > 0.8  # a model worth quantizing
    float_bytes = to_tflite(model)
    data = to_tflite(model, quantization="int8", representative_data=calibration)
    edge = EdgeModel(data, verify=False)
    report = op_report(edge)
    assert report.ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1 and report.loops == 0
    assert [item["lowering"] for item in report.lowering] == ["fused-lstm"]
    assert len(data) < 0.7 * len(float_bytes)
    assert abs(accuracy(edge.predict, x_test, y_test) - keras_accuracy) <= 0.02
    assert parity(model, edge, x_test).argmax_agreement >= 0.95
    np.testing.assert_array_equal(edge.predict(x_test[:3]), edge.predict(x_test[:3]))


def test_dynamic_range_stores_the_fused_lstm_weights_as_int8():
    """The converter quantizes weight tensors of at least 1,024 elements; the
    fused op splits the LSTM's weights per gate, so each gate's block must be
    that large (here 32 x 128 and 128 x 128)."""
    x = keras.Input((100, 32))
    model = keras.Model(x, keras.layers.Dense(10)(keras.layers.LSTM(128)(x)))
    float_bytes = to_tflite(model, recurrent="fused-lstm")
    data = to_tflite(model, quantization="dynamic", recurrent="fused-lstm")
    edge = EdgeModel(data, verify=False)
    assert op_report(edge).fused_recurrent == 1
    assert len(data) < 0.3 * len(float_bytes)
    sample = np.random.default_rng(0).standard_normal((4, 100, 32)).astype(np.float32)
    assert parity(model, edge, sample).max_abs_diff < 1e-2
    details = Interpreter(model_content=data).get_tensor_details()
    int8_weights = [t for t in details if t["dtype"] == np.int8 and t["shape"][-1] in (32, 128)]
    assert len(int8_weights) >= 8  # 4 gates x (input, recurrent) blocks


@pytest.mark.parametrize(
    "recurrent",
    [
        lambda: Elman(8),
        lambda: LSTM(8, output_activation=None),
        lambda: keras.layers.GRU(8),
    ],
    ids=["elman", "lecture-lstm", "keras-gru"],
)
def test_int8_of_a_loop_is_refused_instead_of_crashing_the_process(recurrent):
    """TensorFlow's int8 calibrator segfaults on WHILE loops (tensorflow#75140):
    the export says so and the process lives on."""
    x = keras.Input((6, 3))
    model = keras.Model(x, keras.layers.Dense(2)(recurrent()(x)))
    data = np.random.default_rng(0).standard_normal((16, 6, 3)).astype(np.float32)
    with pytest.raises(ConversionError, match=r"WHILE loop \(layers .*75140"):
        to_tflite(model, quantization="int8", representative_data=data)
    assert op_report(to_tflite(model, quantization="dynamic", recurrent="loop")).loops == 1  # still exportable


def test_dynamic_range_loop_stores_the_lstm_weights_as_int8_and_runs_everywhere():
    x = keras.Input((100, 32))
    model = keras.Model(x, keras.layers.Dense(10)(keras.layers.LSTM(128)(x)))
    float_bytes = to_tflite(model)
    data = to_tflite(model, quantization="dynamic")
    assert len(data) < 0.35 * len(float_bytes)  # the two weight matrices as int8
    sample = np.random.default_rng(0).standard_normal((2, 100, 32)).astype(np.float32)
    for runtime in ("interpreter", "compiled-model"):
        edge = EdgeModel(data, verify=False, runtime=runtime)
        assert parity(model, edge, sample).max_abs_diff < 1e-2


def test_int8_with_the_loop_lowering_is_refused_too(trained_row_lstm):
    model, calibration, _, _ = trained_row_lstm
    with pytest.raises(ConversionError, match="WHILE"):
        to_tflite(model, quantization="int8", representative_data=calibration, recurrent="loop")
