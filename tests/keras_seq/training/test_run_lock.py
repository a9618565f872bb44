"""A training run owns its --out folder: a second live run is refused, a dead run's lock is taken over;
backup weights are checked against their digest before a resume loads them."""

import os
import signal
import subprocess
import sys
import textwrap

import keras
import pytest

from keras_seq import cli
from keras_seq.training.resume import RunBackup
from keras_seq.training.run_lock import LOCK_FILE, RunFolderInUseError, RunLock

# Loads run_lock.py by path: importing the keras_seq.training package would start TensorFlow.
HOLDER = textwrap.dedent(
    """
    import importlib.util, sys, time
    spec = importlib.util.spec_from_file_location("run_lock", sys.argv[2])
    run_lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_lock)
    with run_lock.RunLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def _hold(folder):
    from keras_seq.training import run_lock

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), run_lock.__file__],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_run_into_a_locked_folder_is_refused_and_a_dead_runs_lock_is_taken_over(tmp_path, capsys):
    holder = _hold(tmp_path)
    try:
        with pytest.raises(RunFolderInUseError, match=f"in use by another training run \\(process {holder.pid} on "):
            with RunLock(tmp_path):
                pass
        assert cli.main(["train", "digits", "--out", str(tmp_path), "--limit", "10", "--epochs", "1"]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "is in use by another training run" in error
        assert not (tmp_path / "model.keras").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with RunLock(tmp_path) as lock:  # the holder died holding it: stale
        assert lock.took_over == holder.pid
        assert str(os.getpid()) in (tmp_path / LOCK_FILE).read_text()
    with RunLock(tmp_path) as lock:  # released cleanly last time: nothing to take over
        assert lock.took_over is None


def test_an_empty_out_is_refused(capsys):
    assert cli.main(["train", "digits", "--out", ""]) == 2
    assert "--out '' is not allowed; expected a folder path" in capsys.readouterr().err


def test_damaged_backup_weights_are_refused_before_resuming(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    backup = RunBackup(tmp_path, run={"task": "t"})
    backup.save(model, 1, [{"epoch": 1}])
    assert backup.restore(model)["epochs_done"] == 1
    weights = tmp_path / "epoch-0001.keras"
    data = bytearray(weights.read_bytes())
    data[-64] ^= 0x10
    weights.write_bytes(data)
    with pytest.raises(ValueError, match="do not match their sha256 digest"):
        backup.restore(model)


def test_train_writes_a_stamped_model_and_releases_its_folder(tmp_path, capsys):
    from keras_seq import saving

    out = tmp_path / "run"
    assert cli.main(["train", "digits", "--model", "lenet5", "--limit", "64", "--epochs", "1",
                     "--out", str(out)]) == 0
    assert saving.check_keras_file(out / "model.keras", probe=False) is True  # digest present and matching
    with RunLock(out) as lock:  # released at the end, not left for a takeover
        assert lock.took_over is None
