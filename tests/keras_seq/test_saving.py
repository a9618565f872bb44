""".keras files: one checked loader for every caller, JSON sized before parsing, a digest that catches
changed weights even with the zip CRCs recomputed."""

import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest

from keras_seq import saving


@pytest.fixture
def model():
    x = keras.Input((3,))
    return keras.Model(x, keras.layers.Dense(2)(x))


def _rezip(source, target, replace):
    """Copy a zip with some members replaced; zipfile writes fresh CRCs, so only a digest can tell."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            dst.writestr(entry.filename, replace.get(entry.filename, src.read(entry.filename)))
    return target


def test_save_model_stamps_a_digest_that_load_verifies(model, tmp_path):
    path = saving.save_model(model, tmp_path / "m.keras")
    assert saving.DIGEST_MEMBER in zipfile.ZipFile(path).namelist()
    assert saving.check_keras_file(path, probe=False) is True
    loaded = saving.load_keras_model(path, probe=False)
    np.testing.assert_allclose(loaded.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0))


def test_changed_weights_with_recomputed_crcs_are_refused(model, tmp_path):
    path = saving.save_model(model, tmp_path / "m.keras")
    weights = bytearray(zipfile.ZipFile(path).read("model.weights.h5"))
    weights[-100] ^= 0x40
    damaged = _rezip(path, tmp_path / "damaged.keras", {"model.weights.h5": bytes(weights)})
    assert zipfile.ZipFile(damaged).testzip() is None  # the zip itself is consistent
    with pytest.raises(saving.ModelFileError, match="does not match its sha256 digest"):
        saving.load_keras_model(damaged, probe=False)


def test_a_file_without_a_digest_loads_with_a_warning_and_stamping_adds_one(model, tmp_path):
    path = tmp_path / "plain.keras"
    model.save(path)
    with pytest.warns(saving.UnverifiedModelWarning, match="carries no digest"):
        assert saving.check_keras_file(path, probe=False) is False
    saving.stamp_keras_file(path)
    assert saving.check_keras_file(path, probe=False) is True


def test_json_members_are_sized_before_they_are_parsed(model, tmp_path):
    path = saving.save_model(model, tmp_path / "m.keras")
    huge = b"{" + b" " * (saving.MAX_JSON_BYTES + 10) + b"}"  # 8 MiB that packs to a few KiB
    for member in ("config.json", "metadata.json"):
        bomb = _rezip(path, tmp_path / f"big-{member}.keras", {member: huge})
        started = time.perf_counter()
        with pytest.raises(saving.ModelFileError, match=f"{member} is \\d+ bytes; at most {saving.MAX_JSON_BYTES}"):
            saving.check_keras_file(bomb, probe=False)
        assert time.perf_counter() - started < 2.0


def test_one_loader_for_export_demos_and_training_and_the_core_imports_neither():
    from keras_seq.demos import model_files
    from keras_seq.export import load_keras_model

    assert load_keras_model is saving.load_keras_model
    assert "saving.load_keras_model" in open(model_files.__file__).read()
    code = ("import sys, keras_seq.saving; "
            "sys.exit(any(m.startswith(('keras_seq.export', 'keras_seq.demos')) for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_demo_model_loading_refuses_a_damaged_file(model, tmp_path):
    from keras_seq.demos import model_files

    path = saving.save_model(model, tmp_path / "m.keras")
    weights = bytearray(zipfile.ZipFile(path).read("model.weights.h5"))
    weights[-100] ^= 1
    damaged = _rezip(path, tmp_path / "d.keras", {"model.weights.h5": bytes(weights)})
    with pytest.raises(ValueError, match="--model .*d.keras.*does not match its sha256 digest"):
        model_files.load_keras_model(damaged)
