"""to_tflite on LeNet-5: float32 parity, quantization sizes and accuracy, arguments, atomic writes."""

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from keras_seq.export import ConversionError, EdgeModel, op_report, parity, to_tflite
from keras_seq.export.bundled_inputs import digits
from keras_seq.models import lenet5


@pytest.fixture(scope="module")
def mnist():
    return digits("train", 4000), digits("test", 2000)


@pytest.fixture(scope="module")
def trained_lenet(mnist):
    (x, y), _ = mnist
    keras.utils.set_random_seed(7)
    model = lenet5("modern")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model, to_tflite(model)


@pytest.mark.parametrize("variant", ["faithful", "modern"])
def test_float32_lenet5_matches_keras(variant, mnist):
    _, (x_test, _) = mnist
    model = lenet5(variant)
    edge = EdgeModel(to_tflite(model), verify=False)
    assert edge.input_shape == (-1, 28, 28, 1)  # no recurrence: any batch size in one run
    result = parity(model, edge, x_test[:100])
    assert result.max_abs_diff < 1e-5 and result.argmax_agreement == 1.0
    report = op_report(edge)
    assert report.loops == 0 and not report.custom_ops and report.lowering == ()


def test_int8_lenet5_is_under_30_percent_and_as_accurate_on_a_subset(trained_lenet, mnist):
    model, float32 = trained_lenet
    (x, _), (x_test, y_test) = mnist
    int8 = to_tflite(model, quantization="int8", representative_data=x[:200])
    assert len(int8) <= 0.30 * len(float32)
    keras_accuracy = np.mean(np.argmax(model(x_test, training=False), -1) == y_test)
    edge_accuracy = np.mean(np.argmax(EdgeModel(int8, verify=False).predict(x_test), -1) == y_test)
    assert keras_accuracy > 0.85  # a model worth quantizing
    assert abs(edge_accuracy - keras_accuracy) <= 0.002 + 1e-9


def dense_weight_scales(data):
    """Number of weight scales of each FULLY_CONNECTED op, in file order."""
    interpreter = Interpreter(model_content=data)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    return [
        len(tensors[op["inputs"][1]]["quantization_parameters"]["scales"])
        for op in interpreter._get_ops_details()
        if op["op_name"] == "FULLY_CONNECTED"
    ]


def test_faithful_lenet5_int8_is_under_30_percent_and_as_accurate(mnist):
    """The faithful LeNet-5 (scaled tanh, trainable subsampling, connection
    table) has more small tensors than the modern one; with one weight scale
    per fully connected layer its int8 file still stays under 30 %."""
    (x, y), (x_test, y_test) = mnist
    keras.utils.set_random_seed(7)
    model = lenet5("faithful")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    float32 = to_tflite(model)
    int8 = to_tflite(model, quantization="int8", representative_data=x[:200])
    per_channel = to_tflite(model, quantization="int8", representative_data=x[:200], dense_per_channel=True)
    assert len(int8) <= 0.30 * len(float32) < len(per_channel)
    assert dense_weight_scales(int8) == [1, 1]  # F6 and the output layer
    assert dense_weight_scales(per_channel) == [84, 10]
    keras_accuracy = np.mean(np.argmax(model(x_test, training=False), -1) == y_test)
    edge_accuracy = np.mean(np.argmax(EdgeModel(int8, verify=False).predict(x_test), -1) == y_test)
    assert keras_accuracy > 0.85
    assert abs(edge_accuracy - keras_accuracy) <= 0.002 + 1e-9


def test_float16_and_dynamic_shrink_weights_and_stay_close(trained_lenet, mnist):
    model, float32 = trained_lenet
    _, (x_test, _) = mnist
    for quantization, max_fraction, max_diff in (("float16", 0.55, 1e-2), ("dynamic", 0.35, 5e-2)):
        data = to_tflite(model, quantization=quantization)
        assert len(data) <= max_fraction * len(float32), quantization
        result = parity(model, EdgeModel(data, verify=False), x_test[:200])
        assert result.max_abs_diff < max_diff and result.argmax_agreement >= 0.99, quantization


def test_int8_io_takes_and_returns_int8_tensors_but_predict_speaks_float(trained_lenet, mnist):
    model, _ = trained_lenet
    (x, _), (x_test, _) = mnist
    edge = EdgeModel(to_tflite(model, quantization="int8", representative_data=x[:100], int8_io=True), verify=False)
    assert edge.signature["inputs"][0]["dtype"] == "int8"
    assert edge.signature["outputs"][0]["dtype"] == "int8"
    probabilities = edge.predict(x_test[:200])
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(-1), 1, atol=0.05)
    assert np.mean(probabilities.argmax(-1) == np.argmax(model(x_test[:200]), -1)) >= 0.97


def test_path_is_written_atomically_and_equals_the_returned_bytes(trained_lenet, tmp_path):
    model, _ = trained_lenet
    target = tmp_path / "sub" / "lenet.tflite"
    data = to_tflite(model, target)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["lenet.tflite"]  # no temp file left


def test_bad_arguments_raise_value_errors_naming_them(trained_lenet):
    model, _ = trained_lenet
    cases = [
        (dict(quantization="int4"), "quantization='int4' is not allowed"),
        (dict(quantization="int8"), "needs representative_data"),
        (dict(int8_io=True), "int8_io=True needs quantization='int8'"),
        (dict(dense_per_channel=True), "dense_per_channel=True needs quantization='int8'"),
        (dict(quantization="int8", representative_data=np.zeros((4, 28, 28, 1)), dense_per_channel="yes"),
         "dense_per_channel='yes' is not allowed"),
        (dict(batch_size=0), "batch_size=0 is not allowed"),
        (dict(quantization="int8", representative_data=np.zeros((4, 28, 28))), r"samples of shape \(28, 28\)"),
        (dict(quantization="int8", representative_data=np.full((4, 28, 28, 1), np.nan)), "finite"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            to_tflite(model, **kwargs)


def test_not_a_model_or_a_model_without_inputs_is_refused():
    with pytest.raises(ValueError, match="must be a keras.Model"):
        to_tflite("lenet.keras")

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="no defined inputs"):
        to_tflite(Subclassed())


def test_converter_failures_become_conversion_errors():
    x = keras.Input((4,), dtype="string")
    model = keras.Model(x, keras.layers.StringLookup(vocabulary=["a", "b"])(x))
    with pytest.raises(ConversionError, match="cannot convert"):
        to_tflite(model)
