"""The Elman (simple recurrent) cell: one step of the RNN of Elman (1990)."""

import keras

from keras_seq.layers import recurrent_math
from keras_seq.layers.activation_gradients import tanh_gradient
from keras_seq.layers.recurrent_cell import RecurrentCell


@keras.saving.register_keras_serializable(package="keras_seq")
class ElmanCell(RecurrentCell):
    """One step of an Elman RNN (Elman 1990), the basic recurrence.

    ``h_t = theta(W^(1) x_t + W_h h_{t-1} + b)``, ``h_0 = 0``.

    Written with a bias unit, ``h_t = [1, theta(W^(1) x_t + W_h h_{t-1})]^T``: its
    leading 1 multiplies a column of the next weight matrix, which is the bias
    ``b`` here. In row-vector form (Keras's layout) the step is
    ``h_t = theta(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``, with the
    same weights, initializers and dropout as ``keras.layers.SimpleRNNCell``, so
    ``set_weights`` moves weights between the two.

    Args:
        units: positive integer, size of ``h_t``.
        activation: ``theta``; default ``"tanh"``.
        use_bias: whether to add ``b``.
        kernel_initializer, recurrent_initializer, bias_initializer: for
            ``W^(1)`` (``kernel``), ``W_h`` (``recurrent_kernel``) and ``b``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as Keras.
        dropout: fraction of input features dropped (one mask per sequence).
        recurrent_dropout: fraction of ``h_{t-1}`` dropped (one mask per sequence).
        seed: seed for the dropout masks.

    Call arguments:
        inputs: (batch, input_dim) input ``x_t``.
        states: ``[h_{t-1}]``, each (batch, units).
        training: whether dropout applies.

    Example:
        >>> cell = ElmanCell(8)
        >>> rnn = keras.layers.RNN(cell)   # or keras_seq.layers.Recurrent(cell)
        >>> rnn(np.zeros((2, 5, 3), "float32")).shape
        TensorShape([2, 8])
    """

    gates = 1

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = self.units

    def activate(self, z, states):
        """``h_t = theta(z)`` with ``z = W^(1) x_t + W_h h_{t-1} + b``; returns ``(h_t, [h_t])``."""
        h = recurrent_math.elman_step(z, self.activation)
        return h, [h]

    def activate_saving(self, z, states):
        """:meth:`activate` saving ``h_t`` for :meth:`activate_gradient` when
        theta is tanh (``z`` otherwise)."""
        if self.activation is not keras.activations.tanh:
            return super().activate_saving(z, states)
        h = recurrent_math.elman_step(z, self.activation)
        return h, [h], [h]

    def activate_gradient(self, saved, d_output, d_new_states):
        """``dL/dz = (dL/d output + dL/dh_t) * (1 - h_t^2)`` for tanh."""
        if self.activation is not keras.activations.tanh:
            return super().activate_gradient(saved, d_output, d_new_states)
        (h,) = saved
        d_h = d_new_states[0] if d_output is None else d_output + d_new_states[0]
        return tanh_gradient(h, d_h), [None]
