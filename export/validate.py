"""Safe loading of model files: a bad ``.tflite`` or ``.keras`` file raises, never crashes.

Two guards, in order:

1. In-process structural checks that cannot crash (pure Python): for
   ``.tflite``, the flatbuffer identifier and every count, offset and index
   (:func:`keras_seq.export.tflite_file.read_tflite`); for ``.keras``, the zip
   directory, sizes (no zip bombs), CRCs and the JSON config.
2. A probe in a child process, which loads the model the way the caller is
   about to (LiteRT: load, allocate, invoke once on zeros, in a child forked
   from a clean fork server; Keras: ``load_model(safe_mode=True)`` in a new
   interpreter) under a time and memory limit. A native
   crash, hang or memory blow-up kills only the child and becomes a
   :class:`ModelFileError`. Files that passed are remembered by sha256 for
   the rest of the process.
"""

import hashlib
import json
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import types
import zipfile

from keras_seq.export.errors import ModelFileError
from keras_seq.export.tflite_file import read_tflite

PROBE_MEMORY_BYTES = 8 << 30
KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
MAX_UNZIPPED_BYTES = 4 << 30
MAX_COMPRESSION_RATIO = 200

_probed = set()

_forkserver = None


def _tflite_probe(data):
    """Load, allocate and invoke ``data`` once on zeros; runs in a forked child."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    for detail in interpreter.get_input_details():
        shape = [d if d > 0 else 1 for d in detail["shape_signature"]]
        interpreter.resize_tensor_input(detail["index"], shape)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
    for detail in interpreter.get_output_details():
        interpreter.get_tensor(detail["index"])


def _run_and_report(target, args, connection):
    """Child side of :func:`_probe_forked`: run, then send "" or the error."""
    _limit_memory()
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


_KERAS_PROBE = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import keras_seq.layers  # registers the package's own layers for deserialization
keras.saving.load_model(sys.argv[1], safe_mode=True, compile=False)
"""


def _limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (PROBE_MEMORY_BYTES, PROBE_MEMORY_BYTES))


def _probe(code, what, timeout, args=()):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            preexec_fn=_limit_memory if os.name == "posix" else None,
        )
    except subprocess.TimeoutExpired:
        raise ModelFileError(f"{what}: loading it did not finish within {timeout} s") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise ModelFileError(f"{what}: the runtime crashed loading it ({name})")
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise ModelFileError(f"{what}: cannot be loaded: {lines[-1] if lines else 'exit ' + str(done.returncode)}")


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


def check_tflite(data, probe=True, timeout=30):
    """Check ``data`` (bytes of a ``.tflite`` file) before an interpreter sees it.

    Args:
        data: the file's bytes.
        probe: also load and run it once in a child process.
        timeout: seconds the probe may take.

    Returns:
        The parsed :class:`keras_seq.export.tflite_file.TFLiteFile`.

    Raises:
        ModelFileError: the file is corrupt, truncated or does not run.
    """
    info = read_tflite(data)
    digest = hashlib.sha256(data).hexdigest()
    if probe and digest not in _probed:
        _probe_forked(_tflite_probe, (bytes(data),), "TFLite model", timeout)
        _probed.add(digest)
    return info


def check_keras_file(path, probe=True, timeout=180):
    """Check a ``.keras`` file (zip of config, metadata and HDF5 weights) before loading it.

    Raises:
        ModelFileError: not a readable ``.keras`` archive, a zip bomb, a bad
            CRC or JSON, missing members, or loading it crashes, hangs or fails
            in a child process.
    """
    path = pathlib.Path(path)
    what = f"Keras model file {str(path)!r}"
    if not path.is_file():
        raise ModelFileError(f"{what} does not exist")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{what} is not a .keras (zip) archive")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            missing = [m for m in KERAS_MEMBERS if m not in names]
            if missing:
                raise ModelFileError(f"{what} lacks {missing}")
            unzipped = sum(e.file_size for e in entries)
            packed = sum(e.compress_size for e in entries)
            if unzipped > MAX_UNZIPPED_BYTES or unzipped > MAX_COMPRESSION_RATIO * max(packed, 1) + (1 << 20):
                raise ModelFileError(f"{what} unpacks to {unzipped} bytes from {packed}: refused")
            bad = archive.testzip()
            if bad is not None:
                raise ModelFileError(f"{what}: member {bad!r} fails its CRC check")
            config = json.loads(archive.read("config.json"))
            if not isinstance(config, dict) or "class_name" not in config:
                raise ModelFileError(f"{what}: config.json is not a Keras model config")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as error:
        raise ModelFileError(f"{what} is corrupt: {type(error).__name__}: {error}") from error
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if probe and digest not in _probed:
        _probe(_KERAS_PROBE, what, timeout, args=(str(path),))
        _probed.add(digest)


def load_keras_model(path, probe=True):
    """Load a ``.keras`` file safely: :func:`check_keras_file`, then ``safe_mode=True``.

    Raises:
        ModelFileError: see :func:`check_keras_file`; also any error Keras
            raises while loading, with its message.
    """
    check_keras_file(path, probe=probe)
    import keras

    import keras_seq.layers  # noqa: F401  registers the package's own layers

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise ModelFileError(f"Keras model file {str(path)!r} cannot be loaded: {error}") from error
