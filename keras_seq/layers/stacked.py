"""Deep RNNs: L recurrent layers stacked, each reading the sequence below it."""

import numbers

import keras

from keras_seq import arguments
from keras_seq.layers.bidirectional import Bidirectional
from keras_seq.layers.elman import Elman
from keras_seq.layers.lstm import LSTM
from keras_seq.layers.recurrent import Recurrent

LAYERS = {"lstm": LSTM, "elman": Elman}
STACKS = ("layers", "cells")


def stacked(
    units,
    layer="lstm",
    return_sequences=False,
    bidirectional=False,
    merge_mode="concat",
    name=None,
    stack="layers",
    **layer_kwargs,
):
    """A deep RNN: ``len(units)`` recurrent layers, layer l reading layer l-1.

    The deep (stacked) RNN of Graves et al. (2013) and Pascanu et al. (2014)::

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
        name: name of the returned layer.
        stack: ``"layers"`` (default): L sequence layers, each its own loop
            over time (training uses each layer's hand-written BPTT);
            ``"cells"``: one :class:`Recurrent` over the list of the L cells,
            one loop whose step runs the cells in turn, as
            ``keras.layers.RNN([cell_1, ..., cell_L])`` (Keras's "efficient
            stacked RNN"; training differentiates that loop automatically).
            ``"cells"`` is unidirectional only.
        **layer_kwargs: passed to every layer (``dropout``, ``activation``,
            ...); with ``stack="cells"`` the cell arguments go to every cell
            and the others (``stateful``, ``unroll``, ...) to the loop.

    Returns:
        With ``stack="layers"`` a :class:`StackedRecurrent` layer holding the
        L layers (its ``layers``), named ``layer_1`` ... ``layer_L``; with
        ``stack="cells"`` a :class:`Recurrent` whose ``cell`` is a
        ``keras.layers.StackedRNNCells`` of the L cells.

    Example:
        >>> deep = stacked([64, 64, 32], layer="lstm")
        >>> deep(np.zeros((2, 10, 8), "float32")).shape
        TensorShape([2, 32])
    """
    if isinstance(units, numbers.Integral) or not isinstance(units, (list, tuple)) or not units:
        raise ValueError(f"units must be a non-empty list of layer sizes, one per layer, got {units!r}")
    arguments.choice(layer, "layer", sorted(LAYERS))
    arguments.choice(stack, "stack", STACKS)
    return_sequences = arguments.boolean(return_sequences, "return_sequences")
    bidirectional = arguments.boolean(bidirectional, "bidirectional")
    for key in ("return_sequences", "return_state", "go_backwards"):
        if key in layer_kwargs:
            raise ValueError(
                f"stacked sets {key} itself; got {key}={layer_kwargs[key]!r} "
                "(build the layers one by one for other wiring)"
            )
    if stack == "cells":
        if bidirectional:
            arguments.refuse(
                "stack", stack, "'layers' with bidirectional=True (each layer reads both directions of the layer below)"
            )
        return stacked_cells(units, layer, return_sequences, name, layer_kwargs)
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


def stacked_cells(units, layer, return_sequences, name, layer_kwargs):
    """``stacked(..., stack="cells")``: one loop over the L cells."""
    sequence_class = LAYERS[layer]
    cell_kwargs = {k: layer_kwargs.pop(k) for k in sequence_class.cell_arguments if k in layer_kwargs}
    cells = [
        sequence_class.cell_class(
            size, name=f"{sequence_class.cell_name}_{level}", dtype=layer_kwargs.get("dtype"),
            **cell_kwargs,
        )
        for level, size in enumerate(units, start=1)
    ]  # fmt: skip
    return Recurrent(
        cells,
        return_sequences=return_sequences,
        name=name or f"stacked_{layer}_cells",
        **layer_kwargs,
    )


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
                    f"layer {level} of {len(layers)} ({layer.name}) must return sequences to feed the layer above it"
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
