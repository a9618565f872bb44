"""The words ``to_tflite`` and ``keras-seq export`` share for their choices (no TensorFlow import).

One vocabulary for the library and the command line:

- ``QUANTIZATIONS``: ``"none"`` (float32; ``None`` in Python means the
  same), ``"dynamic"`` (int8 weights, float activations), ``"float16"``
  (float16 weights), ``"int8"`` (weights and activations, calibrated);
- ``RECURRENT_LOWERINGS``: how LSTM/Elman layers become TFLite ops,
  ``"unroll"``, ``"loop"``, ``"fused-lstm"`` (see
  :mod:`keras_seq.export.recurrent_lowering`);
- ``DYNAMIC_BATCH``: ``batch_size="dynamic"`` leaves the batch dimension
  open (LiteRT's ``CompiledModel`` and LiteRT.js load only fixed shapes).
"""

NO_QUANTIZATION = "none"
QUANTIZATIONS = (NO_QUANTIZATION, "dynamic", "float16", "int8")
UNROLL, LOOP, FUSED_LSTM = "unroll", "loop", "fused-lstm"
RECURRENT_LOWERINGS = (UNROLL, LOOP, FUSED_LSTM)
DYNAMIC_BATCH = "dynamic"


def quantization_name(quantization):
    """``None`` -> ``"none"``; any other value as given (checked by the caller)."""
    return NO_QUANTIZATION if quantization is None else quantization
