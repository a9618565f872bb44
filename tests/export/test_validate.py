"""Safe loading: corrupt, truncated and hostile model files raise ModelFileError, never crash."""

import json
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
import pytest

from keras_seq.export import ModelFileError, check_tflite, load_keras_model, to_tflite
from keras_seq.saving import UnverifiedModelWarning
from keras_seq.export.tflite_file import read_tflite

MUTANTS = 200

# Runs in a child process, so that a crash in the code under test would show
# as a signal exit instead of killing pytest.
FUZZ = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from keras_seq.export import EdgeModel, ModelFileError
    original = open(sys.argv[1], "rb").read()
    rng = np.random.default_rng(int(sys.argv[2]))
    mutants = []
    for i in range(int(sys.argv[3])):
        data = bytearray(original)
        if i % 4 == 0:
            data = data[: int(rng.integers(0, len(data)))]          # truncated
        elif i % 4 == 1:
            for _ in range(int(rng.integers(1, 9))):                 # random bytes anywhere
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        elif i % 4 == 2:
            at = int(rng.integers(0, min(len(data), 2048) - 4))      # a huge or negative int32
            data[at:at + 4] = int(rng.choice([0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, len(data)])).to_bytes(4, "little")
        else:
            at = int(rng.integers(0, len(data) - 16))                # a block of garbage
            data[at:at + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        mutants.append(bytes(data))
    outcomes = {"ok": 0, "rejected": 0, "unexpected": []}
    for data in mutants:
        try:
            edge = EdgeModel(data)
            edge.predict(np.zeros((1, 3, 4), np.float32))
            outcomes["ok"] += 1
        except ModelFileError:
            outcomes["rejected"] += 1
        except ValueError as error:  # e.g. a mutated input shape that no longer takes (1, 3, 4)
            outcomes["ok" if "shape" in str(error) or "dimensions" in str(error) else "rejected"] += 1
        except Exception as error:
            outcomes["unexpected"].append(type(error).__name__ + ": " + str(error)[:200])
    print(json.dumps(outcomes))
    """
)


@pytest.fixture(scope="module")
def tflite_file(tmp_path_factory):
    x = keras.Input((None, 4))
    h = keras.layers.LSTM(6, return_sequences=True)(x)
    data = to_tflite(keras.Model(x, keras.layers.Dense(3)(h)))
    path = tmp_path_factory.mktemp("fuzz") / "model.tflite"
    path.write_bytes(data)
    return path


def test_200_mutated_and_truncated_files_never_crash_or_hang(tflite_file):
    done = subprocess.run(
        [sys.executable, "-c", FUZZ, str(tflite_file), "2026", str(MUTANTS)],
        capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcomes["unexpected"] == []
    assert outcomes["ok"] + outcomes["rejected"] == MUTANTS
    assert outcomes["rejected"] >= MUTANTS // 4  # at least every truncated copy


def test_structural_errors_are_named(tflite_file):
    data = tflite_file.read_bytes()
    cases = [
        (b"", "at least 8 bytes"),
        (data[:4] + b"PK\x03\x04" + data[8:], "identifier"),
        (data[:4] + b"TFL2" + data[8:], "identifier"),
        ((len(data) + 5).to_bytes(4, "little") + data[4:], "root table offset"),
        (data[: len(data) // 2], "corrupt|out of range|outside|impossible"),
    ]
    for bad, message in cases:
        with pytest.raises(ModelFileError, match=message):
            read_tflite(bad)
    assert read_tflite(data).subgraph_ops[0].count("WHILE") == 1


def test_the_probes_turn_native_crashes_and_hangs_into_errors():
    import signal
    import time

    from keras_seq import saving
    from keras_seq.export import limits, sandbox

    def isolated(function, args, seconds):
        sandbox.run_isolated(function, args, "TFLite model", seconds, limits.RUN_MEMORY_LIMIT)

    with pytest.raises(ModelFileError, match="crashed .*SIGSEGV"):
        isolated(signal.raise_signal, (signal.SIGSEGV,), 30)
    with pytest.raises(sandbox.RunLimitError, match="time limit of 1 s; .* --time-limit"):
        isolated(time.sleep, (30,), 1)
    with pytest.raises(ModelFileError, match="crashed .*SIGABRT"):
        saving._probe("import os; os.abort()", "Keras model", 30)
    with pytest.raises(ModelFileError, match="did not finish within 1 s"):
        saving._probe("import time; time.sleep(30)", "Keras model", 1)


def _keras_file(tmp_path, name="m.keras", layer=None):
    x = keras.Input((3,))
    model = keras.Model(x, (layer or keras.layers.Dense(2))(x))
    path = tmp_path / name
    model.save(path)
    return path


def _rezip(source, target, replace=None, drop=()):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            if entry.filename in drop:
                continue
            dst.writestr(entry.filename, (replace or {}).get(entry.filename, src.read(entry.filename)))
    return target


def test_bad_keras_files_raise_model_file_errors(tmp_path):
    good = _keras_file(tmp_path)
    raw = good.read_bytes()
    (tmp_path / "noise.keras").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "truncated.keras").write_bytes(raw[: len(raw) // 2])
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in ("config.json", "metadata.json"):
            bomb.writestr(member, "{}")
        bomb.writestr("model.weights.h5", b"\0" * (64 << 20))
    cases = [
        (tmp_path / "missing.keras", "does not exist"),
        (tmp_path / "noise.keras", "not a .keras"),
        (tmp_path / "truncated.keras", "not a .keras|corrupt"),
        (_rezip(good, tmp_path / "no_weights.keras", drop=("model.weights.h5",)), "lacks"),
        (_rezip(good, tmp_path / "bad_json.keras", replace={"config.json": b"{not json"}), "corrupt"),
        (tmp_path / "bomb.keras", "refused"),
    ]
    for path, message in cases:
        with pytest.raises(ModelFileError, match=message):
            load_keras_model(path, probe=False)
    with pytest.warns(UnverifiedModelWarning, match="carries no digest"):  # a plain model.save file
        assert load_keras_model(good, probe=False).output_shape == (None, 2)


def test_a_lambda_layer_is_refused_by_safe_mode(tmp_path):
    hostile = _keras_file(tmp_path, "lambda.keras", keras.layers.Lambda(lambda t: t * 2))
    with pytest.raises(ModelFileError, match="cannot be loaded"), pytest.warns(UnverifiedModelWarning):
        load_keras_model(hostile, probe=False)


def test_check_tflite_probes_a_good_file_once(tflite_file):
    data = tflite_file.read_bytes()
    info = check_tflite(data)
    assert info.inputs[0].shape == (1, -1, 4)
    assert check_tflite(data) == info  # remembered: no second child process
