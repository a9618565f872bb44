"""Keras model -> .tflite, and running it with the LiteRT interpreter.

Names load lazily, so running a ``.tflite`` file (``EdgeModel``) never
imports TensorFlow; only ``to_tflite`` does.

Example:
    >>> from export import to_tflite, EdgeModel, parity, op_report
    >>> data = to_tflite(model, "digits.tflite", quantization="int8",
    ...                  representative_data=x_train[:200])
    >>> edge = EdgeModel("digits.tflite")
    >>> edge.predict(x_test[:5]).argmax(-1)
    >>> print(op_report(edge)); print(parity(model, edge, x_test[:100]))
"""

import importlib

_WHERE = {
    "QUANTIZATIONS": "export.convert",
    "to_tflite": "export.convert",
    "EdgeModel": "export.edge_model",
    "EdgeStream": "export.edge_model",
    "ConversionError": "export.errors",
    "ModelFileError": "export.errors",
    "OpReport": "export.op_report",
    "op_report": "export.op_report",
    "Parity": "export.parity",
    "parity": "export.parity",
    "check_tflite": "export.validate",
    "check_keras_file": "export.validate",
    "load_keras_model": "export.validate",
}

__all__ = list(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'export' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__():
    return sorted(__all__)
