"""The Elman RNN as a sequence layer: an :class:`ElmanCell` run over time."""

import keras

from keras_seq.layers.cell_arguments import ELMAN_CELL_ARGUMENTS
from keras_seq.layers.cell_sequence import CellSequence
from keras_seq.layers.elman_cell import ElmanCell


@keras.saving.register_keras_serializable(package="keras_seq")
class Elman(CellSequence):
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

    cell_class = ElmanCell
    cell_name = "elman_cell"
    cell_arguments = ELMAN_CELL_ARGUMENTS
