"""Shared by the export tests: a trained LeNet-5 and its files (once per session), a tiny reader taught two words."""

import keras
import numpy as np
import pytest
from PIL import Image

from keras_seq.export import to_tflite
from keras_seq.export.bundled_inputs import digits
from keras_seq.models import lenet5


@pytest.fixture(scope="session")
def trained_lenet_files():
    """``(model, float32 bytes, int8 bytes, x_test)``: LeNet-5 trained one epoch on 1,000 digits."""
    x, y = digits("train", 1000)
    x_test, _ = digits("test", 300)
    keras.utils.set_random_seed(3)
    model = lenet5("modern")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model, to_tflite(model), to_tflite(model, quantization="int8", representative_data=x[:100]), x_test


@pytest.fixture(scope="session")
def fuzz_tools():
    """``benchmarks/fuzz.py`` as a module: mutations of ``.tflite`` files and the watchdogged runner."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("keras_seq_fuzz_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def data_dependent_files(fuzz_tools):
    """``{name: bytes}``: LeNet-shaped files that run away only on some inputs (``benchmarks/fuzz.py``)."""
    return fuzz_tools.data_dependent_files()


TAUGHT_TEXTS = ("cab", "bead")
SURE = 0.95


@pytest.fixture(scope="module")
def letters():
    """One letter image per character of each of ``TAUGHT_TEXTS``: {text: [(16, 8), ...]}."""
    from keras_seq.datasets import ocr_words, word_strips

    bank = word_strips.letter_bank(ocr_words.load_words().subset(np.arange(300)))
    return {t: [bank[ocr_words.LETTERS.index(c)][0] for c in t] for t in TAUGHT_TEXTS}


@pytest.fixture(scope="module")
def teach_reader(letters, tmp_path_factory):
    """``teach(model_options, learning_rate, steps) -> (model, strips)``: a word reader taught ``TAUGHT_TEXTS``,
    each as its letters side by side (the returned strips) and as the PNG picture ``draw_word_png`` draws."""
    from keras_seq.datasets import word_strips
    from keras_seq.export import word_image
    from keras_seq.models import word_reader
    from keras_seq.training import words

    folder = tmp_path_factory.mktemp("taught")

    def teach(model_options, learning_rate, steps, most_steps=None):
        """Train ``steps`` steps, then on in 50s (up to ``most_steps``, default 4x ``steps``) until the
        reader, in inference mode, reads every taught strip and picture with each character's
        probability >= ``SURE`` (a margin int8 rounding cannot flip): how many steps a seed needs differs
        between CPUs (oneDNN kernels), the result a test relies on does not."""
        keras.utils.set_random_seed(7)
        strips = word_strips.Strips(
            [word_strips.normalise_strip(word_strips.side_by_side(letters[t])) for t in TAUGHT_TEXTS],
            list(TAUGHT_TEXTS))
        pictures = word_strips.Strips(
            [word_strips.normalise_strip(word_image.load_word_gray(draw_word_png(folder / f"{t}.png", letters[t])))
             for t in TAUGHT_TEXTS], list(TAUGHT_TEXTS))
        model = word_reader(**model_options, dropout=0.0)
        step = words.ctc_train_step(model, keras.optimizers.Adam(learning_rate, global_clipnorm=5.0))
        x, labels, label_lengths, step_lengths, _ = next(words.batches(strips + pictures, 2 * len(strips)))
        taught = strips + pictures
        done, most = 0, most_steps or 4 * steps
        while True:
            for _ in range(steps if done == 0 else 50):
                step(x, labels, label_lengths, step_lengths)
            done += steps if done == 0 else 50
            readings = words.read_strips(model, taught)
            read = [r.text for r in readings]
            if read == list(taught.texts) and min(min(r.confidences) for r in readings) >= SURE:
                return model, strips
            if done >= most:
                raise AssertionError(f"the tiny reader still reads {read} for {list(taught.texts)} after {done} steps")

    return teach


def draw_word_png(path, letters, ink_on_paper=True):
    """The letters side by side, 3x larger, with wide margins: ink dark on light or the reverse."""
    from keras_seq.datasets import word_strips

    word = np.kron(word_strips.side_by_side(letters), np.ones((3, 3)))
    page = np.pad(word, ((20, 30), (25, 15)))
    pixels = (255 * (1 - page) if ink_on_paper else 255 * page).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def draw_png():
    """:func:`draw_word_png`, for the tests."""
    return draw_word_png
