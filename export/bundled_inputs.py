"""Which bundled dataset fits a model's input, for calibration and parity checks."""

import numpy as np

DIGITS = "digits"
WORDS = "words"


def input_kind(shape):
    """``"digits"`` for (batch, 28, 28, 1), ``"words"`` for (batch, T, 16, 8, 1), else ``None``."""
    shape = tuple(-1 if d is None else int(d) for d in shape)
    if shape[1:] == (28, 28, 1):
        return DIGITS
    if len(shape) == 5 and shape[2:] == (16, 8, 1):
        return WORDS
    return None


def digits(split, count):
    """``(x, y)``: the first ``count`` MNIST ``split`` ("train"/"test") images as float32 (N, 28, 28, 1)."""
    from keras_seq.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    return (x[:count, ..., None] / np.float32(255)).astype(np.float32), y[:count]


def words(split, count, test_fold=0):
    """``count`` OCR words spread evenly over ``split`` (train/test for ``test_fold``), as a ``Words``.

    Evenly spread rather than the first ones: the set is grouped by length.
    """
    from keras_seq.datasets import ocr_words

    train, test = ocr_words.load_words().split(test_fold)
    chosen = train if split == "train" else test
    return chosen.subset(np.unique(np.linspace(0, len(chosen) - 1, count).astype(int)))


def word_samples(chosen):
    """Each word of ``chosen`` as float32 (T, 16, 8, 1), unpadded."""
    return [w[..., None].astype(np.float32) for w in chosen.images]
