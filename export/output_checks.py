"""Sanity checks on what a model's run returns: finite numbers, and distributions where a SOFTMAX wrote them.

A damaged or forged file (an output's quantization scale changed, a
runtime bug) can return numbers no caller should trust. ``EdgeModel``
checks each run's outputs and warns (:class:`OutputWarning`; the outputs
are still returned, as the file computed them):

- any output holding NaN or infinity (inputs are refused unless finite, so
  the model made them);
- an output written by a SOFTMAX op (directly, or through the
  QUANTIZE/DEQUANTIZE of an int8 file) whose rows along the last axis are
  not a distribution: every value ``p`` in ``[-tol, 1 + tol]`` and
  ``|sum_k p_k - 1| <= tol``, with ``tol = 1e-3`` for a float output and
  ``1e-3 + K * scale`` for a quantized one (``K`` classes, each rounded by
  up to ``scale``).

The command line is stricter: ``keras-seq infer`` prints probabilities, so
outputs that are not a distribution there are an error
(:func:`distribution_problem`).
"""

import warnings

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from keras_seq.export.tflite_file import BUILTIN_NAMES

FLOAT_TOLERANCE = 1e-3
PASS_THROUGH = ("QUANTIZE", "DEQUANTIZE")


class OutputWarning(UserWarning):
    """A model's outputs hold NaN or infinity, or a SOFTMAX output is not a distribution."""


def softmax_tolerances(data):
    """For each main-subgraph output of ``data`` (a checked ``.tflite``): ``None`` unless a SOFTMAX wrote
    it, else the tolerance of its distribution check (see the module docstring; the scale is that of the
    tensor the SOFTMAX wrote, int8 in an int8 file with float outputs)."""
    model = schema.Model.GetRootAs(data, 0)
    graph = model.Subgraphs(0)
    writer = {}
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = BUILTIN_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        for i in range(op.OutputsLength()):
            writer[op.Outputs(i)] = (name, op.Inputs(0) if op.InputsLength() else -1)
    found = []
    for k in range(graph.OutputsLength()):
        tensor, seen = graph.Outputs(k), set()
        name, source = writer.get(tensor, ("", -1))
        while name in PASS_THROUGH and source not in seen:  # an int8 file's QUANTIZE/DEQUANTIZE around it
            seen.add(source)
            tensor = source
            name, source = writer.get(source, ("", -1))
        found.append(_tolerance(graph.Tensors(tensor)) if name == "SOFTMAX" else None)
    return tuple(found)


def _tolerance(tensor):
    quantization = tensor.Quantization()
    scales = quantization.ScaleAsNumpy() if quantization is not None and quantization.ScaleLength() else [0.0]
    classes = int(tensor.Shape(tensor.ShapeLength() - 1)) if tensor.ShapeLength() else 1
    return FLOAT_TOLERANCE + max(classes, 1) * float(np.max(scales))


def distribution_problem(values, tolerance=FLOAT_TOLERANCE):
    """What keeps ``values`` (rows along the last axis) from being distributions, or ``None``."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return "holds NaN or infinity"
    if values.min() < -tolerance or values.max() > 1 + tolerance:
        return f"has values in [{values.min():.4g}, {values.max():.4g}], outside [0, 1]"
    sums = values.sum(axis=-1)
    worst = float(np.abs(sums - 1).max())
    if worst > tolerance:
        return f"has rows summing to {float(sums.flat[np.abs(sums - 1).argmax()]):.4g}, not 1"
    return None


def check(outputs, tolerances, what):
    """Warn (:class:`OutputWarning`) about each output that is not finite, or is a softmax
    (``tolerances[k]`` not ``None``: :func:`softmax_tolerances`) and not a distribution."""
    for k, (y, tol) in enumerate(zip(outputs, tolerances)):
        if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
            warnings.warn(f"{what}: output {k} holds NaN or infinity (from finite inputs): the file may be "
                          "damaged or forged", OutputWarning, stacklevel=3)
        elif tol is not None and (problem := distribution_problem(y, tol)):
            warnings.warn(f"{what}: output {k} is written by a SOFTMAX but {problem}: its probabilities "
                          "cannot be trusted (the file may be damaged or forged)", OutputWarning, stacklevel=3)
