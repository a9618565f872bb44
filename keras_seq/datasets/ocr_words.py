"""OCR handwritten words (Taskar et al. 2003) from the bundled ``ocr_words.npz``.

Each word is a variable-length sequence of 16x8 binary letter images with
labels 0-25 for 'a'-'z'; every word belongs to one of 10 cross-validation
folds. The first (capital) letter of every word was removed by the dataset's
authors, so "embraces" reads ``mbraces``.
"""

import dataclasses

import numpy as np

from keras_seq import arguments
from keras_seq.datasets import bundled

FILE = "ocr_words.npz"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
NUM_CLASSES = len(LETTERS)
NUM_FOLDS = 10
IMAGE_SHAPE = (16, 8)


@dataclasses.dataclass(frozen=True)
class Words:
    """A set of words: per-word letter images, letter labels, folds and text.

    Attributes:
        images: tuple of uint8 arrays (T_i, 16, 8) holding 0/1 pixels.
        labels: tuple of uint8 arrays (T_i,) with letters 0-25.
        folds: int array (W,), the fold of each word.
        texts: str array (W,), the transcription of each word.
    """

    images: tuple
    labels: tuple
    folds: np.ndarray
    texts: np.ndarray

    def __len__(self):
        return len(self.images)

    @property
    def lengths(self):
        return np.array([len(y) for y in self.labels], dtype=np.int32)

    def subset(self, index):
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return Words(
            images=tuple(self.images[i] for i in index),
            labels=tuple(self.labels[i] for i in index),
            folds=self.folds[index],
            texts=self.texts[index],
        )

    def split(self, test_fold):
        """Return ``(train, test)``: every fold but ``test_fold``, and that fold."""
        check_fold(test_fold)
        held_out = self.folds == test_fold
        return self.subset(~held_out), self.subset(held_out)

    def padded(self, maxlen=None, dtype="float32"):
        """Pad to one batch: ``(x, y, mask)``; see :func:`pad_words`."""
        return pad_words(self.images, self.labels, maxlen=maxlen, dtype=dtype)


def check_fold(fold):
    """``fold`` is a cross-validation fold, an int in 0-9."""
    return arguments.integer(fold, "fold", minimum=0, maximum=NUM_FOLDS - 1)


def load_words(path=None, verify=True):
    """Load all 6,877 words as a :class:`Words`.

    Args:
        path: another copy of ``ocr_words.npz`` (a file, or a folder holding
            it). Defaults to ``$KERAS_SEQ_DATA_DIR``, else the bundled file.
        verify: check the file's sha256 (once per process).

    Example:
        >>> train, test = load_words().split(test_fold=0)
        >>> x, y, mask = test.padded()   # (W, T_max, 16, 8), (W, T_max), (W, T_max)
    """
    a = bundled.load_npz(
        FILE,
        ("pixels_packed", "letter", "word_offsets", "word_fold", "words"),
        path=path,
        verify=verify,
    )
    offsets = a["word_offsets"]
    n_letters = len(a["letter"])
    if (
        a["pixels_packed"].shape != (n_letters, IMAGE_SHAPE[0])
        or offsets[0] != 0
        or offsets[-1] != n_letters
        or np.any(np.diff(offsets) <= 0)
        or len(a["word_fold"]) != len(offsets) - 1
        or len(a["words"]) != len(offsets) - 1
    ):
        raise bundled.DatasetFileError(f"{FILE}: arrays are inconsistent with each other")
    pixels = np.unpackbits(a["pixels_packed"][..., None], axis=-1)  # (N, 16, 8)
    images = tuple(np.split(pixels, offsets[1:-1]))
    labels = tuple(np.split(a["letter"], offsets[1:-1]))
    return Words(images, labels, a["word_fold"].astype(np.int64), a["words"])


def pad_words(images, labels=None, maxlen=None, dtype="float32"):
    """Pad variable-length words into one batch.

    Args:
        images: sequence of arrays (T_i, 16, 8).
        labels: optional sequence of arrays (T_i,).
        maxlen: padded length; defaults to the longest word. A longer word
            raises ``ValueError`` rather than being cut silently.
        dtype: dtype of the returned images.

    Returns:
        ``(x, y, mask)`` where ``x`` is (W, maxlen, 16, 8, 1) zero-padded,
        ``y`` is (W, maxlen) int32 labels (0 at padding; ``None`` when no
        labels were given) and ``mask`` is (W, maxlen) bool, True on letters.
        ``mask.sum(axis=1)`` gives the lengths.
    """
    if len(images) == 0:
        raise ValueError("pad_words needs at least one word, got none")
    lengths = [len(w) for w in images]
    if min(lengths) == 0:
        raise ValueError("pad_words got an empty word (0 letters)")
    if labels is not None and [len(y) for y in labels] != lengths:
        raise ValueError("labels and images disagree on word lengths")
    longest = max(lengths)
    if maxlen is None:
        maxlen = longest
    elif longest > maxlen:
        raise ValueError(f"a word has {longest} letters, more than maxlen={maxlen}")
    x = np.zeros((len(images), maxlen) + IMAGE_SHAPE + (1,), dtype=dtype)
    y = np.zeros((len(images), maxlen), dtype=np.int32)
    mask = np.zeros((len(images), maxlen), dtype=bool)
    for i, word in enumerate(images):
        word = np.asarray(word)
        if word.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"word {i} has letter images of shape {word.shape[1:]}, expected {IMAGE_SHAPE}")
        x[i, : len(word), ..., 0] = word
        mask[i, : len(word)] = True
        if labels is not None:
            y[i, : len(word)] = labels[i]
    return x, (y if labels is not None else None), mask


def decode(labels, mask=None):
    """Turn letter labels (T,) into a string, keeping only masked-in steps."""
    labels = np.asarray(labels)
    if mask is not None:
        labels = labels[np.asarray(mask, dtype=bool)]
    return "".join(LETTERS[int(i)] for i in labels)
