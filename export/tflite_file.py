"""Read (and annotate) a ``.tflite`` flatbuffer in pure Python, bounds-checked.

Python's flatbuffers reader can only raise on a bad offset, never crash; on
top of that every vector length is checked against the file size before it is
walked and every index (operator code, tensor, buffer) against its table, so a
hostile file cannot make the reader loop for long either. Nothing here runs
the model.

Beyond the bounds, the memory a runtime will touch is checked, because LiteRT
trusts it:

- a constant tensor (one whose buffer holds data) holds exactly
  ``prod(shape) * itemsize`` bytes, with a static shape;
- no tensor the runtime writes (an op's output or intermediate, a subgraph
  input, a variable) points at a buffer holding data: it would write into
  the constant weights' memory, at a size that grows with the batch;
- the main subgraph's outputs are not constants and have the input's batch
  axis first.

A file is read (:func:`read_tflite_file`) only when it is a regular file of
at most :func:`max_tflite_bytes` bytes (default 4 GiB: twice TFLite's 2 GiB
flatbuffer limit, room for a large model's buffers stored after it; ours are
a few MB), and its identifier is checked from its first 8 bytes before the
rest is read, so a 2 GiB file of zeros is refused at once, not read whole.
"""

import dataclasses
import os
import struct

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from keras_seq import file_reading
from keras_seq.export.errors import ModelFileError

IDENTIFIER = b"TFL3"
MAX_TFLITE_BYTES = 4 << 30
MAX_BYTES_VARIABLE = "KERAS_SEQ_MAX_TFLITE_BYTES"
LOWERING_METADATA = "keras_seq.lowering"
SEQUENCE_METADATA = "keras_seq.sequence"
INPUT_METADATA = "keras_seq.input"  # {"dropped_channel": true}: predict takes the file's shape + (1,)
MAX_RANK = 16
BUILTIN_NAMES = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}
TENSOR_TYPES = {
    value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")
}
# Bytes per element of each fixed-size type; int2/int4 constants may be stored
# packed (see _packed_bytes). STRING, RESOURCE and VARIANT have no fixed size.
ITEM_BYTES = {
    "BOOL": 1, "INT8": 1, "UINT8": 1, "FLOAT8_E4M3FN": 1, "FLOAT8_E5M2": 1,
    "INT16": 2, "UINT16": 2, "FLOAT16": 2, "BFLOAT16": 2,
    "INT32": 4, "UINT32": 4, "FLOAT32": 4,
    "INT64": 8, "UINT64": 8, "FLOAT64": 8, "COMPLEX64": 8, "COMPLEX128": 16,
    "INT4": 1, "UINT4": 1, "INT2": 1,
}
PACKED_BITS = {"INT4": 4, "UINT4": 4, "INT2": 2}


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


def padded_to_length(x, length):
    """A batch ``x`` (N, t, ...) with zero steps appended up to ``length``: how a file exported at a
    fixed ``max_length`` reads a shorter sequence (the model masks zero steps)."""
    missing = length - x.shape[1]
    if missing <= 0:
        return x
    return np.concatenate([x, np.zeros((len(x), missing) + x.shape[2:], x.dtype)], axis=1)


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


def _packed_bytes(elements, type_name):
    """Bytes a constant of ``elements`` values takes: one per byte, or packed for int2/int4."""
    bits = PACKED_BITS.get(type_name)
    return (elements * bits + 7) // 8 if bits else elements * ITEM_BYTES[type_name]


def _check_constant(tensor, buffer_bytes, where):
    """A constant's buffer holds exactly its declared shape's bytes (LiteRT reads that many)."""
    type_name = TENSOR_TYPES[tensor.Type()]
    if type_name not in ITEM_BYTES or tensor.Sparsity() is not None:
        return  # variable-size (strings) or sparse encodings: LiteRT parses these itself
    shape = tuple(int(tensor.Shape(i)) for i in range(tensor.ShapeLength()))
    if any(d < 0 for d in shape):
        raise ModelFileError(f"{where} is a constant with a dynamic shape {shape}")
    elements = int(np.prod(shape, dtype=object)) if shape else 1
    allowed = {elements * ITEM_BYTES[type_name], _packed_bytes(elements, type_name)}
    if buffer_bytes not in allowed:
        raise ModelFileError(
            f"{where} ({type_name.lower()} {shape}) needs {min(allowed)} bytes but its buffer holds {buffer_bytes}"
        )


def _check_memory(subgraph, s, written, buffer_bytes):
    """See the module docstring: constants sized right, nothing written into a constant."""
    for t in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(t)
        held = buffer_bytes[tensor.Buffer()] if buffer_bytes else 0
        where = f"subgraph {s} tensor {t}"
        if t in written or tensor.IsVariable():
            if held:
                raise ModelFileError(
                    f"{where} is written by the runtime but points at constant buffer {tensor.Buffer()} "
                    f"({held} bytes): running it would overwrite that memory"
                )
        elif held:
            _check_constant(tensor, held, where)


def _check_outputs(tensors, ends, constants):
    """Main outputs: computed, not constant, with the input's batch axis first."""
    inputs, outputs = ends
    batch = tensors[inputs[0]].shape[0] if inputs and tensors[inputs[0]].shape else None
    for k, t in enumerate(outputs):
        output = tensors[t]
        if t in constants:
            raise ModelFileError(f"output {k} is a constant, not computed from the input")
        if batch is not None and (not output.shape or output.shape[0] != batch):
            raise ModelFileError(
                f"output {k} has shape {output.shape}; its first axis must be the input's batch axis ({batch})"
            )


def max_tflite_bytes(max_bytes=None):
    """The largest ``.tflite`` file read: ``max_bytes``, else :data:`MAX_BYTES_VARIABLE`, else 4 GiB."""
    name = "max_bytes"
    if max_bytes is None:
        max_bytes, name = os.environ.get(MAX_BYTES_VARIABLE, MAX_TFLITE_BYTES), MAX_BYTES_VARIABLE
    try:
        value = int(max_bytes)
    except (TypeError, ValueError):
        value = None
    if value is None or isinstance(max_bytes, (bool, float)) or value < 8:
        raise ValueError(f"{name}={max_bytes!r} is not allowed; expected an int >= 8 (bytes)")
    return value


def read_tflite_file(path, what=None, max_bytes=None):
    """The bytes of the ``.tflite`` file at ``path``, refused early (see the module docstring).

    Raises:
        ModelFileError: ``path`` is missing, a directory, not a regular file,
            larger than :func:`max_tflite_bytes`, or not a TFLite flatbuffer.
    """
    what = what or f"TFLite model file {str(path)!r}"
    cap = max_tflite_bytes(max_bytes)
    size = file_reading.regular_file_size(path, what, error=ModelFileError)
    hint = f" (set {MAX_BYTES_VARIABLE} to read larger files)"
    if size > cap:
        raise ModelFileError(f"{what} is {size} bytes; at most {cap} are read{hint}")
    with open(path, "rb") as stream:
        head = stream.read(8)
    try:
        _check_head(head)
    except ModelFileError as error:
        raise ModelFileError(f"{what}: {error}") from None
    return file_reading.read_regular_file(path, what, cap, error=ModelFileError, limit_hint=hint)


def _check_head(data):
    if len(data) < 8:
        raise ModelFileError(f"a TFLite file has at least 8 bytes, got {len(data)}")
    if data[4:8] != IDENTIFIER:
        raise ModelFileError(
            f"not a TFLite flatbuffer: identifier {data[4:8]!r}, expected {IDENTIFIER!r}"
        )


def read_tflite(data):
    """Parse and check ``data`` (bytes of a ``.tflite`` file) into a :class:`TFLiteFile`.

    Raises:
        ModelFileError: not a TFLite flatbuffer, or a count, offset or index
            that points outside the file or its tables.
    """
    data = bytes(data)
    _check_head(data)
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
    buffer_bytes = []
    for b in range(n_buffers):
        buffer = model.Buffers(b)
        buffer_bytes.append(_length(buffer.DataLength(), data, f"buffer {b}", element_bytes=1))
        if buffer.Offset() > 1:
            if buffer.Offset() + buffer.Size() > len(data):
                raise ModelFileError(f"buffer {b} lies outside the file")
            buffer_bytes[-1] = buffer.Size()
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
        ops, written = [], set()
        for o in range(_length(subgraph.OperatorsLength(), data, f"subgraph {s} operators")):
            op = subgraph.Operators(o)
            ops.append(codes[_index(op.OpcodeIndex(), len(codes), "operator code index")])
            for i in range(_length(op.InputsLength(), data, "operator inputs")):
                if op.Inputs(i) != -1:
                    _index(op.Inputs(i), n_tensors, f"operator {o} input tensor")
            for i in range(_length(op.OutputsLength(), data, "operator outputs")):
                written.add(_index(op.Outputs(i), n_tensors, f"operator {o} output tensor"))
            for i in range(_length(op.IntermediatesLength(), data, "operator intermediates")):
                written.add(_index(op.Intermediates(i), n_tensors, f"operator {o} intermediate tensor"))
        ends = [
            [_index(get(i), n_tensors, "subgraph input/output tensor") for i in range(n)]
            for get, n in ((subgraph.Inputs, _length(subgraph.InputsLength(), data, "inputs")),
                           (subgraph.Outputs, _length(subgraph.OutputsLength(), data, "outputs")))
        ]
        written.update(ends[0])
        _check_memory(subgraph, s, written, buffer_bytes)
        if main is None:
            constants = {t for t in range(n_tensors)
                         if t not in written and buffer_bytes and buffer_bytes[subgraph.Tensors(t).Buffer()]}
            _check_outputs(tensors, ends, constants)
            main = [tuple(tensors[i] for i in end) for end in ends]
            main.append(tuple(i for i, t in enumerate(tensors) if t.is_variable))
        subgraph_ops.append(tuple(ops))
    metadata = {}
    for m in range(_length(model.MetadataLength(), data, "metadata")):
        entry = model.Metadata(m)
        buffer = model.Buffers(_index(entry.Buffer(), n_buffers, "metadata buffer"))
        name = (entry.Name() or b"").decode("utf-8", "replace")
        metadata[name] = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return TFLiteFile(len(data), tuple(subgraph_ops), main[0], main[1], main[2], metadata)


def with_metadata(data, name, value):
    """Return ``data`` with metadata entry ``name`` set to ``value`` (bytes).

    A buffer stored after the flatbuffer (``offset``/``size``, as
    ai-edge-quantizer and the converter's large-model path write them) is
    moved into the flatbuffer: rebuilding the flatbuffer would otherwise
    leave its offset pointing past the new file.

    Raises:
        ModelFileError: such a buffer lies outside ``data``.
    """
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for b, stored in enumerate(model.buffers or []):
        if stored.offset > 1:
            if stored.offset + stored.size > len(data):
                raise ModelFileError(f"buffer {b} lies outside the file")
            stored.data = np.frombuffer(data, np.uint8, count=stored.size, offset=stored.offset)
            stored.offset = stored.size = 0
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
