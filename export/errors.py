"""The exceptions and warnings the export package raises.

``ModelFileError`` and ``UnverifiedModelWarning`` are the core package's
(:mod:`keras_seq.saving`), so one ``except`` catches a bad ``.keras`` and a
bad ``.tflite`` file alike.
"""

from keras_seq.saving import ModelFileError, UnverifiedModelWarning

__all__ = ["ModelFileError", "UnverifiedModelWarning", "ConversionError"]


class ConversionError(ValueError):
    """A Keras model cannot be converted as asked (the converter's reason is attached)."""
