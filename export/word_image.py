"""Read a picture of a word with an exported word reader (``.tflite``).

The picture (any PNG or other image: dark ink on light paper or the
reverse, any size, any margins) is made grayscale, g = (0.299 R + 0.587 G +
0.114 B) / 255 (Pillow's ``L``; transparent pixels are laid on white first),
then normalised by :func:`keras_seq.datasets.word_strips.normalise_strip`:
polarity from the border's median, contrast stretch, crop to the ink,
the writing's core band on the middle 12 of 32 rows, 2 blank columns each side. The strip gets
its column mask (:func:`keras_seq.datasets.word_strips.model_input`) and is
padded to the file's fixed width (a file whose recurrence is a loop, which
reads the mask) or run unpadded at its own width (a dynamic-width file, such
as the int8 export, whose fused LSTM ops have no mask); the per-step
distributions are decoded by CTC over the strip's own floor(w / 2) steps.
"""

import numpy as np

from keras_seq.datasets import word_strips
from keras_seq.export.image_file import open_image
from keras_seq.models import ctc

MAX_PIXELS = 50_000_000


def load_word_gray(path):
    """Read an image file as grayscale float32 (H, W) in [0, 1]."""
    from PIL import Image

    with open_image(path, MAX_PIXELS) as image:
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image.convert("RGBA"))
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return gray


def fixed_width(edge):
    """The file's fixed input width, or ``None`` when its width is dynamic.

    Raises ``ValueError`` for a fixed-width file whose LSTMs are TFLite's
    fused op: that op has no mask, so the backward LSTM would run over the
    padding before the word and the reading would depend on the padding.
    """
    width = edge.input_shape[2]
    if width > 0 and getattr(edge, "stateful_ops", 0):
        raise ValueError(
            f"this word-reader file has a fixed width ({width} columns) and fused LSTM ops, which "
            "ignore the column mask; export it with the recurrence as a loop (keras-seq export "
            "--recurrent loop, the default), or with a dynamic width for the fused op"
        )
    return width if width > 0 else None


def word_strip(gray, edge):
    """Normalise a grayscale picture for ``edge``; a word too wide for the file raises ``ValueError``."""
    width = fixed_width(edge)
    return word_strips.normalise_strip(gray, max_width=width or word_strips.MAX_WIDTH)


def symbol_probabilities(edge, strips):
    """Run ``edge`` on strips: a list of (floor(w_i / 2), 27) per-step distributions."""
    width = fixed_width(edge)
    outputs = []
    for strip in strips:
        x = word_strips.model_input([strip], width or strip.shape[1])
        outputs.append(np.asarray(edge.predict(x))[0, : strip.shape[1] // 2])
    return outputs


def read_word(edge, strip, method="beam"):
    """Read one normalised strip with ``edge``: a :class:`keras_seq.models.ctc.Reading`."""
    probabilities = symbol_probabilities(edge, [strip])[0]
    return ctc.decode_ctc(probabilities[None], method=method)[0]


def format_reading(reading):
    """The two lines ``keras-seq infer`` prints for a reading."""
    confidences = " ".join(f"{ch}={p:.2f}" for ch, p in zip(reading.text, reading.confidences))
    return f"text: {reading.text}\nconfidences: {confidences or '(no letters)'}"


def infer(edge, path, method="beam"):
    """``keras-seq infer WORD_READER.tflite word.png``: print the text and per-character confidences."""
    reading = read_word(edge, word_strip(load_word_gray(path), edge), method)
    print(format_reading(reading))
    return 0
