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
3. A probe in a child process forked from a clean fork server, which loads,
   allocates and runs the model on zeros the way the caller is about to, at
   batch 1 and at ``limits.PROBE_BATCH`` (other dynamic axes at 1 and
   ``limits.PROBE_LENGTH``), under a time and memory limit. A native crash,
   hang or memory blow-up kills only the child and becomes a
   :class:`ModelFileError`. Files that passed are remembered by sha256 for
   the rest of the process.

``.keras`` files are checked by :mod:`keras_seq.saving` (re-exported here).
"""

import contextlib
import hashlib
import multiprocessing
import os
import pathlib
import signal
import sys
import types
import warnings

from keras_seq.export import integrity, limits
from keras_seq.export.errors import ModelFileError, UnverifiedModelWarning
from keras_seq.export.tflite_file import read_tflite
from keras_seq.saving import check_keras_file, limit_child_memory, load_keras_model  # noqa: F401  one loader

_probed = set()

_forkserver = None


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


def _tflite_probe(data):
    """Load, allocate and invoke ``data`` on zeros at :func:`probe_shapes`; runs in a forked child."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    details = interpreter.get_input_details()
    plans = [probe_shapes(d["shape_signature"]) for d in details]
    for step in range(max(map(len, plans))):
        for detail, plan in zip(details, plans):
            interpreter.resize_tensor_input(detail["index"], plan[min(step, len(plan) - 1)])
        interpreter.allocate_tensors()
        interpreter.reset_all_variables()
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        interpreter.invoke()
        batch = interpreter.get_input_details()[0]["shape"][0] if len(details[0]["shape"]) else 1
        outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        check_outputs(outputs, batch, "TFLite model")
    if all(int(d) > 0 for detail in details for d in detail["shape_signature"]):
        # EdgeModel may run a fixed-shape file in CompiledModel: load and run it there too.
        from keras_seq.export.runners import CompiledModelRunner

        try:
            CompiledModelRunner(data)
        except ValueError:
            pass  # refused cleanly: EdgeModel then uses the interpreter


def _run_and_report(target, args, connection):
    """Child side of :func:`_probe_forked`: run, then send "" or the error (the runtime's own log lines are dropped)."""
    limit_child_memory()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    try:
        target(*args)
        connection.send("")
    except BaseException as error:  # report any Python-level failure, then exit
        connection.send(f"{type(error).__name__}: {error}".strip().splitlines()[-1][:500] or "error")


def _probe_forked(target, args, what, timeout):
    """Run ``target(*args)`` (e.g. :func:`_tflite_probe`) in a child forked from a clean server.

    The server (multiprocessing's forkserver) has imported only numpy and
    LiteRT, and forks a fresh single-use child per probe: a few milliseconds
    instead of a new interpreter start-up.
    """
    global _forkserver
    if _forkserver is None:
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload(["numpy", "ai_edge_litert.interpreter", "keras_seq.export.validate"])
    receiver, sender = _forkserver.Pipe(duplex=False)
    child = _forkserver.Process(target=_run_and_report, args=(target, tuple(args), sender), daemon=True)
    # multiprocessing would re-import the caller's __main__ script in the child
    # (for a script importing Keras, seconds of TensorFlow start-up per probe):
    # hand it a blank main module while it records what the child needs.
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        child.start()
    finally:
        sys.modules["__main__"] = main
    sender.close()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        raise ModelFileError(f"{what}: loading it did not finish within {timeout} s")
    try:
        message = receiver.recv() if receiver.poll() else None
    except EOFError:
        message = None
    receiver.close()
    if child.exitcode is not None and child.exitcode < 0:
        name = signal.Signals(-child.exitcode).name
        raise ModelFileError(f"{what}: the runtime crashed loading it ({name})")
    if message is None or child.exitcode != 0:
        raise ModelFileError(f"{what}: the probe process failed (exit {child.exitcode})")
    if message:
        raise ModelFileError(f"{what}: cannot be loaded: {message}")


def read_model_bytes(model, what="model"):
    """Return the bytes of ``model``: a path (str or PathLike) or bytes-like."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        path = pathlib.Path(model)
        if not path.is_file():
            raise ModelFileError(f"{what} file {str(path)!r} does not exist")
        return path.read_bytes()
    raise ValueError(f"{what} must be a file path or bytes, got {type(model).__name__}")


def describe(model):
    """How messages name ``model``: its path, or its size when it is bytes."""
    if isinstance(model, (str, os.PathLike)):
        return f"TFLite model {str(model)!r}"
    return f"TFLite model ({len(model)} bytes)" if isinstance(model, (bytes, bytearray, memoryview)) else "TFLite model"


def check_tflite(data, probe=True, timeout=30, what="TFLite model"):
    """Check ``data`` (bytes of a ``.tflite`` file) before an interpreter sees it.

    Args:
        data: the file's bytes.
        probe: also load and run it in a child process (see the module docstring).
        timeout: seconds the probe may take.
        what: how messages name the file.

    Returns:
        The parsed :class:`keras_seq.export.tflite_file.TFLiteFile`.

    Raises:
        ModelFileError: the file does not match its digest, is corrupt,
            truncated or unsafe to run, or does not run.
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
        _probe_forked(_tflite_probe, (data,), what, timeout)
        _probed.add(digest)
    return info


def open_tflite(model, probe=True, timeout=30):
    """Read and check a ``.tflite`` model (a path or bytes): returns ``(bytes, TFLiteFile)``.

    See :func:`check_tflite`; errors name the file.
    """
    data = read_model_bytes(model, "TFLite model")
    return data, check_tflite(data, probe=probe, timeout=timeout, what=describe(model))
