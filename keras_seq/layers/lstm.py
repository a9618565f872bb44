"""The LSTM as a sequence layer: an :class:`LSTMCell` run over time."""

import keras
import numpy as np

from keras_seq import arguments
from keras_seq.layers.cell_arguments import LSTM_CELL_ARGUMENTS
from keras_seq.layers.cell_sequence import CellSequence
from keras_seq.layers.lstm_cell import LSTMCell


@keras.saving.register_keras_serializable(package="keras_seq")
class LSTM(CellSequence):
    """Long short-term memory layer: an :class:`LSTMCell` over time.

    Per step (see :class:`LSTMCell`)::

        I_t, F_t, O_t = sigma(W_?x x_t + W_?h h_{t-1} + b_?)
        C_t = F_t * C_{t-1} + I_t * theta(W x_t + W_h h_{t-1} + b_c)
        h_t = O_t * tanh(C_t)      or, output_activation=None, h_t = O_t * C_t

    The drop-in counterpart of ``keras.layers.LSTM``: same arguments, same
    weights (``cell.kernel`` (input_dim, 4u), ``cell.recurrent_kernel``
    (u, 4u), ``cell.bias`` (4u), gates i, f, c, o), same results. States are
    ``[h_t, C_t]``.

    Speed: one fused recurrent product per step for the four gates, the
    input products ``x_t W`` computed off the step-to-step chain, and a
    hand-written BPTT for training (see :class:`Recurrent`).
    ``benchmarks/rnn_speed.py`` measures it against ``keras.layers.LSTM``.

    Args:
        units: positive integer, size of ``h_t`` and ``C_t``.
        activation, recurrent_activation, output_activation, use_bias,
        unit_forget_bias, kernel_initializer, recurrent_initializer,
        bias_initializer, kernel_regularizer, recurrent_regularizer,
        bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout, seed, implementation:
            the cell's, see :class:`LSTMCell`.
        use_cudnn: ``"auto"`` (default), ``True`` or ``False``, accepted as
            Keras's. This layer always runs its own loop and hand-written
            BPTT, never cuDNN, so ``"auto"`` and ``False`` both run it, and
            ``True`` raises at call time the ``ValueError`` Keras's LSTM raises
            when cuDNN cannot run (there, where no GPU exists).
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: the loop's, see :class:`Recurrent`.

    Call arguments:
        sequences: (batch, T, features) floats; initial_state: ``[h_0, C_0]``;
        mask: (batch, T) booleans; training: whether dropout applies.

    Example:
        >>> out, h, c = LSTM(8, return_state=True)(np.zeros((2, 5, 3), "float32"))
        >>> out.shape, c.shape
        (TensorShape([2, 8]), TensorShape([2, 8]))
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"
    cell_arguments = LSTM_CELL_ARGUMENTS

    def __init__(self, units, *, use_cudnn="auto", **kwargs):
        if not (isinstance(use_cudnn, str) and use_cudnn == "auto"):
            if not isinstance(use_cudnn, (bool, np.bool_)):
                arguments.refuse("use_cudnn", use_cudnn, "'auto', True or False")
            use_cudnn = bool(use_cudnn)
        super().__init__(units, **kwargs)
        self.use_cudnn = use_cudnn

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.use_cudnn is True:
            raise ValueError(
                "use_cudnn=True was specified, but cuDNN is not supported for this layer "
                "configuration with this backend. Pass use_cudnn='auto' to fallback to a "
                "non-cuDNN implementation. (keras_seq's LSTM always runs its own loop.)"
            )
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
