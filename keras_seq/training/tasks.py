"""The two tasks ``keras-seq train`` knows: their data, models and test metrics.

- ``digits``: MNIST, 60,000 training and 10,000 test images; the metric is
  test accuracy (and error).
- ``handwriting``: the OCR words, trained on nine folds and tested on the
  held-out one; the metrics are letter accuracy (over real letters only,
  padding excluded) and whole-word accuracy (every letter of the word right).
"""

import numpy as np

from keras_seq import arguments
from keras_seq.datasets import mnist, ocr_words

DIGIT_MODELS = ("lenet5", "lenet5-modern", "rnn")


def check_limit(limit):
    """``limit`` is ``None`` (all data) or an int >= 1."""
    arguments.positive_int(limit, "limit", allow_none=True)


def digit_model_builder(name):
    """Return a zero-argument builder for the digits model ``name`` (one of ``DIGIT_MODELS``)."""
    arguments.choice(name, "model", DIGIT_MODELS)
    if name == "rnn":
        from keras_seq.models.digits_rnn import digits_rnn

        return digits_rnn
    from keras_seq.models.lenet import lenet5

    variant = "modern" if name == "lenet5-modern" else "faithful"
    return lambda: lenet5(variant)


def digits_data(limit=None, path=None):
    """Return ``(x_train, y_train), (x_test, y_test)``: float32 (N, 28, 28, 1) in [0, 1], int32 labels.

    ``limit`` keeps the first ``limit`` images of each split.
    """
    check_limit(limit)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=path)

    def prepare(x, y):
        x, y = x[:limit], y[:limit]
        return mnist.as_images(x), y.astype("int32")

    return prepare(x_train, y_train), prepare(x_test, y_test)


def handwriting_data(test_fold, limit=None, path=None):
    """Return ``(x, y, mask)`` for training (the nine other folds) and testing (``test_fold``).

    Both are padded to the same length (the longest word of either), so one
    model input shape serves both. ``limit`` keeps the first ``limit`` words
    of each.
    """
    ocr_words.check_fold(test_fold)
    check_limit(limit)
    train, test = ocr_words.load_words(path=path).split(test_fold)
    if limit is not None:
        train, test = train.subset(np.arange(min(limit, len(train)))), test.subset(np.arange(min(limit, len(test))))
    maxlen = int(max(train.lengths.max(), test.lengths.max()))
    return train.padded(maxlen=maxlen), test.padded(maxlen=maxlen)


def predict(model, x, batch_size=256):
    """Class probabilities of ``model`` for ``x``, computed batch by batch (works under any strategy)."""
    import tensorflow as tf

    forward = tf.function(lambda batch: model(batch, training=False))
    outputs = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        padded = np.concatenate([batch, np.zeros((batch_size - len(batch),) + batch.shape[1:], batch.dtype)])
        outputs.append(np.asarray(forward(padded))[: len(batch)])  # one shape, one trace
    return np.concatenate(outputs)


def digits_metrics(model, x_test, y_test):
    """``test_accuracy``, ``test_error`` and ``test_examples`` of a digits model."""
    correct = predict(model, x_test).argmax(-1) == y_test
    accuracy = float(correct.mean())
    return {"test_accuracy": accuracy, "test_error": 1.0 - accuracy, "test_examples": int(len(y_test))}


def handwriting_metrics(model, x_test, y_test, mask):
    """Letter and whole-word accuracy over real letters (``mask`` True) of a handwriting model.

    ``letter_accuracy = #(correct real letters) / #(real letters)``;
    ``word_accuracy`` is the share of words whose real letters are all correct.
    """
    mask = np.asarray(mask, bool)
    correct = predict(model, x_test).argmax(-1) == y_test
    return {
        "letter_accuracy": float(correct[mask].mean()),
        "word_accuracy": float(np.all(correct | ~mask, axis=1).mean()),
        "test_letters": int(mask.sum()),
        "test_words": int(len(mask)),
    }
