"""CTC training of the word reader: edit distance and scores, a tiny reader learns, resume after a stop."""

import json

import keras
import numpy as np
import pytest

from keras_seq.cli import main
from keras_seq.datasets import ocr_words, word_strips
from keras_seq.models import word_reader
from keras_seq.training import words

TEXTS = ["cab", "bead", "ace", "dab"]
STEPS_PER_ROUND, MAX_ROUNDS = 100, 12


def test_edit_distance_and_scores():
    assert words.edit_distance("kitten", "sitting") == 3
    assert words.edit_distance("", "abc") == 3 and words.edit_distance("abc", "abc") == 0
    scores = words.reading_scores(["cat", "dg", ""], ["cat", "dog", "ab"])
    assert scores["cer"] == pytest.approx((0 + 1 + 2) / 8)
    assert scores["word_accuracy"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="same number"):
        words.reading_scores(["a"], [])


def test_a_tiny_reader_learns_a_few_synthetic_strings():
    bank = word_strips.letter_bank(ocr_words.load_words().subset(np.arange(300)))
    images = [word_strips.normalise_strip(word_strips.side_by_side([bank["abcde".index(c)][0] for c in t]))
              for t in TEXTS]
    strips = word_strips.Strips(images, TEXTS)
    keras.utils.set_random_seed(0)
    model = word_reader(units=24, filters=(8, 16, 16), bottleneck=8, features=24, dropout=0.0)
    before = words.evaluate(model, strips)
    step = words.ctc_train_step(model, keras.optimizers.Adam(1e-2, global_clipnorm=5.0))
    x, labels, label_lengths, step_lengths, _ = next(words.batches(strips, len(TEXTS)))
    # Steps in rounds until it reads every string: how many a seed needs differs between CPUs.
    for _ in range(MAX_ROUNDS):
        for _ in range(STEPS_PER_ROUND):
            step(x, labels, label_lengths, step_lengths)
        after = words.evaluate(model, strips)
        if after["cer"] == 0.0:
            break
    assert before["word_accuracy"] == 0.0
    assert after["cer"] == 0.0 and after["word_accuracy"] == 1.0
    beam = words.read_strips(model, strips, method="beam")
    assert [r.text for r in beam] == TEXTS
    assert all(len(r.confidences) == len(t) and min(r.confidences) > 0.5 for r, t in zip(beam, TEXTS))


def test_training_resumes_from_the_last_finished_epoch(tmp_path):
    data = words.words_data(5, limit=10)
    tiny = dict(units=8, filters=(4, 4, 4), bottleneck=4, features=8, dropout=0.0)
    options = dict(out_dir=tmp_path, batch_size=10, synthetic=6, seed=3, run={"test": 1}, model_options=tiny)
    lines = []
    _, history, resumed = words.train_words(data, epochs=1, log=lines.append, **options)
    assert resumed == 0 and len(history) == 1
    _, history, resumed = words.train_words(data, epochs=2, log=lines.append, **options)
    assert resumed == 1 and [h["epoch"] for h in history] == [1, 2]
    assert any("resuming from" in line and "after epoch 1" in line for line in lines)


def test_train_words_command_writes_model_and_metrics(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "words", "--test-fold", "4", "--limit", "8", "--batch-size", "8",
                 "--epochs", "1", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for kind in ("real", "synthetic"):
        for method in ("greedy", "beam"):
            assert 0 <= metrics[f"{kind}_{method}_cer"] and 0 <= metrics[f"{kind}_{method}_word_accuracy"] <= 1
    assert metrics["real_strips"] == 8 and metrics["global_clipnorm"] == 5.0 and len(metrics["history"]) == 1
    model = keras.saving.load_model(out / "model.keras")
    assert tuple(model.inputs[0].shape) == (None, word_strips.HEIGHT, word_strips.MAX_WIDTH, 2)


def test_train_words_refuses_bad_options(tmp_path, capsys):
    for extra, match in [([], "--test-fold K"), (["--test-fold", "10"], "--test-fold=10"),
                         (["--test-fold", "1", "--clipnorm", "1"], "--clipnorm"),
                         (["--test-fold", "1", "--epochs", "0"], "--epochs=0")]:
        assert main(["train", "words", *extra, "--out", str(tmp_path / "run")]) == 2
        assert match in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_weight_average_is_the_running_mean_and_survives_a_restart(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    average = words.WeightAverage(tmp_path / "average.npz")
    seen = []
    for epoch in (4, 5, 6):
        model.set_weights([np.full(w.shape, float(epoch), np.float32) for w in model.get_weights()])
        seen.append(model.get_weights())
        average.add(model, epoch)
        if epoch == 5:
            average = words.WeightAverage(tmp_path / "average.npz")  # a resumed run continues the mean
    assert average.epochs == [4, 5, 6]
    for mean, *each in zip(average.weights, *seen):
        np.testing.assert_allclose(mean, np.mean(each, axis=0), rtol=1e-6)
    (tmp_path / "average.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="unreadable"):
        words.WeightAverage(tmp_path / "average.npz")


def test_batch_norm_recalibration_gives_the_plain_mean_of_the_batch_statistics():
    strips = word_strips.Strips([np.full((word_strips.HEIGHT, 8), v, np.float32) for v in (0.2, 0.6, 1.0, 0.4)],
                                ["a", "b", "c", "d"])
    model = word_reader(units=4, filters=(2, 2, 2), bottleneck=2, features=4, dropout=0.0)
    norm = model.get_layer("conv1_normalised")
    conv = keras.Model(model.inputs, model.get_layer("conv1").output)
    words.recalibrate_batch_norm(model, strips, batch_size=2, rng=None, count=2)
    batch_means = [np.asarray(conv([x])).mean(axis=(0, 1, 2)) for x, *_ in words.batches(strips, 2)]
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean(batch_means, axis=0), rtol=1e-4, atol=1e-6)
    assert norm.momentum == 0.99  # put back
