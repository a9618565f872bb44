"""Loaders for the datasets bundled with keras-seq (nothing is downloaded)."""

from keras_seq.datasets import mnist, ocr_words
from keras_seq.datasets.bundled import DATA_DIR_ENV, DatasetFileError

__all__ = ["mnist", "ocr_words", "DatasetFileError", "DATA_DIR_ENV"]
