"""--strategy: two MultiWorkerMirroredStrategy workers on 127.0.0.1 end with identical weights."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_seq.training import distribute, trainer


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_in_lockstep(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    out = tmp_path / "run"
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="3")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "keras_seq.cli", "train", "digits", "--model", "rnn",
             "--strategy", "multiworker", "--limit", "48", "--batch-size", "16", "--epochs", "2",
             "--out", str(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        outputs = [p.communicate(timeout=170)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]

    chief, other = out, out / "workers" / "worker-1"  # only the chief writes to --out itself
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (chief, other)]
    assert [m["replicas"] for m in metrics] == [2, 2]
    assert [m["steps"] for m in metrics] == [6, 6]  # 3 global batches of 16 per epoch
    weights = [keras.models.load_model(d / "model.keras").get_weights() for d in (chief, other)]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    assert metrics[0]["test_accuracy"] == metrics[1]["test_accuracy"]


def test_mirrored_strategy_trains(tmp_path):
    import tensorflow as tf

    x = np.random.default_rng(0).random((12, 4), np.float32)
    y = np.arange(12) % 3
    build = lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])  # noqa: E731
    result = trainer.train(build, x, y, out_dir=tmp_path, epochs=2, batch_size=4,
                           strategy=tf.distribute.MirroredStrategy(), log=lambda line: None)
    assert result.steps == 6 and (tmp_path / "model.keras").is_file()


@pytest.mark.parametrize("tf_config, message", [
    (None, "needs the TF_CONFIG"),
    ("{not json", "not valid JSON"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "not in its cluster"),
    ('{"task": {"type": "worker", "index": 0}}', "needs 'cluster' and 'task'"),
])
def test_bad_tf_config_is_a_clear_error(tf_config, message):
    with pytest.raises(ValueError, match=message):
        distribute.check_tf_config(tf_config)


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy='tpu'"):
        distribute.make_strategy("tpu")
