"""The signing key's rules, and .keras files: with a key, save_model signs and a forged (config edited,
digest recomputed), unsigned or other key's file is refused; without one nothing changes."""

import hashlib
import warnings
import zipfile

import keras
import numpy as np
import pytest

from keras_seq import model_signature
from keras_seq.model_signature import ENVIRONMENT_VARIABLE, SIGNATURE_NAME, refusal, sign, signing_key
from keras_seq.saving import DIGEST_MEMBER, ModelFileError, load_keras_model, save_model

KEY = "a signing key for the tests, 32+ bytes"


def test_the_key_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert signing_key() is None
    assert signing_key(KEY) == KEY.encode() and signing_key(KEY.encode()) == KEY.encode()
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)
    assert signing_key() == KEY.encode()
    assert signing_key("x" * 16) == b"x" * 16  # the argument wins


@pytest.mark.parametrize("value, message", [("", "0 bytes"), ("é" * 7, "14 bytes; at least 16")])
def test_an_empty_or_short_key_in_the_environment_is_refused(monkeypatch, value, message):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, value)
    with pytest.raises(ValueError, match=f"{ENVIRONMENT_VARIABLE} holds a signing key of {message}"):
        signing_key()


@pytest.mark.parametrize("key", [b"short", 12345, ["k"] * 20])
def test_a_bad_key_argument_is_refused(key):
    with pytest.raises(ValueError, match="key"):
        signing_key(key)


def test_a_signature_is_the_rfc_2104_hmac_and_only_its_key_and_message_verify():
    import hmac

    key = signing_key(KEY)
    stored = sign(key, b"message")
    assert stored == b"hmac-sha256:" + hmac.new(key, b"message", hashlib.sha256).hexdigest().encode()
    assert len(stored) == model_signature.SIGNATURE_LENGTH
    assert refusal(key, stored, b"message") is None
    assert "does not verify" in refusal(key, stored, b"messagf")
    assert "does not verify" in refusal(signing_key("y" * 16), stored, b"message")
    assert "carries no signature" in refusal(key, None, b"message")


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh")])


@pytest.fixture
def files(model, tmp_path, monkeypatch):
    """``(unsigned, signed with KEY, signed with another key)`` .keras paths; no key configured after."""
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    unsigned = save_model(model, tmp_path / "unsigned.keras")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)
    signed = save_model(model, tmp_path / "signed.keras")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "another key, of at least 16 bytes")
    other = save_model(model, tmp_path / "other.keras")
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    return unsigned, signed, other


def forge(path, out, edit):
    """``path`` with its members edited by ``edit`` (a dict, in place) and the digest recomputed as saving's
    docstring defines it."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != DIGEST_MEMBER}
    edit(members)
    digest = hashlib.sha256()
    for name in sorted(members):
        digest.update(name.encode() + b"\0" + len(members[name]).to_bytes(8, "little") + members[name])
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in {**members, DIGEST_MEMBER: digest.hexdigest().encode()}.items():
            archive.writestr(name, data)
    return out


def tanh_to_sigmoid(members):
    assert b'"tanh"' in members["config.json"]
    members["config.json"] = members["config.json"].replace(b'"tanh"', b'"sigmoid"')


def test_save_model_signs_with_the_key_and_the_digest_covers_the_signature(files):
    unsigned, signed, _ = files
    with zipfile.ZipFile(signed) as archive:
        names = archive.namelist()
    assert SIGNATURE_NAME in names and names[-1] == DIGEST_MEMBER
    with zipfile.ZipFile(unsigned) as archive:
        assert SIGNATURE_NAME not in archive.namelist()


def test_a_forged_keras_file_loads_without_a_key_and_is_refused_with_one(files, model, monkeypatch, tmp_path):
    _, signed, _ = files
    forged = forge(signed, tmp_path / "forged.keras", tanh_to_sigmoid)
    x = np.ones((2, 4), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: the digest matches
        loaded = load_keras_model(forged, probe=False)
    assert not np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)
    with pytest.raises(ModelFileError, match=f"'{forged}': its signature does not verify"):
        load_keras_model(forged, probe=False)
    np.testing.assert_allclose(load_keras_model(signed).predict(x, verbose=0), model.predict(x, verbose=0))


def test_unsigned_other_keys_and_stripped_files_are_refused_with_a_key(files, monkeypatch, tmp_path):
    unsigned, signed, other = files
    stripped = tmp_path / "stripped.keras"
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(stripped, "w") as target:
        for name in source.namelist():
            if name not in (SIGNATURE_NAME, DIGEST_MEMBER):
                target.writestr(name, source.read(name))
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)
    for path in (unsigned, stripped):
        with pytest.raises(ModelFileError, match="carries no signature, and a signing key is configured"):
            load_keras_model(path, probe=False)
    with pytest.raises(ModelFileError, match="signature does not verify"):
        load_keras_model(other, probe=False)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "short")
    with pytest.raises(ValueError, match="holds a signing key of 5 bytes") as error:
        load_keras_model(signed, probe=False)
    assert not isinstance(error.value, ModelFileError)  # the key is wrong, not the file


def test_a_damaged_signature_member_is_refused_with_a_key_and_ignored_without(files, monkeypatch, tmp_path):
    _, signed, _ = files
    def pad(members):
        members[SIGNATURE_NAME] += b"0"

    def flip(members):
        members[SIGNATURE_NAME] = members[SIGNATURE_NAME][:-1] + bytes([members[SIGNATURE_NAME][-1] ^ 1])

    padded, flipped = forge(signed, tmp_path / "padded.keras", pad), forge(signed, tmp_path / "flipped.keras", flip)
    for path in (padded, flipped):
        assert load_keras_model(path, probe=False) is not None
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, KEY)
    with pytest.raises(ModelFileError, match="its signature member is not a signature"):
        load_keras_model(padded, probe=False)
    with pytest.raises(ModelFileError, match="its signature does not verify"):
        load_keras_model(flipped, probe=False)
