"""What int8 calibration leaves unusable: tensors it never saw non-zero, and the ops LiteRT then refuses.

TensorFlow's calibrator gives each activation tensor the range of the values
it saw on the representative data. A tensor that was zero on every sample
(an unrolled step no calibration sequence reached, a branch the data never
took) gets an empty range, which the converter stores as about +-1e-6
(scale ~7.8e-9): at run time every non-zero value there is read as zero.

Worse, LiteRT refuses an int8 ``ADD`` or ``SUB`` whose output range is far
narrower than its inputs': the kernel rescales by
``2 max(s_a, s_b) / (2^20 s_out)``, which must be below 1 (TFLite's
``QuantizeMultiplierSmallerThanOneExp``), and otherwise the classic
interpreter's builtin kernel aborts the process while XNNPACK fails to
prepare. :func:`check` runs on every int8 file ``to_tflite`` makes: such
ops are a :class:`ConversionError` (no file is written), other empty ranges
a :class:`CalibrationWarning`; both say what calibration data would cover.
"""

import dataclasses
import warnings

from ai_edge_litert import schema_py_generated as schema

from keras_seq.export.calibration import CalibrationWarning
from keras_seq.export.errors import ConversionError
from keras_seq.export.tflite_file import BUILTIN_NAMES

EMPTY_RANGE = 1e-5  # scale x (qmax - qmin) below this: the calibrator saw only zeros (it stores +-1e-6)
ADD_LEFT_SHIFT = 20  # TFLite's int8 ADD/SUB rescale their inputs by 2^20 before adding
QUANTIZED_TYPES = {schema.TensorType.INT8: 255, schema.TensorType.INT16: 65535}


@dataclasses.dataclass(frozen=True)
class QuantizedOp:
    """An op of the main subgraph and the tensor that makes it a finding."""

    index: int
    op: str
    tensor: str


def _graph(data):
    model = schema.Model.GetRootAs(data, 0)
    graph = model.Subgraphs(0)
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        code = model.OperatorCodes(op.OpcodeIndex())
        yield o, BUILTIN_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM"), op, graph


def _scale(graph, index):
    """The per-tensor scale of an int8/int16 tensor, or ``None``."""
    if index < 0:
        return None
    tensor = graph.Tensors(index)
    quantization = tensor.Quantization()
    if tensor.Type() not in QUANTIZED_TYPES or quantization is None or quantization.ScaleLength() != 1:
        return None
    return float(quantization.Scale(0)), QUANTIZED_TYPES[tensor.Type()]


def _name(graph, index):
    return graph.Tensors(index).Name().decode(errors="replace")


def empty_ranges(data):
    """The ops of ``data`` (a ``.tflite``) whose quantized output has an empty calibrated range."""
    found = []
    for o, name, op, graph in _graph(data):
        for k in range(op.OutputsLength()):
            scale = _scale(graph, op.Outputs(k))
            if scale is not None and scale[0] * scale[1] < EMPTY_RANGE:
                found.append(QuantizedOp(o, name, _name(graph, op.Outputs(k))))
    return found


def refused_ops(data):
    """The int8 ``ADD``/``SUB`` ops of ``data`` that LiteRT refuses: output scale below
    ``max(input scales) / 2^19`` (see the module docstring)."""
    found = []
    for o, name, op, graph in _graph(data):
        if name not in ("ADD", "SUB") or op.InputsLength() != 2:
            continue
        scales = [_scale(graph, op.Inputs(i)) for i in range(2)] + [_scale(graph, op.Outputs(0))]
        if any(s is None or s[1] != QUANTIZED_TYPES[schema.TensorType.INT8] for s in scales):
            continue
        (a, _), (b, _), (out, _) = scales
        if 2 * max(a, b) >= (1 << ADD_LEFT_SHIFT) * out:
            found.append(QuantizedOp(o, name, _name(graph, op.Outputs(0))))
    return found


def check(data, what, max_length=None):
    """Refuse (:class:`ConversionError`) an int8 file LiteRT would refuse for its calibrated ranges;
    warn (:class:`CalibrationWarning`) about tensors calibration saw only as zero."""
    cover = (f"calibrate on sequences of every length up to max_length={max_length} (shorter ones are "
             "padded with zero steps)" if max_length is not None else
             "calibrate on data that reaches every part of the model (for a masked sequence model, every "
             "length it reads)")
    refused = refused_ops(data)
    if refused:
        raise ConversionError(
            f"int8 calibration of {what!r} left {len(refused)} {refused[0].op} op(s) that LiteRT refuses "
            f"(first: {refused[0].tensor!r}): their output was zero on every calibration sample while their "
            f"inputs were not; {cover}"
        )
    empty = empty_ranges(data)
    if empty:
        warnings.warn(
            f"int8 calibration of {what!r} saw {len(empty)} tensor(s) only as zero (first: {empty[0].tensor!r}): "
            f"in the file any other value there reads as zero; {cover}", CalibrationWarning, stacklevel=3)
