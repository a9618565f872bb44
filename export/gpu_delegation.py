"""Whether LiteRT's GPU accelerator takes a whole ``.tflite`` file, read from the file alone.

LiteRT's GPU accelerator (on a phone; in a browser LiteRT.js's ``'webgpu'``,
built on the same delegate) takes an op only when the delegate has a kernel
for it and the op passes the delegate's checks; the rest run on the CPU, or,
in LiteRT.js without JSPI, the whole file does (and a loop body that falls
back breaks it: "Asyncify is not defined"). This module applies those checks
to every op of the file, as LiteRT's sources state them:

* the ops with a GPU kernel (``tflite/tools/versioning/gpu_compatibility.cc``'s
  cases, which the WebGPU accelerator follows: it takes ``REDUCE_ANY``, which
  the older ``tflite/delegates/gpu/common/model_builder.cc`` has no parser
  for); no control flow (``WHILE``, ``IF``), no fused sequence ops
  (``UNIDIRECTIONAL_SEQUENCE_LSTM``);
* every input and output of rank 4 or less, and every tensor computed at run
  time float32/float16 (int8/uint8 in a quantized file; bool and int32 where
  the op takes them) (``GetOpsToReplace``, ``IsAllAllowedTensors``);
* each op's own constraints (``tflite/tools/versioning/gpu_compatibility.cc``),
  of which these are checked: ``GATHER`` 1-D int32 indices; ``STRIDED_SLICE``
  with no shrink/new-axis/ellipsis mask; ``FULLY_CONNECTED`` with default
  weights and a non-constant input; ``SOFTMAX`` with beta 1; reductions over
  constant int32 axes; ``PAD`` of a rank 3-4 tensor; and one measured on
  LiteRT.js 2.5.3's WebGPU accelerator: an int8 ``SPLIT`` with an output no
  op reads fails there ("Asyncify is not defined"), and so does an int8
  ``FULLY_CONNECTED`` that folds the rows of a rank-3 input (1, T, features)
  into a rank-2 output (T, units) from T = 9 up ("Unable to parse bc coord
  for BATCH axis": the GPU reads a rank-2 tensor's first axis as its batch;
  at 8 rows, with the input's rank kept (1, T, units), or on a rank-2 input
  of any batch, it runs); an int8 ``MUL`` of a rank-2 (T, F) tensor by a
  rank-3 one, e.g. (1, T, 1), runs there but computes zeros. (That file's rank 3-4
  rule for ``SLICE`` and ``STRIDED_SLICE`` is left out: LiteRT.js 2.5.3's
  WebGPU accelerator delegates both on rank-2 tensors, measured in
  ``tests/export/test_gpu_delegation.py``.)

TensorFlow's own ``tf.lite.experimental.Analyzer(gpu_compatibility=True)``
is not used: it calls a file with a ``WHILE`` loop and scalar-index
``GATHER`` compatible, which the GPU accelerator refuses.
"""

from ai_edge_litert import schema_py_generated as schema

from keras_seq.export.tflite_file import BUILTIN_NAMES, TENSOR_TYPES

# Ops the GPU accelerator has a kernel for: gpu_compatibility.cc's cases, and UNPACK (model_builder.cc).
GPU_OPS = frozenset((
    "ABS", "ADD", "ADD_N", "ATAN2", "AVERAGE_POOL_2D", "BATCH_MATMUL", "BITCAST", "CAST", "CEIL",
    "CONCATENATION", "CONV_2D", "COS", "CUMSUM", "DENSIFY", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D",
    "DEQUANTIZE", "DIV", "DYNAMIC_UPDATE_SLICE", "ELU", "EMBEDDING_LOOKUP", "EQUAL", "EXP", "FLOOR",
    "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED", "GATHER", "GELU", "GREATER", "GREATER_EQUAL", "HARD_SWISH",
    "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG", "LOGICAL_AND", "LOGICAL_NOT", "LOGICAL_OR", "LOGISTIC", "LSTM",
    "MAX_POOL_2D", "MAXIMUM", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "ONE_HOT", "PACK",
    "PAD", "PADV2", "POW", "PRELU", "QUANTIZE", "REDUCE_ALL", "REDUCE_ANY", "REDUCE_MAX", "REDUCE_MIN",
    "REDUCE_PROD", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR",
    "REVERSE_V2", "RIGHT_SHIFT", "ROUND", "RSQRT", "SELECT", "SELECT_V2", "SIGN", "SIN", "SLICE", "SOFTMAX",
    "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE", "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB", "SUM",
    "TANH", "TILE", "TOPK_V2", "TRANSPOSE", "TRANSPOSE_CONV", "UNPACK",
))
CONTROL_FLOW = ("WHILE", "IF", "CALL_ONCE")
MAX_RANK = 4
RUNTIME_TYPES = ("FLOAT32", "FLOAT16")
QUANTIZED_TYPES = ("INT8", "UINT8")
LOGICAL_OPS = ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "LOGICAL_AND",
               "LOGICAL_OR", "LOGICAL_NOT", "REDUCE_ANY", "REDUCE_ALL")
# Extra run-time types an op may read (inputs) and write (outputs).
EXTRA_INPUT_TYPES = {"CAST": ("BOOL", "INT32"), "ONE_HOT": ("INT32",), "SELECT": ("BOOL",), "SELECT_V2": ("BOOL",),
                     "GATHER": ("INT32",), **{op: ("BOOL",) for op in LOGICAL_OPS if op.startswith(("LOGICAL",
                                                                                                    "REDUCE"))}}
EXTRA_OUTPUT_TYPES = {"CAST": ("BOOL", "INT32"), **{op: ("BOOL",) for op in LOGICAL_OPS}}
SPLITS = ("SPLIT", "SPLIT_V", "UNPACK")
INT8_FC_ROWS_THAT_FAIL = 9  # measured on LiteRT.js 2.5.3 WebGPU: an int8 FC folding this many rows into its batch
REDUCTIONS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL")


def gpu_unsupported(data):
    """Why LiteRT's GPU accelerator cannot take the whole file: ``"OP: reason"`` per op kind, empty if it can.

    Control flow comes first (it keeps the rest of the recurrence off the
    GPU: the ops of a loop body are listed after it), then the others by name.

    Args:
        data: the bytes of a ``.tflite`` file already checked by
            :func:`keras_seq.export.validate.open_tflite` (indices in range).
    """
    model = schema.Model.GetRootAs(data, 0)
    quantized = _is_quantized(model)
    found = set()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        read = _read_tensors(subgraph)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = BUILTIN_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            if name == "CUSTOM":
                custom = (code.CustomCode() or b"").decode("utf-8", "replace")
                found.add(f"{custom or 'CUSTOM'}: custom ops have no GPU kernel")
                continue
            why = _op_reason(model, subgraph, op, name, quantized)
            if not why and name in SPLITS and quantized:
                unread = [op.Outputs(k) for k in range(op.OutputsLength()) if op.Outputs(k) not in read]
                if unread and any(TENSOR_TYPES[subgraph.Tensors(t).Type()] in QUANTIZED_TYPES for t in unread):
                    why = "an int8 split with an output no op reads (LiteRT.js's WebGPU fails on it)"
            if why:
                found.add(f"{name}: {why}")
    return sorted(found, key=lambda reason: (reason.split(":")[0] not in CONTROL_FLOW, reason))


def _read_tensors(subgraph):
    """The tensors some op of ``subgraph`` reads, or that it outputs."""
    read = {subgraph.Outputs(i) for i in range(subgraph.OutputsLength())}
    for o in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(o)
        read.update(op.Inputs(i) for i in range(op.InputsLength()))
    return read


def _is_quantized(model):
    """A file with QUANTIZE/DEQUANTIZE ops: LiteRT compiles it with quantized ops allowed."""
    names = {BUILTIN_NAMES.get(max(c.BuiltinCode(), c.DeprecatedBuiltinCode()))
             for c in (model.OperatorCodes(i) for i in range(model.OperatorCodesLength()))}
    return bool(names & {"QUANTIZE", "DEQUANTIZE"})


def _tensors(model, subgraph, indices):
    """``(shape, type name, is_constant)`` of each tensor index (``-1``: an omitted optional input)."""
    tensors = []
    for i in indices:
        if i < 0:
            continue
        tensor = subgraph.Tensors(i)
        buffer = model.Buffers(tensor.Buffer())
        constant = tensor.Buffer() > 0 and (buffer.DataLength() > 0 or buffer.Size() > 0)
        shape = tuple(int(tensor.Shape(d)) for d in range(tensor.ShapeLength()))
        tensors.append((shape, TENSOR_TYPES[tensor.Type()], constant))
    return tensors


def _op_reason(model, subgraph, op, name, quantized):
    if name in CONTROL_FLOW:
        return "control flow has no GPU kernel (a recurrence needs recurrent='unroll')"
    if name not in GPU_OPS:
        return "no GPU kernel"
    inputs = _tensors(model, subgraph, [op.Inputs(i) for i in range(op.InputsLength())])
    outputs = _tensors(model, subgraph, [op.Outputs(i) for i in range(op.OutputsLength())])
    for where, tensors, extra in (("input", inputs, EXTRA_INPUT_TYPES), ("output", outputs, EXTRA_OUTPUT_TYPES)):
        allowed = RUNTIME_TYPES + (QUANTIZED_TYPES if quantized else ()) + extra.get(name, ())
        for shape, dtype, constant in tensors:
            if len(shape) > MAX_RANK:
                return f"rank-{len(shape)} {where} {list(shape)}; the GPU takes tensors of rank {MAX_RANK} or less"
            if not constant and dtype not in allowed:
                return f"{dtype.lower()} {where} computed at run time; the GPU takes {', '.join(allowed).lower()}"
    return _op_constraint(op, name, inputs, outputs, quantized)


def _options(op, kind):
    table = op.BuiltinOptions()
    if table is None:
        return None
    options = kind()
    options.Init(table.Bytes, table.Pos)
    return options


def _op_constraint(op, name, inputs, outputs, quantized):
    """The op's own constraint from LiteRT's gpu_compatibility.cc, or ``""``."""
    if name == "GATHER":
        if len(inputs) < 2 or len(inputs[1][0]) != 1:
            return "only 1-D indices (a scalar or N-D index gathers on the CPU)"
        if inputs[1][1] != "INT32":
            return "only int32 indices"
    elif name == "STRIDED_SLICE":
        options = _options(op, schema.StridedSliceOptions)
        if options is not None:
            for mask, what in ((options.ShrinkAxisMask(), "shrink_axis_mask"),
                               (options.NewAxisMask(), "new_axis_mask"), (options.EllipsisMask(), "ellipsis_mask")):
                if mask:
                    return f"no {what} (x[:, t] drops an axis; slice x[:, t:t+1] and reshape instead)"
    elif name == "FULLY_CONNECTED":
        folded = outputs and len(outputs[0][0]) == 2 and inputs and len(inputs[0][0]) > 2
        if quantized and folded and outputs[0][0][0] >= INT8_FC_ROWS_THAT_FAIL:
            return (f"an int8 product folding the rows of a rank-{len(inputs[0][0])} input {list(inputs[0][0])} "
                    f"into a batch of {outputs[0][0][0]} ({list(outputs[0][0])}; from {INT8_FC_ROWS_THAT_FAIL} "
                    "LiteRT.js's WebGPU fails on it; keeping the input's rank runs)")
        options = _options(op, schema.FullyConnectedOptions)
        if options is not None and options.WeightsFormat() != schema.FullyConnectedOptionsWeightsFormat.DEFAULT:
            return "only default (not shuffled) weights"
        if inputs and inputs[0][2]:
            return "a constant input"
    elif name == "MUL" and quantized and len(inputs) == 2:
        ranks = sorted(len(shape) for shape, _, _ in inputs)
        rows = [shape[0] for shape, _, _ in inputs if len(shape) == 2]
        if ranks[0] == 2 and ranks[1] > 2 and rows[0] > 1:
            return (f"an int8 product broadcasting a rank-2 {list(inputs[0][0])} against a rank-{ranks[1]} "
                    f"{list(inputs[1][0])} (LiteRT.js's WebGPU runs it as zeros: it reads the rank-2 tensor's "
                    "first axis as its batch; give both the same rank)")
    elif name == "SOFTMAX":
        options = _options(op, schema.SoftmaxOptions)
        if options is not None and options.Beta() != 1:
            return f"beta {options.Beta()}; only beta 1"
    elif name in REDUCTIONS:
        if len(inputs) < 2 or not inputs[1][2] or inputs[1][1] != "INT32":
            return "only constant int32 axes"
    elif name in ("PAD", "PADV2", "MIRROR_PAD"):
        if len(inputs) < 2 or inputs[1][0] not in ((3, 2), (4, 2)):
            return "pads rank 3 or 4 tensors only"
    return ""
