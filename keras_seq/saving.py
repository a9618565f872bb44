"""Save and load ``.keras`` files: one loader, bounded before anything is parsed, with a digest.

Loading (:func:`load_keras_model`, used by export, the demos and anything
else that reads a ``.keras`` file) goes through :func:`check_keras_file`
first:

1. In-process checks that parse nothing large: the zip directory, the
   members Keras needs, the total unpacked size and compression ratio (no zip
   bombs), ``config.json`` and ``metadata.json`` at most ``MAX_JSON_BYTES``
   each (sized from the directory, then read with a bounded read), CRCs.
2. The digest, when the file has one: sha256 over every member but the
   digest itself, in name order,

       digest = sha256(concat over members m: name_m || 0x00 || len_m (8 bytes) || bytes_m),

   stored in the member ``keras_seq.sha256``. A mismatch (weights changed,
   even with the zip CRC recomputed) is refused; a file without one loads
   with an :class:`UnverifiedModelWarning`. With a signing key configured
   (:mod:`keras_seq.model_signature`), the member ``keras_seq.hmac-sha256``
   must hold HMAC-SHA256(key, the digest's hex over every member but the
   digest and the signature), or the file is refused.
3. A probe: ``load_model(safe_mode=True)`` in a new interpreter under a time
   and memory limit, so a native crash, hang or memory blow-up kills only the
   child. Files that passed are remembered by sha256 for the process.

:func:`save_model` writes a file atomically with its digest;
:func:`stamp_keras_file` adds one to an existing file.
"""

import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import warnings
import zipfile

from keras_seq import atomic_files, file_reading, model_signature
from keras_seq.file_digest import sha256_of

KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
DIGEST_MEMBER = "keras_seq.sha256"
SIGNATURE_MEMBER = model_signature.SIGNATURE_NAME
MAX_JSON_BYTES = 8 << 20  # config.json and metadata.json; a large model's config is well under 1 MiB
MAX_UNZIPPED_BYTES = 4 << 30
MAX_COMPRESSION_RATIO = 200
PROBE_MEMORY_BYTES = 8 << 30

_probed = set()


class ModelFileError(ValueError):
    """A ``.tflite`` or ``.keras`` file is corrupt, truncated, hostile or not a model."""


class UnverifiedModelWarning(UserWarning):
    """A model file carries no digest, so damage to it cannot be detected."""


def limit_child_memory(limit=PROBE_MEMORY_BYTES):
    """Cap the calling (child) process's address space at ``limit`` bytes, or at its own lower limit.

    Only ever lowers (``ulimit -v`` below ``limit`` is kept, never raised above, which would fail);
    returns the cap now in force.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = min(v for v in (limit, soft, hard) if v != resource.RLIM_INFINITY)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))  # cap <= soft <= hard: lowering never fails
    return cap


_KERAS_PROBE = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import keras_seq.layers, keras_seq.models  # register the package's own layers for deserialization
keras.saving.load_model(sys.argv[1], safe_mode=True, compile=False)
"""


def _probe(code, what, timeout, args=()):
    """Run ``python -c code *args`` under the memory limit; a crash, hang or error raises."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            preexec_fn=limit_child_memory if os.name == "posix" else None,
        )
    except subprocess.TimeoutExpired:
        raise ModelFileError(f"{what}: loading it did not finish within {timeout} s") from None
    except (OSError, subprocess.SubprocessError) as error:  # e.g. the memory limit could not be set
        raise ModelFileError(f"{what}: could not start the probe process: {error}") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise ModelFileError(f"{what}: the runtime crashed loading it ({name})")
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise ModelFileError(f"{what}: cannot be loaded: {lines[-1] if lines else 'exit ' + str(done.returncode)}")


def _bounded_json(archive, entry, what):
    if entry.file_size > MAX_JSON_BYTES:
        raise ModelFileError(
            f"{what}: {entry.filename} is {entry.file_size} bytes; at most {MAX_JSON_BYTES} are read"
        )
    with archive.open(entry) as stream:
        text = stream.read(MAX_JSON_BYTES + 1)
    if len(text) > MAX_JSON_BYTES:
        raise ModelFileError(f"{what}: {entry.filename} unpacks beyond {MAX_JSON_BYTES} bytes")
    return json.loads(text)


def _digest(archive, entries):
    """See the module docstring: sha256 over the members other than the digest, in name order."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.filename):
        if entry.filename == DIGEST_MEMBER:
            continue
        digest.update(entry.filename.encode() + b"\0" + entry.file_size.to_bytes(8, "little"))
        with archive.open(entry) as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _signed_content(archive, entries):
    """What a signature signs: the digest's hex over every member but the digest and the signature."""
    return _digest(archive, [e for e in entries if e.filename != SIGNATURE_MEMBER]).encode()


def _check_signature(archive, by_name, what):
    """With a signing key configured, refuse a file that is unsigned or whose signature does not verify."""
    key = model_signature.signing_key()
    if key is None:
        return
    entry = by_name.get(SIGNATURE_MEMBER)
    if entry is not None and entry.file_size != model_signature.SIGNATURE_LENGTH:
        raise ModelFileError(f"{what}: its signature member is not a signature")
    stored = None if entry is None else archive.read(entry)
    reason = model_signature.refusal(key, stored, _signed_content(archive, by_name.values()))
    if reason is not None:
        raise ModelFileError(f"{what}: {reason}")


def _check_archive(archive, what):
    """The in-process checks; returns the stored digest's verdict (True, or False without one)."""
    entries = archive.infolist()
    names = [e.filename for e in entries]
    if len(set(names)) != len(names):
        raise ModelFileError(f"{what} holds a member name twice")
    missing = [m for m in KERAS_MEMBERS if m not in names]
    if missing:
        raise ModelFileError(f"{what} lacks {missing}")
    by_name = {e.filename: e for e in entries}
    for name in ("config.json", "metadata.json"):
        if by_name[name].file_size > MAX_JSON_BYTES:
            raise ModelFileError(
                f"{what}: {name} is {by_name[name].file_size} bytes; at most {MAX_JSON_BYTES} are read"
            )
    unzipped = sum(e.file_size for e in entries)
    packed = sum(e.compress_size for e in entries)
    if unzipped > MAX_UNZIPPED_BYTES or unzipped > MAX_COMPRESSION_RATIO * max(packed, 1) + (1 << 20):
        raise ModelFileError(f"{what} unpacks to {unzipped} bytes from {packed}: refused")
    config = _bounded_json(archive, by_name["config.json"], what)
    _bounded_json(archive, by_name["metadata.json"], what)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelFileError(f"{what}: config.json is not a Keras model config")
    bad = archive.testzip()
    if bad is not None:
        raise ModelFileError(f"{what}: member {bad!r} fails its CRC check")
    if DIGEST_MEMBER not in by_name:
        _check_signature(archive, by_name, what)
        return False
    if by_name[DIGEST_MEMBER].file_size != 64:
        raise ModelFileError(f"{what}: its digest member is not a sha256 digest")
    stored = archive.read(DIGEST_MEMBER).decode("ascii", "replace")
    if stored != _digest(archive, entries):
        raise ModelFileError(
            f"{what}: its content does not match its sha256 digest: the file was damaged or changed "
            "after it was written"
        )
    _check_signature(archive, by_name, what)
    return True


def check_keras_file(path, probe=True, timeout=180, what=None):
    """Check a ``.keras`` file before loading it (see the module docstring).

    Args:
        path: the file.
        probe: also load it in a child process.
        timeout: seconds the probe may take.
        what: how messages name the file (default ``"Keras model file 'PATH'"``).

    Returns:
        ``True`` when its digest was verified, ``False`` when it has none
        (an :class:`UnverifiedModelWarning` is issued).

    Raises:
        ModelFileError: not a readable ``.keras`` archive, a zip bomb, an
            oversized JSON member, a bad CRC, JSON or digest, missing
            members, or loading it crashes, hangs or fails in a child process.
    """
    path = pathlib.Path(path)
    what = what or f"Keras model file {str(path)!r}"
    file_reading.regular_file_size(path, what, error=ModelFileError)  # missing, a directory, a FIFO...
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{what} cannot be loaded as a Keras model: it is not a .keras (zip) archive")
    model_signature.signing_key()  # a bad key is the caller's error, not the file's: raised here, as it is
    try:
        with zipfile.ZipFile(path) as archive:
            verified = _check_archive(archive, what)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as error:
        raise ModelFileError(f"{what} is corrupt: {type(error).__name__}: {error}") from error
    if not verified:
        warnings.warn(
            f"{what} carries no digest, so damage to it cannot be detected", UnverifiedModelWarning, stacklevel=2
        )
    digest = sha256_of(path)
    if probe and digest not in _probed:
        _probe(_KERAS_PROBE, what, timeout, args=(str(path),))
        _probed.add(digest)
    return verified


def load_keras_model(path, probe=True, what=None):
    """Load a ``.keras`` file safely: :func:`check_keras_file`, then ``safe_mode=True``.

    The package's own layers are registered first, so no ``custom_objects``
    are needed (and none can be smuggled in).

    Raises:
        ModelFileError: see :func:`check_keras_file`; also any error Keras
            raises while loading, with its message.
    """
    what = what or f"Keras model file {str(path)!r}"
    check_keras_file(path, probe=probe, what=what)
    import keras

    import keras_seq.layers  # noqa: F401  registers the package's own layers
    import keras_seq.models  # noqa: F401  (and the models' own, e.g. LettersToBatch)

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise ModelFileError(f"{what} cannot be loaded: {error}") from error


def _append_digest(path):
    key = model_signature.signing_key()  # with a key, the signature first, so the digest covers it
    if key is not None:
        with zipfile.ZipFile(path) as archive:
            signature = model_signature.sign(key, _signed_content(archive, archive.infolist()))
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(SIGNATURE_MEMBER, signature)
    with zipfile.ZipFile(path) as archive:
        digest = _digest(archive, archive.infolist())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(DIGEST_MEMBER, digest)


def stamp_keras_file(path):
    """Add the digest to the ``.keras`` file at ``path`` (atomically); a file that has one is left alone."""
    with zipfile.ZipFile(path) as archive:
        if DIGEST_MEMBER in archive.namelist():
            return pathlib.Path(path)
    with atomic_files.replacing(path) as temporary:
        shutil.copyfile(path, temporary)
        _append_digest(temporary)
    return pathlib.Path(path)


def save_model(model, path):
    """``model.save`` to ``path`` (a ``.keras`` file) atomically, with its digest; returns the path."""
    with atomic_files.replacing(path) as temporary:
        model.save(temporary)
        _append_digest(temporary)
    return pathlib.Path(path)
