"""With a signing key configured, a forged .tflite (an op code swapped, the digest recomputed) is refused;
the genuine signed file loads; a file signed with another key, or unsigned, is refused; without a key
everything is as it was (the forgery then passes: the digest detects damage, not forgery)."""

import hashlib

import keras
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from keras_seq import cli
from keras_seq.export import EdgeModel, ModelFileError, integrity, to_tflite
from keras_seq.model_signature import ENVIRONMENT_VARIABLE

KEY = "a signing key for the tests, 32+ bytes"
OTHER_KEY = "another key, of at least 16 bytes"
OPS = schema.BuiltinOperator


@pytest.fixture(scope="module")
def files():
    """``(unsigned, signed with KEY, signed with OTHER_KEY, x)``: one tiny tanh/softmax model."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(ENVIRONMENT_VARIABLE, raising=False)
        unsigned = to_tflite(model)
        patch.setenv(ENVIRONMENT_VARIABLE, KEY)
        signed = to_tflite(model)  # to_tflite signs with the key from the environment
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32) * 3
    return unsigned, signed, integrity.stamp(unsigned, key=OTHER_KEY), x


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)


def swap_op(data, old, new):
    """``data`` with op code ``old`` made ``new``; every other entry (digest, signature) kept as it was."""
    import flatbuffers

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    codes = [code for code in model.operatorCodes if code.builtinCode == old]
    assert codes, f"no op {old} to swap"
    for code in codes:
        code.builtinCode = code.deprecatedBuiltinCode = new
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def redigest(data, old_digest):
    """The forger's step: the digest recomputed as integrity's docstring defines it, in place."""
    at = data.index(old_digest)
    blanked = data[:at] + b"0" * 64 + data[at + 64:]
    return data[:at] + hashlib.sha256(blanked).hexdigest().encode() + data[at + 64:]


def stored_digest(data):
    """The digest's 64 hex digits, as a forger reads them from the metadata."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    entry = next(m for m in model.metadata if m.name == integrity.DIGEST_METADATA.encode())
    return bytes(model.buffers[entry.buffer].data)


FORGERIES = [(OPS.TANH, OPS.LOGISTIC), (OPS.SOFTMAX, OPS.RELU)]


@pytest.mark.parametrize("old, new", FORGERIES)
def test_a_forged_file_runs_without_a_key_and_is_refused_with_one(files, monkeypatch, old, new):
    _, signed, _, x = files
    forged = redigest(swap_op(signed, old, new), stored_digest(signed))
    restamped = integrity.stamp(swap_op(signed, old, new), key=None)  # or restamped by our own tool
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    genuine = EdgeModel(signed, verify=False).predict(x)
    for file in (forged, restamped):
        assert integrity.verify(file) is True  # the digest alone: a forgery passes ...
        assert not np.allclose(EdgeModel(file, verify=False).predict(x), genuine, atol=1e-3)  # ... and lies
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)
    with pytest.raises(ModelFileError, match="signature does not verify with the configured signing key"):
        EdgeModel(forged, verify=False)
    with pytest.raises(ModelFileError, match="carries no signature, and a signing key is configured"):
        EdgeModel(restamped, verify=False)


def test_the_genuine_signed_file_loads_and_answers_as_the_unsigned_one(files, key):
    unsigned, signed, _, x = files
    assert integrity.verify(signed) is True
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(ENVIRONMENT_VARIABLE)
        expected = EdgeModel(unsigned, verify=False).predict(x)
        assert integrity.verify(signed) is True  # a signed file loads where no key is configured too
    np.testing.assert_array_equal(EdgeModel(signed).predict(x), expected)


def test_unsigned_files_and_files_signed_with_another_key_are_refused(files, key, tmp_path):
    unsigned, _, other, _ = files
    path = tmp_path / "other.tflite"
    path.write_bytes(other)
    with pytest.raises(ModelFileError, match=f"'{path}'.*signature does not verify"):
        EdgeModel(path, verify=False)
    with pytest.raises(ModelFileError, match="carries no signature"):
        EdgeModel(unsigned, verify=False)
    assert integrity.verify(other, key=OTHER_KEY) is True  # the key argument, instead of the environment
    with pytest.raises(ModelFileError, match="signature does not verify"):
        integrity.verify(other, key=KEY)


def test_every_byte_is_covered_and_restamping_replaces_the_signature(files):
    _, signed, _, _ = files
    at = signed.index(b"hmac-sha256:")
    for position in (at + 20, 40, len(signed) // 2):
        damaged = bytearray(signed)
        damaged[position] ^= 1
        with pytest.raises(ModelFileError):  # the digest, or the structure, catches it first
            integrity.verify(bytes(damaged), key=KEY)
    resigned = integrity.stamp(signed, key=OTHER_KEY)
    assert resigned.count(b"hmac-sha256:") == 1 and resigned.count(integrity.DIGEST_METADATA.encode()) == 1
    assert integrity.verify(resigned, key=OTHER_KEY) is True
    unsigned_again = integrity.stamp(signed, key=None)
    assert b"hmac-sha256:" not in unsigned_again and integrity.verify(unsigned_again, key=None) is True


def test_two_signature_entries_are_refused(files):
    import flatbuffers

    _, signed, _, _ = files
    model = schema.ModelT.InitFromPackedBuf(bytearray(signed), 0)
    entry = next(m for m in model.metadata if m.name == integrity.SIGNATURE_METADATA.encode())
    copy = schema.MetadataT()
    copy.name, copy.buffer = entry.name, entry.buffer
    model.metadata.append(copy)
    builder = flatbuffers.Builder(len(signed) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(ModelFileError, match="2 signature entries"):
        integrity.verify(bytes(builder.Output()), key=KEY)


def test_keras_seq_verify_refuses_a_forgery_and_says_the_signature_verifies(files, key, tmp_path, capsys):
    _, signed, _, _ = files
    good, forged = tmp_path / "good.tflite", tmp_path / "forged.tflite"
    good.write_bytes(signed)
    forged.write_bytes(redigest(swap_op(signed, OPS.TANH, OPS.LOGISTIC), stored_digest(signed)))
    assert cli.main(["verify", "--no-probe", str(good)]) == 0
    assert "signature verifies" in capsys.readouterr().out
    assert cli.main(["verify", "--no-probe", str(forged)]) == 2
    assert "signature does not verify" in capsys.readouterr().err


def test_a_short_key_is_refused_before_anything_is_read(files, monkeypatch):
    unsigned, _, _, _ = files
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "short")
    with pytest.raises(ValueError, match=f"{ENVIRONMENT_VARIABLE} holds a signing key of 5 bytes; at least 16"):
        integrity.verify(unsigned)
    with pytest.raises(ValueError, match="at least 16"):
        integrity.stamp(unsigned)
