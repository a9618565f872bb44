"""An optional signature on model files, with a key the user keeps: a forged file is refused.

A file's digest (``.keras``: :mod:`keras_seq.saving`; ``.tflite``:
:mod:`keras_seq.export.integrity`) detects damage, not forgery: whoever
rewrites a file (an op code swapped, tanh made logistic) can recompute it. A
signature is an HMAC-SHA256 (RFC 2104) with a secret key,

    signature = "hmac-sha256:" || hex(HMAC-SHA256(key, message)),

stored beside the digest (the ``.tflite`` metadata entry or the ``.keras``
zip member :data:`SIGNATURE_NAME`). Each format defines ``message``: its
content with the signature (and the digest) left out, so that no other byte
of the file can change without the signature failing.

The key comes from the environment variable :data:`ENVIRONMENT_VARIABLE`
(``KERAS_SEQ_SIGNING_KEY``), or from the ``key`` argument of the functions
that take one; it is used as its UTF-8 bytes, at least
:data:`MIN_KEY_BYTES` of them (``python -c "import secrets;
print(secrets.token_hex(32))"`` makes one). With a key configured:

- every model file the package writes (``save_model``, ``to_tflite``,
  ``keras-seq export``, training checkpoints) is signed with it;
- every model file it loads must carry a signature that verifies with it:
  an unsigned file, or one whose signature does not verify (forged, changed
  after it was signed, or signed with another key), is refused with
  :class:`keras_seq.saving.ModelFileError`.

Without a key, files are written unsigned and a signature in a file is not
checked: everything behaves as it does without this module. The key is never
written into a file; only whoever holds it can sign.

Example:
    >>> key = signing_key("a key of at least 16 bytes")
    >>> stored = sign(key, b"content")
    >>> refusal(key, stored, b"content") is None
    True
"""

import hashlib
import hmac
import os

ENVIRONMENT_VARIABLE = "KERAS_SEQ_SIGNING_KEY"
SIGNATURE_NAME = "keras_seq.hmac-sha256"
MIN_KEY_BYTES = 16
PREFIX = b"hmac-sha256:"
SIGNATURE_LENGTH = len(PREFIX) + 2 * hashlib.sha256().digest_size
PLACEHOLDER = b"0" * SIGNATURE_LENGTH


def signing_key(key=None):
    """The signing key as bytes: ``key`` when given, else :data:`ENVIRONMENT_VARIABLE`'s value, else ``None``.

    Args:
        key: ``None``, or a ``str`` (used as UTF-8) or ``bytes`` key of at least
            :data:`MIN_KEY_BYTES` bytes.

    Raises:
        ValueError: the key (or the environment variable, set but empty or
            short) is not a usable key.
    """
    name = "key"
    if key is None:
        key, name = os.environ.get(ENVIRONMENT_VARIABLE), ENVIRONMENT_VARIABLE
        if key is None:
            return None
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogateescape")  # an environment variable's bytes, undecodable ones too
    if not isinstance(key, (bytes, bytearray)):
        raise ValueError(f"key of type {type(key).__name__} is not allowed; expected a str or bytes signing key")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"{name} holds a signing key of {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
            "(make one with: python -c \"import secrets; print(secrets.token_hex(32))\")"
        )
    return bytes(key)


def sign(key, message):
    """The signature of ``message`` (bytes) under ``key`` (bytes): :data:`SIGNATURE_LENGTH` ASCII bytes."""
    return PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest().encode()


def refusal(key, stored, message):
    """Why a file is refused under ``key``, or ``None`` when its signature verifies.

    Args:
        key: the signing key (bytes).
        stored: the signature the file holds (bytes), ``None`` when it holds none.
        message: the bytes the signature covers (see each format).

    Returns:
        ``None``, or a one-line reason (no file name: the caller adds it).
    """
    if stored is None:
        return (f"it carries no signature, and a signing key is configured ({ENVIRONMENT_VARIABLE}): "
                "only files signed with that key are loaded")
    if not hmac.compare_digest(bytes(stored), sign(key, message)):
        return ("its signature does not verify with the configured signing key: the file was forged or "
                "changed after it was signed, or signed with another key")
    return None
