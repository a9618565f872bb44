"""Train the word reader with a CTC loss: resumable, NaN-safe, measured by CER and word accuracy.

Every epoch draws fresh strips, from a seed fixed by the run and the epoch,
so a resumed run sees the data an uninterrupted one would: the training
folds' words and half as many random strings of their letters, augmented
(:class:`keras_seq.datasets.word_strips.StripAugmenter`), and as many random
texts written as natural handwriting
(:class:`keras_seq.datasets.natural_writing.NaturalWriter`: the training
Hershey faces and fonts, a fifth of the print ones' texts in capitals, and
the training letters on a baseline). Each step minimises the mean CTC loss
of a batch,

    L = -(1 / N) sum_n log p(text_n | strip_n),

with Adam and the gradient clipped to ``global_clipnorm`` in global L2 norm
(Pascanu et al. 2013). Strips of similar width share a batch (sorted within
chunks of 16 batches), so little of each batch is padding.

Metrics: the character error rate CER = sum_n edit(read_n, text_n) /
sum_n |text_n| (Levenshtein distance: insertions, deletions and
substitutions) and word accuracy, the share of strips read exactly.
"""

import dataclasses
import io
import math
import pathlib
import weakref

import keras
import numpy as np

# tensorflow directly: the CTC loss on dense labels and the tf.function step.
import tensorflow as tf

from keras_seq import arguments, atomic_files, saving
from keras_seq.datasets import natural_writing, ocr_words, word_strips
from keras_seq.models import ctc
from keras_seq.models.word_reader import fixed_width_copy, steps_for_width, word_reader
from keras_seq.training import trainer
from keras_seq.training.resume import RunBackup

WIDTH_MULTIPLE = 8
SORT_CHUNK = 16
SYNTHETIC_TEST_STRINGS = 500
AVERAGE_FILE = "average.npz"
CALIBRATION_BATCHES = 100
NATURAL_TEST_SET = "stroke cursive, dark on light"
LEARNING_RATE_DROP = 0.55


def edit_distance(a, b):
    """Levenshtein distance between two strings (unit cost insert, delete, substitute)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def reading_scores(read, truth):
    """``cer`` (total edit distance / total characters) and ``word_accuracy`` of texts ``read``."""
    if len(read) != len(truth) or not truth:
        raise ValueError(f"read has {len(read)} texts and truth {len(truth)}; expected the same number >= 1")
    errors = sum(edit_distance(r, t) for r, t in zip(read, truth))
    return {
        "cer": errors / sum(len(t) for t in truth),
        "word_accuracy": float(np.mean([r == t for r, t in zip(read, truth)])),
        "strips": len(truth),
    }


def pad_width(width):
    """Round a batch width up to a multiple of 8 (fewer distinct shapes, whole steps)."""
    return int(math.ceil(width / WIDTH_MULTIPLE) * WIDTH_MULTIPLE)


def batches(strips, batch_size, rng=None):
    """Yield ``(x, labels, label_lengths, step_lengths, index)`` batches of :class:`Strips`.

    With ``rng`` the order is shuffled, then sorted by width within chunks of
    16 batches; without it strips keep their order, sorted by width overall.
    """
    widths = np.array([s.shape[1] for s in strips.images])
    if rng is None:
        order = np.argsort(widths, kind="stable")
    else:
        order = rng.permutation(len(strips))
        chunk = batch_size * SORT_CHUNK
        order = np.concatenate([
            part[np.argsort(widths[part], kind="stable")] for part in np.split(order, range(chunk, len(order), chunk))
        ])
        starts = rng.permutation(range(0, len(order), batch_size))
        order = np.concatenate([order[s:s + batch_size] for s in starts])
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        images = [strips.images[i] for i in index]
        x = word_strips.model_input(images, pad_width(max(s.shape[1] for s in images)))
        texts = [strips.texts[i] for i in index]
        label_lengths = np.array([len(t) for t in texts], np.int32)
        labels = np.zeros((len(texts), label_lengths.max()), np.int32)
        for row, text in enumerate(texts):
            labels[row, :len(text)] = ctc.encode(text)
        step_lengths = np.array([steps_for_width(s.shape[1]) for s in images], np.int32)
        yield x, labels, label_lengths, step_lengths, index


_FORWARD = weakref.WeakKeyDictionary()  # model -> its inference tf.function, traced once for any width


def _forward(model):
    if model not in _FORWARD:
        held = weakref.ref(model)  # the function must not keep its own key alive
        _FORWARD[model] = tf.function(lambda x: held()(x, training=False),
                                      input_signature=[tf.TensorSpec((None, word_strips.HEIGHT, None, 2))])
    return _FORWARD[model]


def read_strips(model, strips, method="greedy", batch_size=64):
    """Decode every strip with ``model``: a list of :class:`keras_seq.models.ctc.Reading`."""
    forward = _forward(model)
    readings = [None] * len(strips)
    for x, _, _, steps, index in batches(strips, batch_size):
        probabilities = np.asarray(forward(x))
        for i, reading in zip(index, ctc.decode_ctc(probabilities, steps, method=method)):
            readings[i] = reading
    return readings


def evaluate(model, strips, method="greedy"):
    """``reading_scores`` of ``model`` on :class:`Strips`."""
    read = [r.text for r in read_strips(model, strips, method)]
    return reading_scores(read, strips.texts)


@dataclasses.dataclass(frozen=True)
class WordsData:
    """The training words; the held-out fold as real strips and synthetic strings; held-out natural writing."""

    train: ocr_words.Words
    test_real: word_strips.Strips
    test_synthetic: word_strips.Strips
    test_natural: word_strips.Strips


def words_data(test_fold, limit=None, path=None, synthetic_test=SYNTHETIC_TEST_STRINGS):
    """Split the OCR words at ``test_fold``; the held-out words become real and synthetic test strips.

    ``test_natural`` is ``natural_writing.EVALUATION_WORDS`` in the held-out
    ``NATURAL_TEST_SET`` (a face training never sees). ``limit`` keeps
    ``limit`` training and test words, spread over each set, and makes as
    many synthetic test strings and natural words (quick runs).
    """
    ocr_words.check_fold(test_fold)
    arguments.positive_int(limit, "limit", allow_none=True)
    train, test = ocr_words.load_words(path=path).split(test_fold)
    if limit is not None:
        train = train.subset(np.linspace(0, len(train) - 1, min(limit, len(train))).astype(int))
        test = test.subset(np.linspace(0, len(test) - 1, min(limit, len(test))).astype(int))
    return WordsData(
        train,
        word_strips.real_strips(test),
        word_strips.synthetic_strips(test, synthetic_test if limit is None else min(limit, synthetic_test),
                                     seed=1000 + test_fold),
        natural_writing.held_out_strips(NATURAL_TEST_SET, natural_writing.EVALUATION_WORDS[:limit]),
    )


def ctc_train_step(model, optimizer):
    """A ``tf.function`` ``step(x, labels, label_lengths, step_lengths) -> (loss, non_finite)``.

    One optimizer step on the mean CTC loss of the batch, computed from the
    model's ``logits`` layer; ``non_finite`` counts NaN or infinite gradient
    entries (the step is still applied: the caller stops on them).
    """
    logits_model = keras.Model(model.inputs, model.get_layer("logits").output)
    spec = tf.TensorSpec

    @tf.function(input_signature=[spec((None, word_strips.HEIGHT, None, 2)), spec((None, None), tf.int32),
                                  spec((None,), tf.int32), spec((None,), tf.int32)])
    def step(x, labels, label_lengths, step_lengths):
        with tf.GradientTape() as tape:
            logits = logits_model([x], training=True)
            losses = tf.nn.ctc_loss(labels, logits, label_lengths, step_lengths,
                                    logits_time_major=False, blank_index=ctc.BLANK)
            loss = tf.reduce_mean(losses)
        gradients = tape.gradient(loss, model.trainable_variables)
        non_finite = tf.add_n([tf.reduce_sum(tf.cast(~tf.math.is_finite(g), tf.float32))
                               for g in gradients if g is not None])
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss, non_finite

    return step


class WeightAverage:
    """The running mean of a model's weights after each averaged epoch (stochastic weight averaging,
    Izmailov et al. 2018): w_bar <- w_bar + (w - w_bar) / n, kept in ``path`` so a resumed run continues it."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.weights, self.epochs = None, []
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as saved:
                    self.epochs = [int(e) for e in saved["epochs"]]
                    self.weights = [saved[f"w{i}"] for i in range(len(saved.files) - 1)]
            except (OSError, ValueError, KeyError) as error:
                raise ValueError(f"{str(self.path)!r} is unreadable ({error}); delete it to average afresh") from None

    def add(self, model, epoch):
        weights = model.get_weights()
        if self.weights is None:
            self.weights = [np.array(w, copy=True) for w in weights]
        else:
            n = len(self.epochs) + 1
            self.weights = [a + (w - a) / n for a, w in zip(self.weights, weights)]
        self.epochs.append(epoch)
        buffer = io.BytesIO()
        np.savez(buffer, epochs=np.array(self.epochs), **{f"w{i}": w for i, w in enumerate(self.weights)})
        atomic_files.write_bytes(buffer.getvalue(), self.path)


def recalibrate_batch_norm(model, strips, batch_size, rng, count=CALIBRATION_BATCHES):
    """Recompute every BatchNormalization layer's moving mean and variance as the plain mean over
    ``count`` training-mode batches of ``strips`` (averaged weights need their own statistics)."""
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for k, (x, *_) in enumerate(batches(strips, batch_size, rng)):
        if k == count:
            break
        for layer in norms:
            layer.momentum = k / (k + 1.0)   # k = 0 replaces the statistics, then a cumulative mean
        model(x, training=True)
    for layer, momentum in zip(norms, saved):
        layer.momentum = momentum


def train_words(data, *, out_dir, epochs, batch_size=32, learning_rate=3e-3, global_clipnorm=5.0,
                synthetic=None, natural=None, seed=0, run=None, log=None, model_options=None):
    """Train :func:`keras_seq.models.word_reader` on ``data.train``; continue any backup in ``out_dir``.

    After every epoch the weights and optimizer state go to
    ``out_dir/backup`` and ``out_dir/model.keras`` gets the reader fixed at
    ``MAX_WIDTH`` columns (same weights; what ``keras-seq export`` converts),
    both atomically. The learning rate drops to 0.3x after the first
    ``LEARNING_RATE_DROP`` (55 %) of the epochs: the long low-rate phase is
    where the reader gains most (see ``benchmarks/word_reader.py``). The
    weights after each low-rate epoch are averaged (:class:`WeightAverage`);
    the final ``model.keras`` is that average, its batch-norm statistics
    recomputed (:func:`recalibrate_batch_norm`): the reader at any one epoch
    swings by several CER points on writing it has not seen, the average
    does not.

    Args:
        data: a :class:`WordsData`.
        out_dir: the run folder.
        epochs: total epochs (int >= 1).
        batch_size: strips per step (int >= 1).
        learning_rate: Adam's step size (> 0).
        global_clipnorm: clip all gradients together to this L2 norm (> 0).
        synthetic: augmented random strings of the OCR letters per epoch
            (default: one per two training words).
        natural: random texts written as natural handwriting per epoch
            (default: one per training word).
        seed: seed of the augmentation and data order.
        run: JSON-able description of the run; a backup of another run is refused.
        log: called with each progress line (default: print it).
        model_options: keyword arguments for ``word_reader``.

    Returns:
        ``(model, history, resumed_from)``.
    """
    epochs = arguments.positive_int(epochs, "epochs")
    batch_size = arguments.positive_int(batch_size, "batch_size")
    learning_rate = arguments.positive_real(learning_rate, "learning_rate")
    global_clipnorm = arguments.positive_real(global_clipnorm, "global_clipnorm")
    seed = arguments.integer(seed, "seed", minimum=0)
    synthetic = len(data.train) // 2 if synthetic is None else arguments.integer(synthetic, "synthetic", minimum=0)
    natural = len(data.train) if natural is None else arguments.integer(natural, "natural", minimum=0)
    folder = trainer.prepared_folder(out_dir)

    model = word_reader(**(model_options or {}))
    optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=global_clipnorm)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    train_step = ctc_train_step(model, optimizer)
    bank = word_strips.letter_bank(data.train)
    writers, weights = natural_writing.training_writers(bank)
    average = WeightAverage(folder / trainer.BACKUP_FOLDER / AVERAGE_FILE)

    def epoch_strips(rng):
        """The training strips drawn from ``rng``: words and random strings augmented, natural writing."""
        strips = word_strips.training_strips(data.train, word_strips.StripAugmenter(seed=int(rng.integers(2**31))),
                                             synthetic, rng)
        if natural:
            writer = natural_writing.NaturalWriter(writers, weights, seed=int(rng.integers(2**31)),
                                                   capitals_rate=natural_writing.TRAINING_CAPITALS_RATE)
            strips += writer.strips(natural_writing.random_texts(natural, rng, word_strips.bank_letters(bank)))
        return strips

    def low_rate(epoch):
        return epoch >= math.ceil(LEARNING_RATE_DROP * epochs)

    def epoch_batches(epoch):
        optimizer.learning_rate = learning_rate * (0.3 if low_rate(epoch) else 1.0)
        rng = np.random.default_rng([seed, epoch])
        strips = epoch_strips(rng)
        return batches(strips, batch_size, rng), math.ceil(len(strips) / batch_size)

    def step(batch):
        x, labels, label_lengths, step_lengths, _ = batch
        return (*train_step(x, labels, label_lengths, step_lengths), len(x))

    def end_of_epoch(epoch):
        held_out = evaluate(model, data.test_real)
        handwriting = evaluate(model, data.test_natural)
        if low_rate(epoch) and epoch + 1 not in average.epochs:
            average.add(model, epoch + 1)
        figures = {"real_cer": held_out["cer"], "real_word_accuracy": held_out["word_accuracy"],
                   "natural_cer": handwriting["cer"], "natural_word_accuracy": handwriting["word_accuracy"]}
        text = (f", held-out real CER {held_out['cer']:.4f}, words {held_out['word_accuracy']:.4f}; "
                f"held-out handwriting CER {handwriting['cer']:.4f}, words {handwriting['word_accuracy']:.4f}")
        return figures, text

    log = log or (lambda line: print(line, flush=True))
    history, resumed_from = trainer.run_epochs(
        model, optimizer, step, epoch_batches, folder=folder, epochs=epochs,
        backup=RunBackup(folder / trainer.BACKUP_FOLDER, run or {}), log=log, end_of_epoch=end_of_epoch,
        saved_model=lambda m: fixed_width_copy(m, word_strips.MAX_WIDTH), progress_every=50)
    if average.weights is not None and len(average.epochs) > 1:
        model.set_weights(average.weights)
        rng = np.random.default_rng([seed, epochs])
        recalibrate_batch_norm(model, epoch_strips(rng), batch_size, rng)
        log(f"averaged the weights of epochs {average.epochs[0]}-{average.epochs[-1]} "
            f"({len(average.epochs)} epochs) and recomputed the batch-norm statistics")
        saving.save_model(fixed_width_copy(model, word_strips.MAX_WIDTH), folder / trainer.MODEL_FILE)
    return model, history, resumed_from


def words_metrics(model, data):
    """CER and word accuracy, greedy and beam, on the real, synthetic and natural held-out strips."""
    metrics = {}
    for kind, strips in (("real", data.test_real), ("synthetic", data.test_synthetic),
                         ("natural", data.test_natural)):
        for method in ctc.METHODS:
            scores = evaluate(model, strips, method)
            metrics[f"{kind}_{method}_cer"] = scores["cer"]
            metrics[f"{kind}_{method}_word_accuracy"] = scores["word_accuracy"]
        metrics[f"{kind}_strips"] = len(strips)
    return metrics
