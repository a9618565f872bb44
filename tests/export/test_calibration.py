"""int8 calibration data is checked (usable, in the model's input range) and its range guards predict."""

import numpy as np
import pytest

from keras_seq.export import EdgeModel, to_tflite
from keras_seq.export.calibration import CALIBRATION_METADATA, CalibrationData, InputRangeWarning
from keras_seq.export.tflite_file import read_tflite


def test_int8_without_usable_calibration_data_is_an_error(trained_lenet_files):
    model = trained_lenet_files[0]
    for empty in ([], np.zeros((0, 28, 28, 1), np.float32)):
        with pytest.raises(ValueError, match="no calibration batch|non-empty"):
            to_tflite(model, quantization="int8", representative_data=empty)


def test_raw_pixels_for_a_model_that_takes_0_to_1_are_refused_unless_declared(trained_lenet_files):
    model, _, _, x_test = trained_lenet_files
    expected = r"spans \[0, 255\], outside the model's input range \[0, 1\].*CalibrationData"
    with pytest.raises(ValueError, match=expected):
        to_tflite(model, quantization="int8", representative_data=np.round(x_test[:50] * 255))
    for bad in ((1, 0), (0, np.inf), "0-1", (0,)):
        with pytest.raises(ValueError, match="input_range=.*is not allowed"):
            CalibrationData(x_test[:50], input_range=bad)


def test_the_calibrated_range_is_recorded_and_predict_warns_once_far_outside_it(trained_lenet_files):
    _, _, int8, x_test = trained_lenet_files
    recorded = read_tflite(int8).metadata[CALIBRATION_METADATA]
    assert b'"min": 0.0' in recorded and b'"max": 1.0' in recorded
    edge = EdgeModel(int8, verify=False)
    with pytest.warns(InputRangeWarning, match=r"calibrated on inputs in \[0, 1\] but got inputs in \[0, 255\]"):
        edge.predict(x_test[:4] * 255)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edge.predict(x_test[:4] * 255)  # once per model
        EdgeModel(int8, verify=False).predict(x_test[:4] * 1.5)  # near the range: no warning


def test_a_declared_range_is_an_explicit_override(trained_lenet_files):
    model, _, _, x_test = trained_lenet_files
    data = to_tflite(model, quantization="int8",
                     representative_data=CalibrationData(x_test[:20] * 255, input_range=(0, 255)))
    assert b'"max": 255.0' in read_tflite(data).metadata[CALIBRATION_METADATA]
    to_tflite(model, quantization="int8", representative_data=CalibrationData(x_test[:20] - 5, input_range=None))
