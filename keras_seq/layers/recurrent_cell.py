"""What our recurrent cells share: weights named as Keras's, dropout, the split
of one step into an input projection and a recurrent step, and the gradient
of the step's elementwise part for the hand-written BPTT.

A cell computes ``h_t = f(x_t W + h_{t-1} W_h + b)`` (with gates for the LSTM):
:meth:`RecurrentCell.project_inputs` is ``x_t W + b``,
:meth:`RecurrentCell.recurrent_step` adds ``h_{t-1} W_h`` and applies
:meth:`RecurrentCell.activate`. Calling the cell on one step
(``cell(x_t, states)``, what ``keras.layers.RNN`` does) runs both halves, so
the cells also work inside Keras's own RNN layer.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_seq import arguments
from keras_seq.layers.dropout_rnn_cell import DropoutRNNCell
from keras_seq.layers.keras_backend import require_tensorflow_backend
from keras_seq.layers.weight_options import set_weight_options, weight_options_config


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base of :class:`ElmanCell` and :class:`LSTMCell`.

    Subclasses set ``gates`` (how many ``units``-wide blocks the kernels
    hold: 1 for Elman, 4 for LSTM) and implement :meth:`activate`, the
    elementwise part of a step after the one product
    ``z = x_t W + b + h_{t-1} W_h``.

    Weights, exactly as Keras's ``SimpleRNNCell``/``LSTMCell``: ``kernel``
    (input_dim, gates * units), ``recurrent_kernel`` (units, gates * units),
    ``bias`` (gates * units) when ``use_bias``.
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        require_tensorflow_backend(type(self).__name__)
        super().__init__(**kwargs)
        self.units = arguments.positive_int(units, "units")
        arguments.weight_count([(self.units, self.gates * self.units)],
                               f"{type(self).__name__}(units={self.units})'s recurrent kernel")
        self.activation = keras.activations.get(activation)
        self.use_bias = arguments.boolean(use_bias, "use_bias")
        set_weight_options(self, kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                           recurrent=(recurrent_initializer, recurrent_regularizer, recurrent_constraint),
                           bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.dropout = arguments.fraction(dropout, "dropout")
        self.recurrent_dropout = arguments.fraction(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature size (last axis), got input shape {tuple(input_shape)}"
            )
        width = self.gates * self.units
        arguments.weight_count([(input_dim, width), (self.units, width), (width,)],
                               f"{type(self).__name__}(units={self.units}) on {input_dim} input features")
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(width,),
                name="bias",
                initializer=self.initial_bias,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None

    def initial_bias(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype=dtype)

    # --- dropout: one mask per sequence, the same at every step (as Keras) ---

    def dropped_inputs(self, inputs, training, time_major=False):
        """Inputs after dropout: a tensor, or one tensor per gate when the cell
        holds one mask per gate (the LSTM with recurrent dropout, as Keras)."""
        if not (training and self.dropout > 0.0):
            return inputs
        sequence = len(inputs.shape) == 3
        if sequence:
            step_input = inputs[0] if time_major else inputs[:, 0, :]
        mask = self.get_dropout_mask(step_input if sequence else inputs)
        masks = mask if isinstance(mask, (list, tuple)) else [mask]
        if sequence and not time_major:  # (batch, d) mask over (batch, time, d)
            masks = [ops.expand_dims(m, 1) for m in masks]
        dropped = [inputs * m for m in masks]
        return dropped if isinstance(mask, (list, tuple)) else dropped[0]

    def dropped_state(self, h_prev, training):
        if not (training and self.recurrent_dropout > 0.0):
            return h_prev
        mask = self.get_recurrent_dropout_mask(h_prev)
        if isinstance(mask, (list, tuple)):
            return [h_prev * m for m in mask]
        return h_prev * mask

    # --- the two halves of a step ---

    def project_inputs(self, inputs, training=False):
        """``x_t W + b`` for a step (batch, input_dim); last axis gates * units."""
        dropped = self.dropped_inputs(inputs, training)
        if isinstance(dropped, list):  # one dropout mask per gate
            kernels = ops.split(self.kernel, self.gates, axis=1)
            projected = ops.concatenate([ops.matmul(x, k) for x, k in zip(dropped, kernels)], axis=-1)
        else:
            projected = ops.matmul(dropped, self.kernel)
        if self.bias is not None:
            projected = projected + self.bias
        return projected

    def recurrent_step(self, projected_inputs, states, training=False):
        """One step from the projected input: returns ``(output, new_states)``.

        ``z = projected_inputs + h_{t-1} @ recurrent_kernel`` (all gates in one
        product), then :meth:`activate`.
        """
        h_dropped = self.dropped_state(states[0], training)
        if isinstance(h_dropped, list):  # one recurrent dropout mask per gate
            kernels = ops.split(self.recurrent_kernel, self.gates, axis=1)
            recurrent = ops.concatenate([ops.matmul(h, k) for h, k in zip(h_dropped, kernels)], axis=-1)
        else:
            recurrent = ops.matmul(h_dropped, self.recurrent_kernel)
        return self.activate(projected_inputs + recurrent, states)

    def activate(self, z, states):
        """The elementwise rest of a step, from the pre-activations ``z``
        (batch, gates * units) and the previous states: ``(output, new_states)``."""
        raise NotImplementedError

    # --- the elementwise part's gradient, for the hand-written BPTT ---

    def activate_saving(self, z, states):
        """:meth:`activate`, also returning what :meth:`activate_gradient`
        needs from the forward pass: ``(output, new_states, saved)``.

        Here ``saved = [z, *states]``: the gradient recomputes the step. Cells
        whose activations have closed-form derivatives save less.
        """
        output, new_states = self.activate(z, states)
        return output, new_states, [z, *states]

    def activate_gradient(self, saved, d_output, d_new_states):
        """One backward step of :meth:`activate`: from ``dL/d output``
        (``None`` for zero) and ``dL/d new_states`` to ``(dL/dz, dL/d states)``
        (``None`` for zero).

        Here by automatic differentiation of :meth:`activate` at ``saved``.
        """
        z, *states = saved
        if d_output is None:
            d_output = tf.zeros_like(d_new_states[0])
        with tf.GradientTape() as tape:
            tape.watch([z] + states)
            output, new_states = self.activate(z, states)
        d_z, *d_states = tape.gradient(
            [output] + new_states,
            [z] + states,
            output_gradients=[d_output] + d_new_states,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        return d_z, d_states

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        output, new_states = self.recurrent_step(self.project_inputs(inputs, training), states, training)
        if not nested and len(new_states) == 1:
            return output, new_states[0]
        return output, new_states

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_options_config(self, ("kernel", "recurrent", "bias")),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
