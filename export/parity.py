"""Keras-vs-TFLite parity: does the exported model compute what the Keras model computes?"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Parity:
    """Agreement between a Keras model and its export on the same inputs.

    Attributes:
        max_abs_diff: max |y_keras - y_tflite| over all compared outputs.
        argmax_agreement: fraction of compared positions (samples, or letters
            for sequence outputs) whose argmax class agrees.
        compared: number of positions compared.
        same_readings: for a word reader (:func:`strip_parity`), the fraction
            of strips whose greedy CTC reading is the same; else ``None``.
        strips: how many strips that fraction is over (0 when ``None``).
    """

    max_abs_diff: float
    argmax_agreement: float
    compared: int
    same_readings: float = None
    strips: int = 0

    def __str__(self):
        text = (
            f"max |keras - tflite| = {self.max_abs_diff:.3g}, argmax agreement "
            f"{100 * self.argmax_agreement:.2f}% over {self.compared}"
        )
        if self.same_readings is not None:
            text += f", same greedy reading on {100 * self.same_readings:.2f}% of {self.strips} strips"
        return text


def keras_outputs(keras_model, x, batch_size=256):
    """``keras_model(x)`` in inference mode, batch by batch, as one array.

    A plain call rather than ``predict``: no per-model tracing, so a
    one-off comparison costs one forward pass.
    """
    parts = [
        np.asarray(keras_model(x[i:i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(parts)


def parity(keras_model, tflite, x, lengths=None):
    """Compare ``keras_model(x)`` with the TFLite model on the same ``x``.

    For padded sequence batches, ``lengths`` (one per sample) gives each
    sequence's true length: Keras runs the padded batch (masking the
    padding), TFLite runs each sequence unpadded at its own length, and only
    the real steps are compared.

    Args:
        keras_model: the ``keras.Model``.
        tflite: an :class:`keras_seq.export.EdgeModel`, or a ``.tflite`` path or bytes.
        x: inputs (N, ...).
        lengths: optional true lengths (N,) along axis 1 of ``x``.

    Returns:
        A :class:`Parity`.
    """
    from keras_seq.export.edge_model import EdgeModel

    edge = tflite if isinstance(tflite, EdgeModel) else EdgeModel(tflite)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...), got shape {x.shape}")
    expected = keras_outputs(keras_model, x)
    if lengths is None:
        actual = np.asarray(edge.predict(x))
        pairs = [(expected, actual)]
    else:
        lengths = np.asarray(lengths)
        if lengths.shape != (len(x),) or lengths.min() < 1 or lengths.max() > x.shape[1]:
            raise ValueError(f"lengths must be (N,) = ({len(x)},) values in 1-{x.shape[1]}, got {lengths!r}")
        actual = edge.predict([x[i, :n] for i, n in enumerate(lengths)])
        pairs = [(expected[i, :n], actual[i]) for i, n in enumerate(lengths)]
    return _compare(pairs)


def strip_parity(keras_model, tflite, strips):
    """Compare a word reader with its export on word strips, step by step.

    Keras runs the strips as one padded batch (at its input width, or the
    widest strip's when that is open; its column mask hides the padding);
    the file runs each strip as :mod:`keras_seq.export.word_image` does (padded
    to its fixed width, or at the strip's own width when the width is
    dynamic). Only each strip's own floor(w / 2) steps are compared, and
    the greedy CTC readings of the two.

    Args:
        keras_model: the word reader, input (batch, 32, width, 2).
        tflite: its export (an :class:`keras_seq.export.EdgeModel`).
        strips: a non-empty list of normalised strips (32, w_i), w_i even.

    Returns:
        A :class:`Parity` over the compared steps.
    """
    from keras_seq.datasets import word_strips
    from keras_seq.export import word_image

    if len(strips) == 0:
        raise ValueError("strips must hold at least one strip, got none")
    x = word_strips.model_input(strips, keras_model.inputs[0].shape[2])
    expected = keras_outputs(keras_model, x)
    actual = word_image.symbol_probabilities(tflite, strips)
    pairs = [(expected[i, :len(a)], a) for i, a in enumerate(actual)]
    same = [_greedy_text(e) == _greedy_text(a) for e, a in pairs]
    return dataclasses.replace(_compare(pairs), same_readings=float(np.mean(same)), strips=len(same))


def _greedy_text(probabilities):
    from keras_seq.models import ctc

    return ctc.decode_ctc(probabilities[None], method="greedy")[0].text


def _compare(pairs):
    """A :class:`Parity` over ``(keras, tflite)`` output pairs of equal shapes."""
    diff = max(float(np.max(np.abs(e - a))) for e, a in pairs)
    agree = np.concatenate([np.ravel(np.argmax(e, -1) == np.argmax(a, -1)) for e, a in pairs])
    return Parity(diff, float(agree.mean()), int(agree.size))
