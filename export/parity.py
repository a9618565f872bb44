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
    """

    max_abs_diff: float
    argmax_agreement: float
    compared: int

    def __str__(self):
        return (
            f"max |keras - tflite| = {self.max_abs_diff:.3g}, argmax agreement "
            f"{100 * self.argmax_agreement:.2f}% over {self.compared}"
        )


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
    diff = max(float(np.max(np.abs(e - a))) for e, a in pairs)
    agree = np.concatenate([np.ravel(np.argmax(e, -1) == np.argmax(a, -1)) for e, a in pairs])
    return Parity(diff, float(agree.mean()), int(agree.size))
