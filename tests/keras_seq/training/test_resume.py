"""An interrupted run (SIGKILL) resumes from its last finished epoch; files are never half-written."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_seq import cli
from keras_seq import atomic_files, saving
from keras_seq.training.resume import RunBackup

EPOCHS, LIMIT, BATCH = 4, 48, 8  # 6 steps per epoch


def test_sigkill_mid_run_then_rerun_resumes_and_ends_with_the_right_epoch_count(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "digits", "--model", "rnn", "--limit", str(LIMIT), "--batch-size", str(BATCH),
            "--epochs", str(EPOCHS), "--out", str(out)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen([sys.executable, "-m", "keras_seq.cli", *argv], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = out / "backup" / "state.json"
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if state_file.exists() and json.loads(state_file.read_text())["epochs_done"] >= 1:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    killed_at = json.loads(state_file.read_text())["epochs_done"]
    assert 1 <= killed_at < EPOCHS
    # whatever the kill interrupted, model.keras is a complete model
    keras.models.load_model(out / "model.keras")

    assert cli.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == killed_at
    assert metrics["epochs"] == EPOCHS
    assert [h["epoch"] for h in metrics["history"]] == list(range(1, EPOCHS + 1))
    # the optimizer state came back too: one step per batch over all epochs, none repeated or lost
    assert metrics["steps"] == EPOCHS * (LIMIT // BATCH)
    assert not list(out.glob(".*-tmp-*")) and not list((out / "backup").glob(".*-tmp-*"))
    assert sorted(p.name for p in (out / "backup").iterdir()) == [f"epoch-{EPOCHS:04d}.keras", "state.json"]


def test_a_failed_save_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "model.keras"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    saving.save_model(model, path)
    before = path.read_bytes()

    with pytest.raises(KeyboardInterrupt):
        with atomic_files.replacing(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(before[: len(before) // 2])
            raise KeyboardInterrupt
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_stale_temporaries_of_a_killed_process_are_removed(tmp_path):
    (tmp_path / ".model-tmp-abc.keras").write_bytes(b"half a model")
    (tmp_path / "model.keras").write_bytes(b"kept")
    assert atomic_files.remove_stale_temporaries(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    return model


def test_backup_restores_weights_and_optimizer_state(tmp_path):
    x, y = np.random.default_rng(0).random((8, 4), np.float32), np.arange(8) % 3
    model = _model()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    RunBackup(tmp_path, {"task": "t"}).save(model, 2, [{"epoch": 1}, {"epoch": 2}])
    fresh = _model()
    state = RunBackup(tmp_path, {"task": "t"}).restore(fresh)
    assert state["epochs_done"] == 2 and len(state["history"]) == 2
    assert int(fresh.optimizer.iterations) == 4
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_backup_of_another_run_is_refused(tmp_path):
    RunBackup(tmp_path, {"task": "digits"}).save(_model(), 1, [{"epoch": 1}])
    with pytest.raises(ValueError, match="belongs to another run"):
        RunBackup(tmp_path, {"task": "handwriting"}).restore(_model())


def test_a_corrupt_state_file_is_a_clear_error(tmp_path):
    RunBackup(tmp_path, {"task": "digits"}).save(_model(), 1, [{"epoch": 1}])
    (tmp_path / "state.json").write_text('{"epochs_do')
    with pytest.raises(ValueError, match="unreadable"):
        RunBackup(tmp_path, {"task": "digits"}).restore(_model())


def _saved_backup(tmp_path, epochs=2):
    backup, model = RunBackup(tmp_path, {"task": "t"}), _model()
    model.optimizer.build(model.trainable_variables)
    backup.save(model, epochs, [{"epoch": e, "loss": 1.0 / e} for e in range(1, epochs + 1)])
    return backup


def _edit_state(tmp_path, **changes):
    state = json.loads((tmp_path / "state.json").read_text())
    state.update(changes)
    (tmp_path / "state.json").write_text(json.dumps(state))
    return state


def test_an_edited_epochs_done_is_refused_not_trusted(tmp_path):
    backup = _saved_backup(tmp_path)
    _edit_state(tmp_path, epochs_done=80)
    with pytest.raises(ValueError, match="says 80 epochs are done but its history holds 2 epochs"):
        backup.restore(_model())


@pytest.mark.parametrize("changes, message", [
    ({"history": [{"epoch": 1, "loss": 9.0}, {"epoch": 2, "loss": 0.5}]}, "does not match its digest"),
    ({"run": {"task": "t"}, "sha256": "0" * 64}, "does not match its digest"),
    ({"history": [{"epoch": 2}, {"epoch": 1}]}, r"history numbered \[2, 1\]"),
    ({"epochs_done": 0, "history": []}, "expected an int >= 1"),
    ({"epochs_done": True}, "expected an int >= 1"),
    ({"weights": "epoch-0001.keras"}, "not those of epoch 2"),
    ({"digest": None}, "carries no digest"),
])
def test_a_tampered_or_inconsistent_state_is_refused(tmp_path, changes, message):
    backup = _saved_backup(tmp_path)
    _edit_state(tmp_path, **changes)
    with pytest.raises(ValueError, match=message):
        backup.restore(_model())


def test_a_lie_made_consistent_is_still_refused_by_the_digest(tmp_path):
    backup = _saved_backup(tmp_path)
    weights = tmp_path / "epoch-0002.keras"
    weights.rename(tmp_path / "epoch-0080.keras")
    _edit_state(tmp_path, epochs_done=80, weights="epoch-0080.keras",
                history=[{"epoch": e} for e in range(1, 81)])
    with pytest.raises(ValueError, match="edited or damaged after it was written"):
        backup.restore(_model())


def test_with_a_signing_key_a_recomputed_digest_is_refused(tmp_path, monkeypatch):
    from keras_seq.training.resume import state_digest

    monkeypatch.setenv("KERAS_SEQ_SIGNING_KEY", "k" * 32)
    backup = _saved_backup(tmp_path)
    assert backup.restore(_model())["epochs_done"] == 2  # the genuine signed state loads
    state = _edit_state(tmp_path, history=[{"epoch": 1, "loss": 0.0}, {"epoch": 2, "loss": 0.0}])
    _edit_state(tmp_path, digest=state_digest(state))
    with pytest.raises(ValueError, match="signature does not verify"):
        backup.restore(_model())
    genuine = _saved_backup(tmp_path / "genuine")
    monkeypatch.setenv("KERAS_SEQ_SIGNING_KEY", "o" * 32)
    with pytest.raises(ValueError, match="signature does not verify"):
        genuine.restore(_model())
    monkeypatch.delenv("KERAS_SEQ_SIGNING_KEY")
    unsigned = _saved_backup(tmp_path / "unsigned")
    monkeypatch.setenv("KERAS_SEQ_SIGNING_KEY", "k" * 32)
    with pytest.raises(ValueError, match="carries no signature.*only backups signed with that key"):
        unsigned.restore(_model())


def test_the_cli_refuses_a_run_whose_state_says_80_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "digits", "--model", "lenet5", "--limit", "32", "--batch-size", "16", "--epochs", "1",
            "--out", str(out)]
    assert cli.main(argv) == 0
    _edit_state(out / "backup", epochs_done=80)
    capsys.readouterr()
    assert cli.main(argv[:-4] + ["--epochs", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "says 80 epochs are done but its history holds 1 epochs" in err and "to start over" in err
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
