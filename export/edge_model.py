"""Run a ``.tflite`` model with LiteRT: stateless ``predict`` and explicit ``stream``.

:class:`EdgeModel` runs a file through LiteRT's ``CompiledModel`` API (what
its accelerators and LiteRT.js are built on) when the file allows it, and
through the classic ``Interpreter`` otherwise or on request; ``predict``
behaves the same on both.

TFLite's fused LSTM keeps ``h_t`` and ``C_t`` in variable tensors that
survive ``invoke()``: run twice and the second run starts from the first
run's final state. ``predict`` resets every variable tensor before each run
(every sample starts from ``h_0 = C_0 = 0``, like Keras), and ``stream()``
is the one place state is carried from call to call, for feeding a sequence
in chunks (classic interpreter only: ``CompiledModel`` loads no variable
tensors).

The runtime runs in a child process (:mod:`keras_seq.export.sandbox`), so
every run is bounded: a hostile file's endless WHILE loop or TILE of
gigabytes is stopped at ``time_limit`` seconds per run or ``memory_limit``
bytes with a :class:`~keras_seq.export.sandbox.RunLimitError` that names the
limit, Ctrl-C stops a long run at once, and a native crash is a
:class:`~keras_seq.export.errors.ModelFileError`, never this process's.

Outputs are checked (:mod:`keras_seq.export.output_checks`): NaN or
infinity in an output, and a SOFTMAX output that is not a distribution,
give an :class:`~keras_seq.export.output_checks.OutputWarning`.
"""

import json
import threading

import numpy as np

from keras_seq import arguments
from keras_seq.export import calibration, limits, output_checks
from keras_seq.export.gpu_delegation import MAX_RANK
from keras_seq.export.runners import CompiledModelRunner, InterpreterRunner, IsolatedRunner
from keras_seq.export.runtimes import unsupported_reasons
from keras_seq.export.sandbox import Sandbox
from keras_seq.export.tflite_file import INPUT_METADATA, SEQUENCE_METADATA, padded_to_length
from keras_seq.export.validate import check_outputs, describe, open_tflite, runtime_errors

QUANTIZED = (np.int8, np.uint8, np.int16)
RUNTIME_CHOICES = ("auto", "compiled-model", "interpreter")


def _dropped_channel(metadata, file_input_shape):
    """Whether ``to_tflite`` dropped the model input's last axis of 1 (rank 5 -> the file's 4)."""
    try:
        dropped = json.loads(metadata[INPUT_METADATA])["dropped_channel"] is True
    except (KeyError, ValueError, TypeError):
        return False
    return dropped and len(file_input_shape) == MAX_RANK


class EdgeModel:
    """A ``.tflite`` model, checked (see :mod:`keras_seq.export.validate`) and ready to run.

    Args:
        model: path of a ``.tflite`` file, or its bytes.
        num_threads: CPU threads (``None``: LiteRT's default), at most
            ``limits.MAX_NUM_THREADS`` (4 x the CPU count).
        verify: ``True`` or ``False``: load and run it once in a child
            process first (on zeros, ones, random data), so a file that does
            not run is refused here rather than at the first ``predict``.
        xnnpack: classic interpreter only: apply LiteRT's default XNNPACK
            delegate (``False``: builtin kernels only, as on an interpreter
            built without it).
        runtime: ``"auto"`` (``CompiledModel`` when the file has fixed input
            shapes and no variable tensors, else the classic interpreter),
            ``"compiled-model"`` or ``"interpreter"``.
        time_limit: seconds one run (a chunk of at most
            ``limits.PROBE_BATCH`` samples) and the load-time probe may
            take (default ``limits.RUN_TIME_LIMIT``).
        memory_limit: bytes of resident memory the process running the
            model may use (default ``limits.RUN_MEMORY_LIMIT``).

    Attributes:
        data: the file's bytes (checked); file: the parsed
            :class:`keras_seq.export.tflite_file.TFLiteFile` (ops, sizes).
        runtime: the runtime in use: ``"compiled-model"``, ``"interpreter"``
            or ``"interpreter-builtin"``.
        input_shape, output_shape: shape signatures, -1 for a dynamic size;
            ``input_shape`` is what ``predict`` takes: the model's, which for a
            file that dropped a rank-5 input's last axis of 1 (for LiteRT's GPU
            accelerator) is the file's input shape + (1,) (``signature`` has
            the file's own).
        max_length: the fixed sequence length a file was exported with
            (``to_tflite(max_length=...)``): shorter sequences are padded
            with zeros, which the model masks; ``None`` otherwise.

    Example:
        >>> edge = EdgeModel("digits.tflite")
        >>> probabilities = edge.predict(x_test[:32])       # (32, 10)
        >>> letters = edge.predict([word1, word2])          # words of any length
    """

    def __init__(self, model, num_threads=None, verify=True, xnnpack=True, runtime="auto",
                 time_limit=limits.RUN_TIME_LIMIT, memory_limit=limits.RUN_MEMORY_LIMIT):
        num_threads = limits.thread_count(num_threads)
        verify = arguments.boolean(verify, "verify")
        xnnpack = arguments.boolean(xnnpack, "xnnpack")
        runtime = arguments.choice(runtime, "runtime", RUNTIME_CHOICES)
        self._what = describe(model)
        self._sandbox = Sandbox(self._what, time_limit, memory_limit)
        self.time_limit, self.memory_limit = self._sandbox.time_limit, self._sandbox.memory_limit
        self.data, self.file = open_tflite(model, probe=verify, time_limit=self.time_limit,
                                           memory_limit=self.memory_limit)
        data = self.data
        if len(self.file.inputs) != 1 or len(self.file.outputs) < 1:
            raise ValueError(
                f"EdgeModel runs models with one input and at least one output; this one has "
                f"{len(self.file.inputs)} inputs and {len(self.file.outputs)} outputs"
            )
        with runtime_errors(self._what, RuntimeError):
            self._runner = self._start(data, num_threads, xnnpack, runtime)
        self.runtime = self._runner.name
        self._lock = threading.Lock()
        self._input = self._runner.input_detail
        self._outputs = self._runner.output_details
        self.dropped_channel = _dropped_channel(self.file.metadata, self._input["shape_signature"])
        self.input_shape = tuple(int(d) for d in self._input["shape_signature"]) + (1,) * self.dropped_channel
        self.output_shape = tuple(int(d) for d in self._outputs[0]["shape_signature"])
        self.input_dtype = np.dtype(self._input["dtype"])
        self._input_range = calibration.InputRangeGuard(self.file, self._what)
        self._tolerances = output_checks.softmax_tolerances(data)
        try:
            self.max_length = int(json.loads(self.file.metadata[SEQUENCE_METADATA])["max_length"])
        except (KeyError, ValueError, TypeError):
            self.max_length = None

    def _start(self, data, num_threads, xnnpack, runtime):
        """The runner for ``runtime``, or a clear ``ValueError`` why the file cannot use it."""
        why_not = unsupported_reasons(self.file)["compiled-model"]
        if runtime == "compiled-model":
            if not xnnpack:
                raise ValueError("xnnpack=False applies to runtime='interpreter'; CompiledModel "
                                 "picks its CPU kernels itself")
            if why_not:
                raise ValueError(f"runtime='compiled-model' cannot run this file: {why_not}")
            return IsolatedRunner(self._sandbox, CompiledModelRunner, (data, num_threads))
        if runtime == "auto" and xnnpack and not why_not:
            try:
                return IsolatedRunner(self._sandbox, CompiledModelRunner, (data, num_threads))
            except ValueError:
                pass  # a file CompiledModel refuses still runs in the classic interpreter
        return IsolatedRunner(self._sandbox, InterpreterRunner, (data, num_threads, xnnpack))

    @property
    def signature(self):
        """``{"inputs": [...], "outputs": [...]}``: name, shape signature and dtype of each."""
        def describe(detail):
            return {
                "name": detail["name"],
                "shape": tuple(int(d) for d in detail["shape_signature"]),
                "dtype": np.dtype(detail["dtype"]).name,
            }

        return {"inputs": [describe(self._input)], "outputs": [describe(d) for d in self._outputs]}

    @property
    def size(self):
        return self.file.size

    @property
    def stateful_ops(self):
        """Number of ops that keep state in variable tensors (fused LSTMs)."""
        return sum(ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") for ops in self.file.subgraph_ops)

    def __repr__(self):
        outputs = ", ".join(f"{o['dtype']} {o['shape']}" for o in self.signature["outputs"])
        return (
            f"EdgeModel({self.size} bytes, input {self.input_dtype.name} {self.input_shape}"
            f" -> output {outputs}, {sum(map(len, self.file.subgraph_ops))} ops, "
            f"{self.stateful_ops} fused LSTM, runtime {self.runtime})"
        )

    # ---- input and output conversion --------------------------------------------------

    def _check_input(self, x, what="x", batched=True):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{what} is not an array: {error}") from error
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise ValueError(f"{what} has dtype {x.dtype}; expected numbers")
        if np.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"{what} has dtype {x.dtype}; expected real numbers (the model takes "
                             f"{self.input_dtype.name}, and would silently drop the imaginary part)")
        expected = self.input_shape if batched else self.input_shape[1:]
        if x.ndim != len(expected):
            raise ValueError(
                f"{what} has shape {x.shape}; expected {len(expected)} dimensions like "
                f"{tuple(d if d > 0 else None for d in expected)}"
            )
        if x.size == 0:
            raise ValueError(f"{what} has shape {x.shape}; it is empty")
        fixed = expected[1:] if batched else expected
        actual = x.shape[1:] if batched else x.shape
        for axis, (want, got) in enumerate(zip(fixed, actual), start=1 if batched else 0):
            if self.max_length is not None and axis == (1 if batched else 0) and 0 < got <= want:
                continue  # padded to max_length by padded_to_length
            if self.max_length is not None and axis == (1 if batched else 0):
                raise ValueError(
                    f"{what} has {got} time steps; this file was exported for at most "
                    f"max_length={self.max_length} (to_tflite(max_length=...))"
                )
            if want > 0 and want != got:
                raise ValueError(
                    f"{what} has shape {x.shape}; axis {axis} must be {want} "
                    f"(model input {self.input_shape}, -1 = any size)"
                )
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise ValueError(f"{what} contains NaN or infinity; the model needs finite inputs")
        return x

    def _to_input_dtype(self, x):
        """``x`` as the file takes it: its dtype (quantized when int8), less a dropped last axis."""
        if self.dropped_channel:
            x = x[..., 0]
        scale, zero_point = self._input["quantization"]
        if self.input_dtype.type in QUANTIZED and scale > 0:  # x holds real values: quantize
            info = np.iinfo(self.input_dtype)
            x = np.clip(np.round(x.astype(np.float32) / scale) + zero_point, info.min, info.max)
        return x.astype(self.input_dtype)

    def _from_output(self, detail, y):
        scale, zero_point = detail["quantization"]
        if np.dtype(detail["dtype"]).type in QUANTIZED and scale > 0:
            return (y.astype(np.float32) - zero_point) * scale
        return y

    # ---- running ----------------------------------------------------------------------

    def _outputs_of(self, raw, length):
        """Dequantize the raw outputs; cut a padded time axis back to ``length`` steps."""
        outputs = [self._from_output(d, y) for d, y in zip(self._outputs, raw)]
        if self.max_length is not None and length < self.max_length:
            outputs = [y[:, :length] if y.ndim >= 3 and y.shape[1] == self.max_length else y for y in outputs]
        return outputs

    def _run_batch(self, x):
        """Run a checked batch, each run from zero state; returns a list of outputs."""
        length = x.shape[1] if x.ndim >= 2 else 0
        if self.max_length is not None:
            x = padded_to_length(x, self.max_length)
        fixed_batch = self.input_shape[0]
        step = fixed_batch if fixed_batch > 0 else limits.PROBE_BATCH  # never more than the probe ran
        real = len(x)
        if fixed_batch > 0 and real % fixed_batch:
            x = np.concatenate([x, np.zeros((fixed_batch - real % fixed_batch,) + x.shape[1:], x.dtype)])
        with runtime_errors(self._what):
            raw = self._runner.run_chunks(x, step, self._what)
        return [y[:real] for y in self._outputs_of(raw, length)]

    def predict(self, x):
        """Run the model; every sample starts from zero recurrent state.

        Args:
            x: a batch (N, ...) matching the input shape (dynamic sizes, such
                as the time axis, any length; up to ``max_length`` steps for a
                file exported with one), or a list of single samples without
                the batch axis, each with its own length (e.g. words).

        Returns:
            float outputs (dequantized when the model's are int8): an array
            (N, ...) for a batch, a list of arrays for a list; a list of those
            when the model has several outputs.

        Raises:
            ValueError: wrong rank, a fixed dimension that does not match, a
                sequence longer than ``max_length``, an empty, non-numeric or
                complex input, or NaN/infinity in it.
            RunLimitError: a run went past ``time_limit`` or ``memory_limit``
                (stopped; the next call starts afresh).
            ModelFileError: the runtime failed or crashed running it.

        Warns:
            OutputWarning: an output holds NaN or infinity, or a SOFTMAX
                output is not a distribution (:mod:`keras_seq.export.output_checks`).
        """
        with self._lock:
            if isinstance(x, (list, tuple)):
                if not x:
                    raise ValueError("x is an empty list; expected at least one sample")
                samples = [self._check_input(s, f"x[{i}]", batched=False) for i, s in enumerate(x)]
                for sample in samples:
                    self._input_range.check(sample)
                outs = [self._run_batch(self._to_input_dtype(s[None])) for s in samples]
                for out in outs:
                    output_checks.check(out, self._tolerances, self._what)
                per_output = [[o[k][0] for o in outs] for k in range(len(self._outputs))]
                return per_output[0] if len(per_output) == 1 else per_output
            x = self._check_input(x)
            self._input_range.check(x)
            x = self._to_input_dtype(x)
            outs = self._run_batch(x)
            output_checks.check(outs, self._tolerances, self._what)
            return outs[0] if len(outs) == 1 else outs

    # ---- streaming (used by EdgeStream) ------------------------------------------------

    def reset_state(self):
        """Zero the fused LSTMs' state (``h_0 = C_0 = 0``)."""
        with self._lock:
            self._runner.reset_state()

    def run_keeping_state(self, chunk):
        """Run ``chunk`` from the state the last run left (fused LSTMs only); float outputs."""
        with self._lock:
            chunk = self._check_input(chunk, "chunk")
            batch = self.input_shape[0]
            if batch > 0 and len(chunk) != batch:
                raise ValueError(f"chunk has batch size {len(chunk)}; the model's is {batch}")
            with runtime_errors(self._what):
                raw = self._runner.run(self._to_input_dtype(chunk), variables=self.file.variables)
            check_outputs(raw, len(chunk), self._what)
            outs = self._outputs_of(raw, chunk.shape[1])
            output_checks.check(outs, self._tolerances, self._what)
            return outs

    def stream(self):
        """Start a stateful stream: see :class:`EdgeStream`."""
        return EdgeStream(self)


class EdgeStream:
    """Feed one sequence in chunks; the fused LSTMs carry ``h_t, C_t`` from chunk to chunk.

    Feeding x_1..x_k then x_{k+1}..x_T gives the same outputs as one
    ``predict`` on x_1..x_T. Only for causal models exported with
    ``recurrent="fused-lstm"`` and run by the classic interpreter: a model
    that reads backwards (``Bidirectional``, ``go_backwards``) would need the
    future, and a model whose recurrence is a ``WHILE`` loop keeps no state,
    so both are refused.

    Example:
        >>> stream = EdgeModel(to_tflite(model, recurrent="fused-lstm")).stream()
        >>> first = stream.feed(rows[:, :14]); last = stream.feed(rows[:, 14:])
        >>> stream.reset()   # back to h_0 = C_0 = 0
    """

    def __init__(self, model):
        ops = [op for subgraph in model.file.subgraph_ops for op in subgraph]
        if model.stateful_ops == 0 or "WHILE" in ops:
            raise ValueError(
                "stream() needs recurrent state kept between calls (fused LSTM ops, "
                "to_tflite(recurrent='fused-lstm'), and no WHILE loops); this model restarts its "
                "recurrence at every call"
            )
        if "REVERSE_V2" in ops:
            raise ValueError(
                "stream() needs a causal model; this one reverses time (Bidirectional or "
                "go_backwards) and so needs the whole sequence: use predict()"
            )
        if model.input_shape[1] > 0:
            raise ValueError(
                f"stream() needs a dynamic time axis; the model input is {model.input_shape}"
            )
        self._model = model
        self.steps = 0
        self.reset()

    def reset(self):
        """Forget the state: the next chunk starts from h_0 = C_0 = 0."""
        self._model.reset_state()
        self.steps = 0

    def feed(self, chunk):
        """Run the next chunk (batch, t, ...) of the sequence; returns its outputs."""
        outs = self._model.run_keeping_state(chunk)
        self.steps += np.shape(chunk)[1]
        return outs[0] if len(outs) == 1 else outs
