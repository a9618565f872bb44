"""The exceptions the export package raises."""


class ModelFileError(ValueError):
    """A ``.tflite`` or ``.keras`` file is corrupt, truncated, hostile or not a model."""


class ConversionError(ValueError):
    """A Keras model cannot be converted as asked (the converter's reason is attached)."""
