"""Keras model -> .tflite, and running it with the LiteRT interpreter.

``to_tflite`` (the converter) loads TensorFlow on first use; everything
else here (``EdgeModel``, checks, reports) runs without it.

Example:
    >>> from keras_seq.export import to_tflite, EdgeModel, parity, op_report
    >>> data = to_tflite(model, "digits.tflite", quantization="int8",
    ...                  representative_data=x_train[:200])
    >>> edge = EdgeModel("digits.tflite")
    >>> edge.predict(x_test[:5]).argmax(-1)
    >>> print(op_report(edge)); print(parity(model, edge, x_test[:100]))
"""

from keras_seq.export.calibration import CalibrationData, CalibrationWarning, InputRangeWarning
from keras_seq.export.edge_model import EdgeModel, EdgeStream
from keras_seq.export.errors import ConversionError, ModelFileError, UnverifiedModelWarning
from keras_seq.export.op_report import OpReport, op_report
from keras_seq.export.parity import Parity, parity
from keras_seq.export.validate import check_keras_file, check_tflite, load_keras_model

_CONVERTER = ("QUANTIZATIONS", "to_tflite")

__all__ = [
    "QUANTIZATIONS",
    "to_tflite",
    "EdgeModel",
    "EdgeStream",
    "CalibrationData",
    "ConversionError",
    "ModelFileError",
    "UnverifiedModelWarning",
    "InputRangeWarning",
    "CalibrationWarning",
    "OpReport",
    "op_report",
    "Parity",
    "parity",
    "check_tflite",
    "check_keras_file",
    "load_keras_model",
]


def __getattr__(name):
    if name in _CONVERTER:
        from keras_seq.export import convert

        return getattr(convert, name)
    raise AttributeError(f"module 'keras_seq.export' has no attribute {name!r}")
