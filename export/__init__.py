"""Keras model -> .tflite, and running it with the LiteRT interpreter.

Example:
    >>> from export import to_tflite, EdgeModel, parity, op_report
    >>> data = to_tflite(model, "digits.tflite", quantization="int8",
    ...                  representative_data=x_train[:200])
    >>> edge = EdgeModel("digits.tflite")
    >>> edge.predict(x_test[:5]).argmax(-1)
    >>> print(op_report(edge)); print(parity(model, edge, x_test[:100]))
"""

from export.convert import QUANTIZATIONS, to_tflite
from export.edge_model import EdgeModel, EdgeStream
from export.errors import ConversionError, ModelFileError
from export.op_report import OpReport, op_report
from export.parity import Parity, parity
from export.validate import check_keras_file, check_tflite, load_keras_model

__all__ = [
    "QUANTIZATIONS",
    "to_tflite",
    "EdgeModel",
    "EdgeStream",
    "ConversionError",
    "ModelFileError",
    "OpReport",
    "op_report",
    "Parity",
    "parity",
    "check_tflite",
    "check_keras_file",
    "load_keras_model",
]
