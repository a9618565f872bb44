"""Safe loading of ``.tflite`` files: a bad file raises, never crashes or answers wrongly in silence.

Three guards, in order:

1. The digest (:mod:`keras_seq.export.integrity`): a file written by
   ``to_tflite`` whose bytes changed since is refused. A file without a
   digest (from another tool) loads, with an :class:`UnverifiedModelWarning`.
2. In-process structural checks that cannot crash (pure Python,
   :func:`keras_seq.export.tflite_file.read_tflite`): the flatbuffer
   identifier, every count, offset and index, constant buffers of the size
   their shapes need, no tensor the runtime writes aliasing a constant
   buffer, outputs with the batch axis first.
3. A probe in a child process (:mod:`keras_seq.export.sandbox`, the one
   that runs ``EdgeModel.predict`` too), which loads, allocates and runs the
   model the way the caller is about to, at batch 1 and at
   ``limits.PROBE_BATCH`` (other dynamic axes at 1 and
   ``limits.PROBE_LENGTH``), on zeros, ones, random values and the ends of
   the calibrated range (:func:`probe_inputs`: a loop or a TILE that only
   non-zero data sets off), under a time and memory limit. A native crash,
   hang or memory blow-up kills only the child and becomes a
   :class:`ModelFileError`. Files that passed are remembered by sha256 for
   the rest of the process.

``.keras`` files are checked by :mod:`keras_seq.saving` (re-exported here).
"""

import contextlib
import hashlib
import os
import warnings

from keras_seq.export import calibration, integrity, limits
from keras_seq.export.errors import ModelFileError, UnverifiedModelWarning
from keras_seq.export.sandbox import run_isolated
from keras_seq.export.tflite_file import read_tflite, read_tflite_file
from keras_seq.saving import check_keras_file, load_keras_model  # noqa: F401  one loader

_probed = set()


def probe_shapes(shape_signature):
    """The input shapes the probe runs: dynamic axes at 1, then the batch at
    ``PROBE_BATCH`` and other dynamic axes at ``PROBE_LENGTH``."""
    small = [d if d > 0 else 1 for d in shape_signature]
    large = [d if d > 0 else (limits.PROBE_BATCH if axis == 0 else limits.PROBE_LENGTH)
             for axis, d in enumerate(shape_signature)]
    return [small] if large == small else [small, large]


def check_outputs(outputs, batch, what="the model"):
    """Raise :class:`ModelFileError` unless every output has ``batch`` rows (what ``predict`` splits)."""
    for k, y in enumerate(outputs):
        if y.ndim < 1 or y.shape[0] != batch:
            raise ModelFileError(f"{what}: output {k} has shape {y.shape} for a batch of {batch}")


@contextlib.contextmanager
def runtime_errors(what, kinds=(RuntimeError, ValueError)):
    """Turn the runtime's errors (``RuntimeError`` from a kernel, e.g. a RESHAPE
    that does not fit) into :class:`ModelFileError`.

    ``kinds``: the exception types to turn (LiteRT raises ``ValueError`` too,
    e.g. for a resize its kernels refuse).
    """
    try:
        yield
    except ModelFileError:
        raise
    except kinds as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise ModelFileError(f"{what} failed to run: {lines[-1][:300] if lines else type(error).__name__}") from error


def probe_inputs(detail, shape, calibrated=None, seed=0):
    """The inputs the probe feeds at ``shape``: zeros first (the run that must succeed), then data
    that takes the paths zeros skip: ones, random values, and the ends of the range the file declares.

    A float input gets uniform random values in the calibrated range (``calibrated``: ``(low, high)``
    from the file's metadata) or in [-1, 1], and both ends of that range; a quantized input gets
    random integers over its whole type; an integer input (ids, counts) gets only zeros and ones,
    which any id table holds.
    """
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    yield np.zeros(shape, dtype)
    yield np.ones(shape, dtype)
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.floating):
        low, high = calibrated or (-1.0, 1.0)
        yield rng.uniform(low, high, shape).astype(dtype)
        yield np.full(shape, low, dtype)
        yield np.full(shape, high, dtype)
    elif dtype.type in (np.int8, np.uint8, np.int16) and detail["quantization"][0] > 0:
        info = np.iinfo(dtype)
        yield rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _tflite_probe(data, calibrated=None, what="TFLite model"):
    """Load, allocate and invoke ``data`` at :func:`probe_shapes` on :func:`probe_inputs`; runs in a child.

    Zeros must run and give one output row per sample; the other inputs
    must only end (a kernel may refuse them with an error, as it would in
    ``predict``): what they are for is a loop or an allocation that only
    non-zero data sets off, which the caller's time and memory limits stop.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    details = interpreter.get_input_details()
    plans = [probe_shapes(d["shape_signature"]) for d in details]
    for step in range(max(map(len, plans))):
        for detail, plan in zip(details, plans):
            interpreter.resize_tensor_input(detail["index"], plan[min(step, len(plan) - 1)])
        interpreter.allocate_tensors()
        resized = interpreter.get_input_details()
        variants = zip(*(probe_inputs(d, d["shape"], calibrated) for d in resized))
        if step:  # the larger shape: zeros and random data (the data paths were tried at the small one)
            variants = [v for k, v in enumerate(variants) if k in (0, 2)]
        for variant, inputs in enumerate(variants):
            interpreter.reset_all_variables()
            for detail, x in zip(resized, inputs):
                interpreter.set_tensor(detail["index"], x)
            if variant == 0:
                interpreter.invoke()
                batch = resized[0]["shape"][0] if len(details[0]["shape"]) else 1
                outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
                check_outputs(outputs, batch, what)
            else:
                try:
                    interpreter.invoke()
                except (RuntimeError, ValueError):
                    pass  # refused cleanly, as predict would refuse such data
    if all(int(d) > 0 for detail in details for d in detail["shape_signature"]):
        # EdgeModel may run a fixed-shape file in CompiledModel: load and run it there too.
        from keras_seq.export.runners import CompiledModelRunner

        try:
            CompiledModelRunner(data)
        except ValueError:
            pass  # refused cleanly: EdgeModel then uses the interpreter


def read_model_bytes(model, what="model"):
    """Return the bytes of ``model``: a path (str or PathLike) or bytes-like."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        return read_tflite_file(model, f"{what} file {str(model)!r}")  # a regular file, size-capped before it is read
    raise ValueError(f"{what} must be a file path or bytes, got {type(model).__name__}")


def describe(model):
    """How messages name ``model``: its path, or its size when it is bytes."""
    if isinstance(model, (str, os.PathLike)):
        return f"TFLite model {str(model)!r}"
    return f"TFLite model ({len(model)} bytes)" if isinstance(model, (bytes, bytearray, memoryview)) else "TFLite model"


def check_tflite(data, probe=True, time_limit=limits.RUN_TIME_LIMIT, what="TFLite model",
                 memory_limit=limits.RUN_MEMORY_LIMIT):
    """Check ``data`` (bytes of a ``.tflite`` file) before an interpreter sees it.

    Args:
        data: the file's bytes.
        probe: also load and run it in a child process (see the module docstring).
        time_limit: seconds the probe may take.
        what: how messages name the file.
        memory_limit: resident bytes the probe's process may use.

    Returns:
        The parsed :class:`keras_seq.export.tflite_file.TFLiteFile`.

    Raises:
        ModelFileError: the file does not match its digest, is corrupt,
            truncated or unsafe to run, or does not run
            (:class:`keras_seq.export.sandbox.RunLimitError`: the probe went
            past a limit).
    """
    data = bytes(data)
    try:
        verified = integrity.verify(data)
        info = read_tflite(data)
    except ModelFileError as error:
        raise ModelFileError(f"{what}: {error}") from None
    if not verified:
        warnings.warn(
            f"{what} carries no digest, so damage to it cannot be detected", UnverifiedModelWarning, stacklevel=2
        )
    digest = hashlib.sha256(data).hexdigest()
    if probe and digest not in _probed:
        calibrated = calibration.InputRangeGuard(info, what).range
        try:
            run_isolated(_tflite_probe, (data, calibrated, what), what, time_limit, memory_limit)
        except ModelFileError:
            raise  # the sandbox's own verdicts, and the probe's, name the file already
        except Exception as error:  # what loading or running it raised in the child
            lines = [line for line in str(error).splitlines() if line.strip()]
            raise ModelFileError(f"{what}: cannot be loaded: {type(error).__name__}: "
                                 f"{lines[-1][:300] if lines else ''}".rstrip(": ")) from None
        _probed.add(digest)
    return info


def open_tflite(model, probe=True, time_limit=limits.RUN_TIME_LIMIT, memory_limit=limits.RUN_MEMORY_LIMIT):
    """Read and check a ``.tflite`` model (a path or bytes): returns ``(bytes, TFLiteFile)``.

    See :func:`check_tflite`; errors name the file.
    """
    data = read_model_bytes(model, "TFLite model")
    return data, check_tflite(data, probe=probe, time_limit=time_limit, what=describe(model),
                              memory_limit=memory_limit)
