"""The LSTM cell (Hochreiter & Schmidhuber, 1997) with explicit, named gates."""

import keras
from keras import ops

from keras_seq import arguments
from keras_seq.layers import recurrent_math
from keras_seq.layers.activation_gradients import sigmoid_gradient, tanh_gradient
from keras_seq.layers.recurrent_cell import RecurrentCell


@keras.saving.register_keras_serializable(package="keras_seq")
class LSTMCell(RecurrentCell):
    """One step of a long short-term memory cell, gates by name.

    The equations of Hochreiter & Schmidhuber (1997) with the forget gate of
    Gers et al. (2000) (sigma = ``recurrent_activation``, theta =
    ``activation``)::

        I_t = sigma(W_ix x_t + W_ih h_{t-1} + b_i)          input gate
        F_t = sigma(W_fx x_t + W_fh h_{t-1} + b_f)          forget gate
        O_t = sigma(W_ox x_t + W_oh h_{t-1} + b_o)          output gate
        C_t = F_t * C_{t-1} + I_t * theta(W x_t + W_h h_{t-1} + b_c)
        h_t = O_t * tanh(C_t)     (output_activation="tanh", the standard LSTM)
        h_t = O_t * C_t           (output_activation=None, no output squashing)

    The four ``W_?x`` are the column blocks of ``kernel`` (input_dim, 4 units),
    the four ``W_?h`` of ``recurrent_kernel`` (units, 4 units), in Keras's gate
    order i, f, c, o, so ``set_weights`` moves weights between this cell and
    ``keras.layers.LSTMCell``. One step computes all four pre-activations with
    one product ``x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` and then
    splits it into the named gates.

    Args:
        units: positive integer, size of ``h_t`` and ``C_t``.
        activation: ``theta`` of the candidate state; default ``"tanh"``.
        recurrent_activation: ``sigma`` of the gates; default ``"sigmoid"``.
        output_activation: applied to ``C_t`` before the output gate;
            ``"tanh"`` (default, standard LSTM and Keras's with its default
            ``activation``) or ``None`` (``h_t = C_t * O_t``, the variant
            without output squashing taught in course notes).
        use_bias: whether to add the biases ``b_i, b_f, b_c, b_o``.
        unit_forget_bias: start ``b_f`` at 1 (Jozefowicz et al., 2015), as Keras.
        kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as Keras.
        dropout: fraction of input features dropped (one mask per sequence;
            one per gate when ``recurrent_dropout`` > 0, as Keras).
        recurrent_dropout: fraction of ``h_{t-1}`` dropped, one mask per gate.
        seed: seed for the dropout masks.
        implementation: 1 or 2, as Keras's: with 1 (forced when
            ``recurrent_dropout`` > 0) the inputs get one dropout mask per gate;
            with 2 (default) one mask for all gates. The step always computes
            one fused product for the four gates here; the two give the same
            results without dropout.

    Call arguments:
        inputs: (batch, input_dim) input ``x_t``.
        states: ``[h_{t-1}, C_{t-1}]``, each (batch, units).
        training: whether dropout applies.

    Example:
        >>> cell = LSTMCell(8, output_activation=None)   # h_t = O_t * C_t
        >>> keras_seq.layers.Recurrent(cell)(np.zeros((2, 5, 3), "float32")).shape
        TensorShape([2, 8])
    """

    gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        output_activation="tanh",
        unit_forget_bias=True,
        implementation=2,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.output_activation = None if output_activation is None else keras.activations.get(output_activation)
        self.unit_forget_bias = arguments.boolean(unit_forget_bias, "unit_forget_bias")
        self.implementation = arguments.integer(implementation, "implementation", 1, 2)
        if self.recurrent_dropout > 0.0:
            self.implementation = 1  # as Keras's LSTMCell
        if self.implementation == 1:
            # Keras's LSTMCell then draws one dropout mask per gate.
            self.dropout_mask_count = 4
        self.state_size = [self.units, self.units]

    def initial_bias(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        u = self.units
        return ops.concatenate(
            [
                self.bias_initializer((u,), dtype=dtype),  # b_i
                ops.ones((u,), dtype=dtype),  # b_f
                self.bias_initializer((2 * u,), dtype=dtype),  # b_c, b_o
            ]
        )

    def activate(self, z, states):
        """The gates from the pre-activations ``z = x_t W + h_{t-1} W_h + b``
        (batch, 4 units, blocks i, f, c, o) and ``C_{t-1} = states[1]``.

        Returns ``(h_t, [h_t, C_t])``.
        """
        h, c, _ = self.gates_and_state(z, states[1])
        return h, [h, c]

    def gates_and_state(self, z, c_prev):
        """``(h_t, C_t, [I_t, F_t, G_t, O_t, s(C_t)])`` with ``G_t`` the
        candidate ``theta(W x_t + W_h h_{t-1} + b_c)`` and ``s(C_t)`` what
        multiplies the output gate (``tanh(C_t)``, or ``C_t`` without output
        squashing); the arithmetic of :mod:`keras_seq.layers.recurrent_math`."""
        input_gate, forget_gate, candidate, output_gate = recurrent_math.lstm_gates(
            z, self.recurrent_activation, self.activation
        )
        h, c, squashed = recurrent_math.lstm_state(
            input_gate, forget_gate, candidate, output_gate, c_prev, self.output_activation
        )
        return h, c, [input_gate, forget_gate, candidate, output_gate, squashed]

    def has_closed_form_gradient(self):
        """Whether sigma is the sigmoid, theta and the output activation tanh
        (or none): then :meth:`activate_gradient` needs only the saved gates."""
        return (
            self.recurrent_activation is keras.activations.sigmoid
            and self.activation is keras.activations.tanh
            and self.output_activation in (None, keras.activations.tanh)
        )

    def activate_saving(self, z, states):
        """:meth:`activate`, saving for :meth:`activate_gradient` the factors
        that turn ``dL/dC_t`` and ``dL/dh_t`` into ``dL/dz`` (``z`` itself
        when sigma, theta are others than sigmoid, tanh)::

            K   = [G_t I_t (1 - I_t),  C_{t-1} F_t (1 - F_t),
                   I_t (1 - G_t^2),    s(C_t) O_t (1 - O_t)]     blocks i, f, c, o
            K_h = O_t s'(C_t)          (O_t (1 - tanh^2 C_t), or O_t)

        and ``F_t``. They depend on this step only, so the forward loop
        computes them beside the chain ``h_{t-1} -> h_t``, and the backward
        step's chain is three elementwise operations and a concatenation
        before ``dL/dz W_h^T``.
        """
        if not self.has_closed_form_gradient():
            return super().activate_saving(z, states)
        h, c, gates = self.gates_and_state(z, states[1])
        input_gate, forget_gate, candidate, output_gate, squashed = gates
        factors = ops.concatenate(
            [
                sigmoid_gradient(input_gate, candidate),
                sigmoid_gradient(forget_gate, states[1]),
                tanh_gradient(candidate, input_gate),
                sigmoid_gradient(output_gate, squashed),
            ],
            axis=-1,
        )
        if self.output_activation is None:
            state_factor = output_gate
        else:
            state_factor = tanh_gradient(squashed, output_gate)
        return h, [h, c], [factors, state_factor, forget_gate]

    def activate_gradient(self, saved, d_output, d_new_states):
        """One backward step from the saved factors (see
        :meth:`activate_saving`), with ``dh = dL/dh_t``, ``dC = dL/dC_t``::

            dC          = dC + dh * K_h
            dL/dz       = [dC, dC, dC, dh] * K     blocks i, f, c, o
            dL/dC_{t-1} = dC * F_t

        ``h_{t-1}`` enters only through ``z``, so its gradient here is None.
        """
        if not self.has_closed_form_gradient():
            return super().activate_gradient(saved, d_output, d_new_states)
        factors, state_factor, forget_gate = saved
        d_h = d_new_states[0] if d_output is None else d_output + d_new_states[0]
        d_c = d_new_states[1] + d_h * state_factor
        d_z = ops.concatenate([d_c, d_c, d_c, d_h], axis=-1) * factors
        return d_z, [None, d_c * forget_gate]

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "output_activation": (
                None if self.output_activation is None else keras.activations.serialize(self.output_activation)
            ),
            "unit_forget_bias": self.unit_forget_bias,
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}
