"""A digest of a ``.tflite`` file's whole content, kept in the file's own metadata, and an optional signature.

The digest is sha256 over every byte of the file with the 64 hexadecimal
characters of the digest itself replaced by ``"0" * 64``:

    digest = sha256(file[:s] + b"0" * 64 + file[s + 64:]),   s = where the digest is stored

so a changed byte anywhere (weights, structure, other metadata, bytes appended
or cut off) gives a different digest. :func:`stamp` adds it as the last step
of writing a file; :func:`verify` checks it. It detects damage (a flipped bit,
a truncated copy, an edit by a tool that does not know the digest), not
forgery: whoever can rewrite the file can recompute it.

Forgery is what the signature is for (:mod:`keras_seq.model_signature`).
When a signing key is configured (``KERAS_SEQ_SIGNING_KEY``, or ``key=``),
:func:`stamp` also stores, in the metadata entry ``keras_seq.hmac-sha256``,

    signature = "hmac-sha256:" || hex(HMAC-SHA256(key, file with the signature's 76 bytes
                                                        and the digest's 64 bytes replaced by "0"s)),

before the digest, so the digest covers the signature too; :func:`verify`
then refuses a file without a signature, or with one that does not verify.
Without a key nothing is signed and a stored signature is not checked (a
file restamped without a key loses any signature it had: it would no
longer verify).
"""

import hashlib
import re
import struct

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from keras_seq import model_signature
from keras_seq.export.errors import ModelFileError
from keras_seq.export.tflite_file import IDENTIFIER, with_metadata

DIGEST_METADATA = "keras_seq.sha256"
DIGEST_LENGTH = 64
PLACEHOLDER = b"0" * DIGEST_LENGTH
SIGNATURE_METADATA = model_signature.SIGNATURE_NAME
_HEX = re.compile(rb"[0-9a-f]{64}")
_STORED_DIGEST = re.compile(rb"\x40\x00\x00\x00[0-9a-f]{64}")  # a flatbuffer vector of 64 hex digits


def _metadata(data):
    """``(name, start, length)`` of each metadata entry's value in ``data``; ``start`` is ``None`` for an
    entry that points outside the buffer table."""
    if len(data) < 8 or data[4:8] != IDENTIFIER:
        raise ModelFileError(f"not a TFLite flatbuffer: identifier {bytes(data[4:8])!r}")
    model = schema.Model.GetRootAs(data, 0)
    n_buffers = model.BuffersLength()
    entries = []
    for m in range(min(model.MetadataLength(), len(data) // 4)):
        entry = model.Metadata(m)
        if not 0 <= entry.Buffer() < n_buffers:
            entries.append((entry.Name(), None, 0))
            continue
        table = model.Buffers(entry.Buffer())._tab
        field = flatbuffers.number_types.UOffsetTFlags.py_type(table.Offset(4))
        entries.append((entry.Name(), table.Vector(field) if field else 0, table.VectorLen(field) if field else 0))
    return entries


def _digest_offset(data):
    """Where the stored digest's 64 bytes start in ``data``, or ``None`` without one.

    An entry counts as the digest if it has the digest's name, or if its
    value is 64 hexadecimal digits (a digest whose name was damaged: the file
    must not pass as one that never had a digest).

    Raises:
        ModelFileError: two digest entries, or one that is not 64 inline bytes.
    """
    found = []
    for name, start, length in _metadata(data):
        named = name == DIGEST_METADATA.encode()
        if start is None:
            if named:
                raise ModelFileError("its digest entry points outside the buffer table")
            continue
        if not named and not (length == DIGEST_LENGTH and _HEX.fullmatch(bytes(data[start:start + length]))):
            continue
        if length != DIGEST_LENGTH:
            raise ModelFileError(f"its digest entry does not hold {DIGEST_LENGTH} bytes")
        if not named:
            raise ModelFileError(f"its digest entry's name is damaged ({name!r})")
        found.append(start)
    if len(found) > 1:
        raise ModelFileError(f"it holds {len(found)} digest entries; a file has at most one")
    return found[0] if found else None


def _signature_offset(data):
    """Where the stored signature's bytes start in ``data``, or ``None`` without one.

    Raises:
        ModelFileError: two signature entries, or one that is not a signature's size.
    """
    found = [(start, length) for name, start, length in _metadata(data) if name == SIGNATURE_METADATA.encode()]
    if len(found) > 1:
        raise ModelFileError(f"it holds {len(found)} signature entries; a file has at most one")
    if not found:
        return None
    start, length = found[0]
    if start is None or length != model_signature.SIGNATURE_LENGTH:
        raise ModelFileError(f"its signature entry does not hold {model_signature.SIGNATURE_LENGTH} inline bytes")
    return start


def _blanked(data, *slots):
    """``data`` with each ``(start, length)`` slot (``start`` not ``None``) replaced by ``"0"`` bytes."""
    blanked = bytearray(data)
    for start, length in slots:
        if start is not None:
            blanked[start:start + length] = b"0" * length
    return bytes(blanked)


def _compute(data, offset):
    return hashlib.sha256(_blanked(data, (offset, DIGEST_LENGTH))).hexdigest().encode()


def _without_signature(data):
    """``data`` re-packed without its signature entry (its buffer emptied), or as it is without one."""
    name = SIGNATURE_METADATA.encode()
    if not any(entry_name == name for entry_name, _, _ in _metadata(data)):
        return bytes(data)
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for entry in model.metadata:
        if entry.name == name and 0 <= entry.buffer < len(model.buffers):
            model.buffers[entry.buffer].data = None
    model.metadata = [entry for entry in model.metadata if entry.name != name]
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=IDENTIFIER)
    return bytes(builder.Output())


def stamp(data, key=None):
    """Return ``data`` with its digest, and its signature when a key is configured, in its metadata.

    Any earlier digest or signature is replaced. Call it last: any later
    change to the bytes (another metadata entry included) makes
    :func:`verify` refuse the file.

    Args:
        data: the bytes of a ``.tflite`` file.
        key: the signing key (see :func:`keras_seq.model_signature.signing_key`);
            ``None``: ``KERAS_SEQ_SIGNING_KEY`` when it is set, else no signature.

    Raises:
        ValueError: the key is not a usable key.
    """
    key = model_signature.signing_key(key)
    data = _without_signature(data)
    if key is not None:
        data = with_metadata(data, SIGNATURE_METADATA, model_signature.PLACEHOLDER)
    stamped = bytearray(with_metadata(data, DIGEST_METADATA, PLACEHOLDER))
    offset = _digest_offset(stamped)
    if key is not None:
        at = _signature_offset(stamped)
        message = _blanked(stamped, (offset, DIGEST_LENGTH), (at, model_signature.SIGNATURE_LENGTH))
        stamped[at:at + model_signature.SIGNATURE_LENGTH] = model_signature.sign(key, message)
    stamped[offset:offset + DIGEST_LENGTH] = _compute(stamped, offset)
    return bytes(stamped)


def verify(data, key=None):
    """Check the digest of ``data`` (bytes of a ``.tflite`` file), and its signature when a key is configured.

    Args:
        data: the bytes of a ``.tflite`` file.
        key: the signing key; ``None``: ``KERAS_SEQ_SIGNING_KEY`` when it is
            set, else the signature is not checked.

    Returns:
        ``True`` when the stored digest matches the content (and, with a key,
        the signature verifies), ``False`` when the file carries no digest
        and no key is configured (it cannot be verified).

    Raises:
        ModelFileError: the content does not match the digest (the file was
            damaged or edited after it was written), the digest or signature
            entry is malformed or cannot be located, or, with a key, the
            file is unsigned or its signature does not verify.
        ValueError: the key is not a usable key.
    """
    key = model_signature.signing_key(key)
    try:
        offset = _digest_offset(data)
        signature_at = _signature_offset(data) if key is not None else None
    except ModelFileError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeError) as error:
        raise ModelFileError(f"its metadata cannot be read ({type(error).__name__}: {error})") from None
    if offset is None:
        if _STORED_DIGEST.search(bytes(data)):  # there is a digest, but the damage hides where it belongs
            raise ModelFileError("its digest can no longer be located: the file was damaged after it was written")
    else:
        stored = bytes(data[offset:offset + DIGEST_LENGTH])
        if not _HEX.fullmatch(stored) or stored != _compute(data, offset):
            raise ModelFileError(
                "its content does not match its sha256 digest: the file was damaged or changed after it was written"
            )
    if key is not None:
        length = model_signature.SIGNATURE_LENGTH
        signature = None if signature_at is None else bytes(data[signature_at:signature_at + length])
        message = _blanked(data, (offset, DIGEST_LENGTH), (signature_at, length))
        reason = model_signature.refusal(key, signature, message)
        if reason is not None:
            raise ModelFileError(reason)
    return offset is not None
