"""--seed fixes the result of a run on one machine."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_seq.training import reproducible


def test_same_seed_same_weights(tmp_path):
    """Two runs side by side (separate processes: op determinism is process-wide).

    Without the seed their initial weights and data order would differ.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    runs = {"a": 7, "b": 7}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "keras_seq.cli", "train", "digits", "--model", "rnn",
             "--limit", "32", "--batch-size", "8", "--epochs", "1", "--seed", str(seed),
             "--out", str(tmp_path / name)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name, seed in runs.items()
    }
    for p in processes.values():
        _, err = p.communicate(timeout=170)
        assert p.returncode == 0, err[-2000:]
    weights = {n: keras.models.load_model(tmp_path / n / "model.keras").get_weights() for n in runs}
    for a, b in zip(weights["a"], weights["b"]):
        np.testing.assert_array_equal(a, b)
    metrics = {n: json.loads((tmp_path / n / "metrics.json").read_text()) for n in runs}
    assert metrics["a"]["test_accuracy"] == metrics["b"]["test_accuracy"]
    assert metrics["a"]["history"][0]["loss"] == metrics["b"]["history"][0]["loss"]


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "7", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        reproducible.set_seed(seed)
