"""Deep RNNs: L recurrent layers stacked, each reading the sequence below it."""

import numbers

import keras

from keras_seq.layers.bidirectional import Bidirectional
from keras_seq.layers.elman import Elman
from keras_seq.layers.lstm import LSTM

LAYERS = {"lstm": LSTM, "elman": Elman}


def stacked(
    units,
    layer="lstm",
    return_sequences=False,
    bidirectional=False,
    merge_mode="concat",
    name=None,
    **layer_kwargs,
):
    """A deep RNN: ``len(units)`` recurrent layers, layer l reading layer l-1.

    The lecture's deep RNN::

        h_t^(l) = theta(W^(l) h_t^(l-1) + W_h^(l) h_{t-1}^(l) + b^(l)),  h_t^(0) = x_t
        o_t = theta(W^(L) h_t^(L-1))      (an output layer, e.g. Dense, on top)

    Every layer but the last returns its whole sequence ``h_1^(l) ... h_T^(l)``
    (the input sequence of layer l+1); the last returns what
    ``return_sequences`` asks. Masks pass from layer to layer.

    Args:
        units: list of positive integers, the size of each layer (L = len).
        layer: ``"lstm"`` (:class:`LSTM`) or ``"elman"`` (:class:`Elman`).
        return_sequences: whether the top layer returns all steps or the last.
        bidirectional: wrap every layer in :class:`Bidirectional`.
        merge_mode: the ``Bidirectional`` merge mode, when ``bidirectional``.
        name: name of the returned model.
        **layer_kwargs: passed to every layer (``dropout``, ``activation``, ...).

    Returns:
        A :class:`StackedRecurrent` layer holding the L layers (its
        ``layers``), named ``layer_1`` ... ``layer_L``.

    Example:
        >>> deep = stacked([64, 64, 32], layer="lstm")
        >>> deep(np.zeros((2, 10, 8), "float32")).shape
        TensorShape([2, 32])
    """
    if isinstance(units, numbers.Integral) or not isinstance(units, (list, tuple)) or not units:
        raise ValueError(
            f"units must be a non-empty list of layer sizes, one per layer, got {units!r}"
        )
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {sorted(LAYERS)}, got {layer!r}")
    for key in ("return_sequences", "return_state", "go_backwards"):
        if key in layer_kwargs:
            raise ValueError(
                f"stacked sets {key} itself; got {key}={layer_kwargs[key]!r} "
                "(build the layers one by one for other wiring)"
            )
    depth = len(units)
    rnn_layers = []
    for level, size in enumerate(units, start=1):
        last = level == depth
        recurrent = LAYERS[layer](
            size,
            return_sequences=return_sequences if last else True,
            name=f"layer_{level}" if not bidirectional else f"{layer}_{level}",
            **layer_kwargs,
        )
        if bidirectional:
            recurrent = Bidirectional(recurrent, merge_mode=merge_mode, name=f"layer_{level}")
        rnn_layers.append(recurrent)
    return StackedRecurrent(rnn_layers, name=name or f"stacked_{layer}")


@keras.saving.register_keras_serializable(package="keras_seq")
class StackedRecurrent(keras.layers.Layer):
    """Recurrent layers applied in order, passing the mask along: a deep RNN.

    Layer l's input is layer l-1's output sequence ``h_1^(l-1) ... h_T^(l-1)``
    (``h^(0) = x``); see :func:`stacked`, which builds one.

    Args:
        layers: list of layers; all but the last must return sequences.

    Call arguments:
        sequences: (batch, T, features); mask: (batch, T) booleans;
        training: whether dropout applies.
    """

    def __init__(self, layers, **kwargs):
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError(f"layers must be a non-empty list of layers, got {layers!r}")
        for level, layer in enumerate(layers[:-1], start=1):
            if not getattr(layer, "return_sequences", False):
                raise ValueError(
                    f"layer {level} of {len(layers)} ({layer.name}) must return "
                    "sequences to feed the layer above it"
                )
        super().__init__(**kwargs)
        self.layers = list(layers)
        self.supports_masking = True

    def build(self, sequences_shape):
        shape = sequences_shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, sequences, mask=None, training=False):
        for layer in self.layers:
            outputs = layer(sequences, mask=mask, training=training)
            mask = layer.compute_mask(sequences, mask)
            sequences = outputs
        return sequences

    def compute_output_shape(self, sequences_shape):
        for layer in self.layers:
            sequences_shape = layer.compute_output_shape(sequences_shape)
        return sequences_shape

    def compute_mask(self, sequences, mask=None):
        return mask if getattr(self.layers[-1], "return_sequences", False) else None

    def get_config(self):
        config = {"layers": [keras.saving.serialize_keras_object(layer) for layer in self.layers]}
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = [keras.saving.deserialize_keras_object(c) for c in config["layers"]]
        return cls(**config)
