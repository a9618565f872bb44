"""A digest of a ``.tflite`` file's whole content, kept in the file's own metadata.

The digest is sha256 over every byte of the file with the 64 hexadecimal
characters of the digest itself replaced by ``"0" * 64``:

    digest = sha256(file[:s] + b"0" * 64 + file[s + 64:]),   s = where the digest is stored

so a changed byte anywhere (weights, structure, other metadata, bytes appended
or cut off) gives a different digest. :func:`stamp` adds it as the last step
of writing a file; :func:`verify` checks it. It detects damage (a flipped bit,
a truncated copy, an edit by a tool that does not know the digest), not
forgery: whoever can rewrite the file can recompute it.
"""

import hashlib
import re
import struct

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from keras_seq.export.errors import ModelFileError
from keras_seq.export.tflite_file import IDENTIFIER, with_metadata

DIGEST_METADATA = "keras_seq.sha256"
DIGEST_LENGTH = 64
PLACEHOLDER = b"0" * DIGEST_LENGTH
_HEX = re.compile(rb"[0-9a-f]{64}")
_STORED_DIGEST = re.compile(rb"\x40\x00\x00\x00[0-9a-f]{64}")  # a flatbuffer vector of 64 hex digits


def _digest_offset(data):
    """Where the stored digest's 64 bytes start in ``data``, or ``None`` without one.

    An entry counts as the digest if it has the digest's name, or if its
    value is 64 hexadecimal digits (a digest whose name was damaged: the file
    must not pass as one that never had a digest).

    Raises:
        ModelFileError: two digest entries, or one that is not 64 inline bytes.
    """
    if len(data) < 8 or data[4:8] != IDENTIFIER:
        raise ModelFileError(f"not a TFLite flatbuffer: identifier {bytes(data[4:8])!r}")
    model = schema.Model.GetRootAs(data, 0)
    n_buffers = model.BuffersLength()
    found = []
    for m in range(min(model.MetadataLength(), len(data) // 4)):
        entry = model.Metadata(m)
        named = entry.Name() == DIGEST_METADATA.encode()
        if not 0 <= entry.Buffer() < n_buffers:
            if named:
                raise ModelFileError("its digest entry points outside the buffer table")
            continue
        table = model.Buffers(entry.Buffer())._tab
        field = flatbuffers.number_types.UOffsetTFlags.py_type(table.Offset(4))
        length = table.VectorLen(field) if field else 0
        start = table.Vector(field) if field else 0
        if not named and not (length == DIGEST_LENGTH and _HEX.fullmatch(bytes(data[start:start + length]))):
            continue
        if length != DIGEST_LENGTH:
            raise ModelFileError(f"its digest entry does not hold {DIGEST_LENGTH} bytes")
        if not named:
            raise ModelFileError(f"its digest entry's name is damaged ({entry.Name()!r})")
        found.append(start)
    if len(found) > 1:
        raise ModelFileError(f"it holds {len(found)} digest entries; a file has at most one")
    return found[0] if found else None


def _compute(data, offset):
    hashed = bytearray(data)
    hashed[offset:offset + DIGEST_LENGTH] = PLACEHOLDER
    return hashlib.sha256(hashed).hexdigest().encode()


def stamp(data):
    """Return ``data`` with its digest stored in its metadata (replacing any earlier one).

    Call it last: any later change to the bytes (another metadata entry
    included) makes :func:`verify` refuse the file.
    """
    stamped = bytearray(with_metadata(bytes(data), DIGEST_METADATA, PLACEHOLDER))
    offset = _digest_offset(stamped)
    stamped[offset:offset + DIGEST_LENGTH] = _compute(stamped, offset)
    return bytes(stamped)


def verify(data):
    """Check the digest of ``data`` (bytes of a ``.tflite`` file).

    Returns:
        ``True`` when the stored digest matches the content, ``False`` when
        the file carries no digest (it cannot be verified).

    Raises:
        ModelFileError: the content does not match the digest (the file was
            damaged or edited after it was written), or the digest entry is
            malformed or cannot be located.
    """
    try:
        offset = _digest_offset(data)
    except ModelFileError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeError) as error:
        raise ModelFileError(f"its metadata cannot be read ({type(error).__name__}: {error})") from None
    if offset is None:
        if _STORED_DIGEST.search(bytes(data)):  # there is a digest, but the damage hides where it belongs
            raise ModelFileError("its digest can no longer be located: the file was damaged after it was written")
        return False
    stored = bytes(data[offset:offset + DIGEST_LENGTH])
    if not _HEX.fullmatch(stored) or stored != _compute(data, offset):
        raise ModelFileError(
            "its content does not match its sha256 digest: the file was damaged or changed after it was written"
        )
    return True
