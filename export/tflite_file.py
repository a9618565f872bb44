"""Read (and annotate) a ``.tflite`` flatbuffer in pure Python, bounds-checked.

Python's flatbuffers reader can only raise on a bad offset, never crash; on
top of that every vector length is checked against the file size before it is
walked and every index (operator code, tensor, buffer) against its table, so a
hostile file cannot make the reader loop for long either. Nothing here runs
the model.
"""

import dataclasses
import struct

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from keras_seq.export.errors import ModelFileError

IDENTIFIER = b"TFL3"
LOWERING_METADATA = "keras_seq.lowering"
SEQUENCE_METADATA = "keras_seq.sequence"
MAX_RANK = 16
BUILTIN_NAMES = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}
TENSOR_TYPES = {
    value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")
}


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple
    is_variable: bool


@dataclasses.dataclass(frozen=True)
class TFLiteFile:
    """What a ``.tflite`` file holds.

    Attributes:
        size: bytes in the file.
        subgraph_ops: per subgraph, the op names in execution order (custom
            ops by their custom code, e.g. ``"FlexTensorListReserve"``).
        inputs, outputs: :class:`TensorInfo` of the main subgraph's inputs
            and outputs.
        variables: indices of the main subgraph's variable tensors (state
            kept between invokes).
        metadata: name -> bytes of the file's metadata entries.
    """

    size: int
    subgraph_ops: tuple
    inputs: tuple
    outputs: tuple
    variables: tuple
    metadata: dict


def _length(n, data, what, element_bytes=4):
    if not 0 <= n <= len(data) // element_bytes:
        raise ModelFileError(f"{what} claims {n} entries, impossible in a {len(data)}-byte file")
    return n


def _index(i, limit, what):
    if not 0 <= i < limit:
        raise ModelFileError(f"{what} {i} is out of range (0-{limit - 1})")
    return i


def _op_name(code):
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == schema.BuiltinOperator.CUSTOM:
        custom = code.CustomCode()
        return custom.decode("utf-8", "replace") if custom else "CUSTOM"
    if builtin not in BUILTIN_NAMES:
        raise ModelFileError(f"operator code {builtin} is not a TFLite builtin")
    return BUILTIN_NAMES[builtin]


def _tensor_info(tensor, n_buffers):
    _index(tensor.Buffer(), max(n_buffers, 1), "tensor buffer index")
    rank = tensor.ShapeLength()
    if not 0 <= rank <= MAX_RANK:
        raise ModelFileError(f"tensor rank {rank} is outside 0-{MAX_RANK}")
    shape = tuple(int(tensor.Shape(i)) for i in range(rank))
    if tensor.ShapeSignatureLength():
        signature = tuple(int(tensor.ShapeSignature(i)) for i in range(tensor.ShapeSignatureLength()))
        if len(signature) == rank:
            shape = signature
    if any(d < -1 for d in shape):
        raise ModelFileError(f"tensor shape {shape} has negative dimensions")
    if tensor.Type() not in TENSOR_TYPES:
        raise ModelFileError(f"tensor type {tensor.Type()} is not a TFLite type")
    name = (tensor.Name() or b"").decode("utf-8", "replace")
    return TensorInfo(name, TENSOR_TYPES[tensor.Type()].lower(), shape, bool(tensor.IsVariable()))


def read_tflite(data):
    """Parse and check ``data`` (bytes of a ``.tflite`` file) into a :class:`TFLiteFile`.

    Raises:
        ModelFileError: not a TFLite flatbuffer, or a count, offset or index
            that points outside the file or its tables.
    """
    data = bytes(data)
    if len(data) < 8:
        raise ModelFileError(f"a TFLite file has at least 8 bytes, got {len(data)}")
    if data[4:8] != IDENTIFIER:
        raise ModelFileError(
            f"not a TFLite flatbuffer: identifier {data[4:8]!r}, expected {IDENTIFIER!r}"
        )
    try:
        return _read(data)
    except ModelFileError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeError) as error:
        raise ModelFileError(f"corrupt TFLite flatbuffer: {type(error).__name__}: {error}") from error


def _read(data):
    (root,) = struct.unpack_from("<I", data, 0)
    if not 8 <= root < len(data):
        raise ModelFileError(f"root table offset {root} is outside the {len(data)}-byte file")
    model = schema.Model.GetRootAs(data, 0)
    n_buffers = _length(model.BuffersLength(), data, "buffers")
    for b in range(n_buffers):
        buffer = model.Buffers(b)
        _length(buffer.DataLength(), data, f"buffer {b}", element_bytes=1)
        if buffer.Offset() > 1:
            if buffer.Offset() + buffer.Size() > len(data):
                raise ModelFileError(f"buffer {b} lies outside the file")
    codes = [_op_name(model.OperatorCodes(i))
             for i in range(_length(model.OperatorCodesLength(), data, "operator codes"))]
    n_subgraphs = _length(model.SubgraphsLength(), data, "subgraphs")
    if n_subgraphs == 0:
        raise ModelFileError("the model has no subgraphs")
    subgraph_ops, main = [], None
    for s in range(n_subgraphs):
        subgraph = model.Subgraphs(s)
        n_tensors = _length(subgraph.TensorsLength(), data, f"subgraph {s} tensors")
        tensors = [_tensor_info(subgraph.Tensors(t), n_buffers) for t in range(n_tensors)]
        ops = []
        for o in range(_length(subgraph.OperatorsLength(), data, f"subgraph {s} operators")):
            op = subgraph.Operators(o)
            ops.append(codes[_index(op.OpcodeIndex(), len(codes), "operator code index")])
            for i in range(_length(op.InputsLength(), data, "operator inputs")):
                if op.Inputs(i) != -1:
                    _index(op.Inputs(i), n_tensors, f"operator {o} input tensor")
            for i in range(_length(op.OutputsLength(), data, "operator outputs")):
                _index(op.Outputs(i), n_tensors, f"operator {o} output tensor")
        ends = [
            tuple(tensors[_index(get(i), n_tensors, "subgraph input/output tensor")] for i in range(n))
            for get, n in ((subgraph.Inputs, _length(subgraph.InputsLength(), data, "inputs")),
                           (subgraph.Outputs, _length(subgraph.OutputsLength(), data, "outputs")))
        ]
        if main is None:
            main = ends + [tuple(i for i, t in enumerate(tensors) if t.is_variable)]
        subgraph_ops.append(tuple(ops))
    metadata = {}
    for m in range(_length(model.MetadataLength(), data, "metadata")):
        entry = model.Metadata(m)
        buffer = model.Buffers(_index(entry.Buffer(), n_buffers, "metadata buffer"))
        name = (entry.Name() or b"").decode("utf-8", "replace")
        metadata[name] = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return TFLiteFile(len(data), tuple(subgraph_ops), main[0], main[1], main[2], metadata)


def with_metadata(data, name, value):
    """Return ``data`` with metadata entry ``name`` set to ``value`` (bytes)."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(value, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name != name.encode()] + [entry]
    builder = flatbuffers.Builder(len(data) + len(value) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=IDENTIFIER)
    return bytes(builder.Output())
