"""Which LiteRT runtimes can load a ``.tflite`` file, and why not, read from the file alone.

The runtimes:

* ``interpreter``: the classic ``Interpreter`` with LiteRT's default
  XNNPACK delegate; ``interpreter-builtin``: the same with builtin kernels
  only. They run every builtin op, variable tensors (the fused LSTM's
  state) and dynamic shapes.
* ``compiled-model``: LiteRT's ``CompiledModel`` API, on which its GPU/NPU
  accelerators and LiteRT.js are built. It refuses variable tensors
  ("Variable tensors not yet supported") and runs a dynamic input
  dimension at size 1 only, so such a file does not run as exported.
* ``litert-js``: LiteRT.js in a browser, on ``CompiledModel``; it also
  refuses inputs that declare a dynamic dimension.

No runtime here runs ``Flex`` (TensorFlow) ops or other custom ops.
"""

from keras_seq.export.tflite_file import BUILTIN_NAMES

RUNTIMES = ("interpreter", "interpreter-builtin", "compiled-model", "litert-js")


def unsupported_reasons(file):
    """``{runtime: reason}`` for each runtime in :data:`RUNTIMES`; ``""`` where the file loads.

    Args:
        file: a :class:`keras_seq.export.tflite_file.TFLiteFile`.
    """
    reasons = {name: [] for name in RUNTIMES}
    builtins = set(BUILTIN_NAMES.values()) - {"CUSTOM"}
    custom = sorted({op for ops in file.subgraph_ops for op in ops if op not in builtins})
    if custom:
        why = f"non-builtin ops {', '.join(custom)} (Flex ops need TensorFlow's runtime)"
        for name in RUNTIMES:
            reasons[name].append(why)
    if file.variables:
        why = (f"{len(file.variables)} variable tensors (the fused LSTM's state), which CompiledModel "
               "does not load; export with recurrent='loop'")
        reasons["compiled-model"].append(why)
        reasons["litert-js"].append(why)
    dynamic = [tensor.shape for tensor in file.inputs if any(d < 0 for d in tensor.shape)]
    if dynamic:
        why = (f"input shape {list(dynamic[0])} has dynamic dimensions (-1), which it runs at size 1 "
               "only; export with batch_size= (and max_length= for sequences)")
        reasons["compiled-model"].append(why)
        reasons["litert-js"].append(why)
    return {name: "; ".join(found) for name, found in reasons.items()}


def dynamic_dimensions(file):
    """Names and shapes of the main subgraph's inputs and outputs that have a dynamic dimension."""
    return [(tensor.name, tensor.shape) for tensor in file.inputs + file.outputs if any(d < 0 for d in tensor.shape)]
