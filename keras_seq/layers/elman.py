"""The Elman RNN as a sequence layer: an :class:`ElmanCell` run over time."""

import keras

from keras_seq.layers.elman_cell import ElmanCell
from keras_seq.layers.recurrent import Recurrent, cell_property

CELL_ARGUMENTS = (
    "activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)


@keras.saving.register_keras_serializable(package="keras_seq")
class Elman(Recurrent):
    """Elman RNN layer: ``h_t = theta(W^(1) x_t + W_h h_{t-1} + b)``, ``h_0 = 0``.

    The drop-in counterpart of ``keras.layers.SimpleRNN``: same arguments, same
    weights (``cell.kernel``, ``cell.recurrent_kernel``, ``cell.bias``), same
    results. See :class:`ElmanCell` for the step and :class:`Recurrent` for the
    loop (``return_sequences``, ``return_state``, ``go_backwards``,
    ``stateful``, ``unroll``, masking, initial state).

    Args:
        units: positive integer, size of ``h_t``.
        activation, use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer, kernel_regularizer, recurrent_regularizer,
        bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout, seed: the cell's, see
            :class:`ElmanCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: the loop's, see :class:`Recurrent`.

    Call arguments:
        sequences: (batch, T, features) floats; initial_state: ``[h_0]``;
        mask: (batch, T) booleans; training: whether dropout applies.

    Example:
        >>> Elman(8, return_sequences=True)(np.zeros((2, 5, 3), "float32")).shape
        TensorShape([2, 5, 8])
    """

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell_kwargs = {k: kwargs.pop(k) for k in CELL_ARGUMENTS if k in kwargs}
        cell = ElmanCell(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="elman_cell",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    units = cell_property("units")
    activation = cell_property("activation")
    use_bias = cell_property("use_bias")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")

    def get_config(self):
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        config["units"] = cell_config["units"]
        config.update({k: cell_config[k] for k in CELL_ARGUMENTS})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
