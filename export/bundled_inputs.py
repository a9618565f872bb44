"""Which bundled dataset fits a model's input, for calibration and parity checks.

Three kinds of input have bundled data: MNIST digits (28, 28, 1), OCR words
as letter images (T, 16, 8, 1) and word strips, whole-word images with their
column mask (32, width, 2), what a word reader takes.
"""

import numpy as np

from keras_seq.models.word_reader import reads_word_strips

DIGITS = "digits"
WORDS = "words"
WORD_STRIPS = "word-strips"
# The share of word-reader calibration strips stretched to the reader's full width.
FULL_WIDTH_SHARE = 0.05


def input_kind(shape):
    """``"digits"`` for (batch, 28, 28, 1), ``"words"`` for (batch, T, 16, 8, 1),
    ``"word-strips"`` for a word reader's (batch, 32, width, 2), else ``None``."""
    shape = tuple(-1 if d is None else int(d) for d in shape)
    if reads_word_strips(shape):
        return WORD_STRIPS
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
    return mnist.as_images(x[:count]), y[:count]


def words(split, count, test_fold=0):
    """``count`` OCR words spread evenly over ``split`` (train/test for ``test_fold``), as a ``Words``.

    Evenly spread rather than the first ones: the set is grouped by length.
    """
    from keras_seq.datasets import ocr_words

    train, test = ocr_words.load_words().split(test_fold)
    return _spread(train if split == "train" else test, count)


def _spread(chosen, count):
    """``count`` words of ``chosen`` at evenly spaced indices."""
    return chosen.subset(np.unique(np.linspace(0, len(chosen) - 1, count).astype(int)))


def word_samples(chosen):
    """Each word of ``chosen`` as float32 (T, 16, 8, 1), unpadded."""
    return [w[..., None].astype(np.float32) for w in chosen.images]


def training_word_strips(count, test_fold=0, seed=0):
    """``count`` word strips (a ``Strips``) from every fold but ``test_fold``: int8 calibration for a word reader.

    What the reader was trained on, in thirds: training words as written
    (real strips, spread evenly over the set); random strings of the
    training letters drawn as users' pictures differ
    (:class:`keras_seq.datasets.word_strips.StripAugmenter`: letter widths,
    gaps, jitter, slant, stroke thickness); random strings written as natural
    handwriting by the training faces, fonts and baseline letters
    (:func:`keras_seq.datasets.natural_writing.training_writers`; no held-out
    writer). The widest ``FULL_WIDTH_SHARE`` of the strips are then stretched
    to ``MAX_WIDTH`` columns (a word written wide), so that a fixed-width
    file's calibration reaches its every step. Fixed by ``seed``.
    """
    from keras_seq.datasets import natural_writing, ocr_words, word_strips

    train, _ = ocr_words.load_words().split(test_fold)
    real = word_strips.real_strips(_spread(train, count // 3))
    synthetic = word_strips.synthetic_strips(train, (count - len(real)) // 2, seed,
                                             word_strips.StripAugmenter(seed=seed))
    bank = word_strips.letter_bank(train)
    writer = natural_writing.NaturalWriter(*natural_writing.training_writers(bank), seed=seed,
                                           capitals_rate=natural_writing.TRAINING_CAPITALS_RATE)
    rng = np.random.default_rng(seed)
    texts = natural_writing.random_texts(count - len(real) - len(synthetic), rng, word_strips.bank_letters(bank))
    strips = real + synthetic + writer.strips(texts)
    widest = np.argsort([-image.shape[1] for image in strips.images], kind="stable")
    images = list(strips.images)
    for i in widest[:int(np.ceil(FULL_WIDTH_SHARE * count))]:
        images[i] = word_strips.box_resize(images[i], word_strips.HEIGHT, word_strips.MAX_WIDTH)
    return word_strips.Strips(images, strips.texts)


def held_out_word_strips(count, test_fold=0):
    """``count`` words of ``test_fold`` spread over it, as real word strips (a ``Strips``): parity checks."""
    from keras_seq.datasets import word_strips

    return word_strips.real_strips(words("test", count, test_fold))


def strip_samples(strips):
    """Each strip as a word reader's input at its own width, float32 (32, w, 2): pixels and column mask."""
    from keras_seq.datasets import word_strips

    return [word_strips.model_input([strip])[0] for strip in strips.images]
