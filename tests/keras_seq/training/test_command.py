"""keras-seq train: metrics.json and model.keras for both tasks, and clear errors for bad input."""

import json

import keras
import numpy as np
import pytest

from keras_seq import cli


def train(*argv):
    return cli.main(["train", *argv])


def test_digits_rnn_writes_model_and_test_accuracy(tmp_path):
    out = tmp_path / "digits"
    assert train("digits", "--model", "rnn", "--limit", "64", "--epochs", "2", "--batch-size", "32",
                 "--out", str(out)) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "digits" and metrics["model"] == "rnn"
    assert metrics["test_examples"] == 64 and metrics["epochs"] == 2 and metrics["steps"] == 4
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["test_error"] == pytest.approx(1.0 - metrics["test_accuracy"])
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    model = keras.models.load_model(out / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 10)
    assert not list(out.glob(".*-tmp-*"))  # no temporary file left behind


def test_handwriting_scores_real_letters_of_the_held_out_fold(tmp_path):
    out = tmp_path / "hw"
    assert train("handwriting", "--test-fold", "3", "--limit", "24", "--epochs", "1",
                 "--batch-size", "12", "--out", str(out)) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    from keras_seq.datasets import ocr_words

    held_out = ocr_words.load_words().split(3)[1].subset(np.arange(24))
    assert metrics["test_fold"] == 3 and metrics["test_words"] == 24
    assert metrics["test_letters"] == int(held_out.lengths.sum())  # padding not counted
    assert 0.0 <= metrics["word_accuracy"] <= metrics["letter_accuracy"] <= 1.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["handwriting", "--test-fold", "10"], "--test-fold 10"),
        (["handwriting", "--test-fold", "-1"], "--test-fold -1"),
        (["handwriting"], "--test-fold"),
        (["digits", "--limit", "0"], "--limit 0"),
        (["digits", "--epochs", "0"], "--epochs 0"),
        (["digits", "--model", "vgg"], "--model 'vgg'"),
        (["digits", "--clipnorm", "1", "--global-clipnorm", "1"], "--clipnorm and --global-clipnorm"),
        (["digits", "--learning-rate", "nan"], "--learning-rate nan"),
        (["digits", "--clipnorm", "-2"], "--clipnorm -2"),
        (["handwriting", "--test-fold", "1", "--model", "rnn"], "--model"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, tmp_path, capsys):
    assert train(*argv, "--out", str(tmp_path / "run")) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_multiworker_without_tf_config_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert train("digits", "--strategy", "multiworker", "--limit", "8", "--out", str(tmp_path)) == 2
    assert "TF_CONFIG" in capsys.readouterr().err


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    """A huge step size makes LeNet's weights ~1e30 after step 1; step 2 overflows to NaN."""
    out = tmp_path / "nan"
    argv = ["digits", "--model", "lenet5-modern", "--limit", "16", "--batch-size", "16", "--out", str(out)]
    assert train(*argv, "--epochs", "3", "--learning-rate", "1e30") == 3
    err = capsys.readouterr().err
    assert "at epoch 2, batch 1 of 1 (optimizer step 2)" in err
    assert "NaN" in err or "nan" in err
    assert "the last good checkpoint, after epoch 1, is kept" in err
    state = json.loads((out / "backup" / "state.json").read_text())
    assert state["epochs_done"] == 1 and [h["epoch"] for h in state["history"]] == [1]
    kept = keras.models.load_model(out / "model.keras")
    assert all(np.all(np.isfinite(w)) for w in kept.get_weights())
    assert not (out / "metrics.json").exists()


def test_letter_and_word_accuracy_count_real_letters_only():
    from keras_seq.training import tasks

    y = np.array([[1, 2, 0], [3, 4, 0]])
    mask = np.array([[True, True, False], [True, True, False]])
    predicted = np.array([[1, 2, 7], [3, 5, 0]])  # wrong at word 0's padding, wrong letter in word 1
    probabilities = np.eye(26, dtype=np.float32)[predicted]
    model = lambda batch, training=False: probabilities[: len(batch)]  # noqa: E731
    metrics = tasks.handwriting_metrics(model, np.zeros((2, 3, 16, 8, 1), np.float32), y, mask)
    assert metrics["letter_accuracy"] == pytest.approx(3 / 4)
    assert metrics["word_accuracy"] == pytest.approx(1 / 2)
    assert metrics["test_letters"] == 4 and metrics["test_words"] == 2
