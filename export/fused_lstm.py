"""Lower LSTM layers to TFLite's fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` kernel.

The standard LSTM (our ``LSTM`` with ``output_activation="tanh"``, and
``keras.layers.LSTM``, which share the weight layout) computes per step::

    z_t = x_t W + h_{t-1} U + b             W (input_dim, 4u), U (u, 4u), b (4u)
    I_t, F_t, O_t = sigmoid(z_t^i), sigmoid(z_t^f), sigmoid(z_t^o)
    C_t = F_t * C_{t-1} + I_t * tanh(z_t^c)
    h_t = O_t * tanh(C_t)

which is exactly what TFLite's fused sequence-LSTM kernel computes. Keras 3
traces its LSTM as a generic loop, which the converter turns into a ``WHILE``
op. The converter fuses a function only when it is marked the way Keras 2
marked its LSTM: a ``tf.function`` with the attributes
``api_implements="lstm_<unique id>"``, ``time_major`` and ``go_backwards``,
taking ``(inputs, init_h, init_c, kernel, recurrent_kernel, bias)`` with
static shapes for the states and weights (so a fixed batch size), returning
``(last_output, outputs, h, c, runtime)`` of which only the first two are
used. :class:`FusedLSTM` (and :class:`FusedBidirectional`) stand in for an
eligible layer (see :mod:`keras_seq.export.recurrent_lowering`); their call
is such a function, with a plain-TensorFlow body that is the same
computation (it runs if the converter ever declines to fuse).

Layers the kernel does not compute (``h_t = O_t * C_t`` with
``output_activation=None``, other activations, ``return_state``,
``stateful``) are lowered otherwise; :func:`why_not_fusable` says why.

The fused op has no mask input: the lowered model ignores masks, so it must be
run on unpadded sequences (one word at its own length, as
:class:`keras_seq.export.EdgeModel` does for a list of words).
"""

import uuid

import keras
import numpy as np

# tensorflow directly (not keras.ops): the fusion contract is a tf.function
# attribute that only the TFLite converter reads.
import tensorflow as tf

from keras_seq.export.recurrent_loop import LSTM_CELLS, activation_name
from keras_seq.layers import Recurrent, recurrent_math
from keras_seq.layers.bidirectional import merge


def _is_lstm(layer):
    return isinstance(layer, (Recurrent, keras.layers.RNN)) and isinstance(layer.cell, LSTM_CELLS)


def why_not_fusable(layer):
    """Return ``""`` when ``layer`` is a standard LSTM the fused op computes, else why not."""
    if not _is_lstm(layer):
        return f"{type(layer).__name__} has no fused TFLite kernel (standard LSTMs have)"
    checks = {
        "activation": ("tanh", activation_name(layer.activation)),
        "recurrent_activation": ("sigmoid", activation_name(layer.recurrent_activation)),
    }
    if hasattr(layer, "output_activation"):  # ours; Keras's uses ``activation`` for it
        checks["output_activation"] = ("tanh", activation_name(layer.output_activation))
    for name, (wanted, actual) in checks.items():
        if actual != wanted:
            if name == "output_activation" and actual is None:
                return "h_t = O_t * C_t (output_activation=None) has no fused kernel"
            return f"{name}={actual!r}; the fused kernel computes {wanted}"
    if layer.return_state:
        return "return_state=True; the fused kernel's final states are not outputs"
    if layer.stateful:
        return "stateful=True; use EdgeModel.stream() on an unstateful export instead"
    return ""


def _weights(layer):
    cell = layer.cell
    kernel = keras.ops.convert_to_numpy(cell.kernel).astype(np.float32)
    recurrent = keras.ops.convert_to_numpy(cell.recurrent_kernel).astype(np.float32)
    if getattr(cell, "bias", None) is not None:
        bias = keras.ops.convert_to_numpy(cell.bias).astype(np.float32)
    else:
        bias = np.zeros(recurrent.shape[1], np.float32)
    return kernel, recurrent, bias


def _standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias, go_backwards):
    """The LSTM over (batch, T, features) in plain TF: the body the converter replaces."""
    steps = tf.transpose(inputs, [1, 0, 2])
    if go_backwards:
        steps = tf.reverse(steps, [0])
    projected = tf.einsum("tbf,fg->tbg", steps, kernel) + bias

    def step(state, z_x):
        h, c = state
        z = z_x + tf.matmul(h, recurrent_kernel)
        return recurrent_math.lstm_step(z, c, tf.sigmoid, tf.tanh, tf.tanh)

    hs, cs = tf.scan(step, projected, initializer=(init_h, init_c))
    outputs = tf.transpose(hs, [1, 0, 2])
    return outputs[:, -1], outputs, hs[-1], cs[-1], tf.constant(0.0)


def _marked_function(go_backwards):
    """A fresh tf.function carrying the attributes the converter fuses on.

    Fresh per call: a tf.function reuses a more general trace (batch None)
    for a later specific one, and the converter needs the fixed-batch trace.
    """
    attributes = {
        "api_implements": f"lstm_{uuid.uuid4()}",
        "time_major": False,
        "go_backwards": bool(go_backwards),
    }

    def fused(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        return _standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias, go_backwards)

    return tf.function(fused, autograph=False, experimental_attributes=attributes)


class FusedLSTM(keras.layers.Layer):
    """Conversion-time stand-in for a standard LSTM layer; see the module docstring.

    Holds the layer's weights as constants (the converter fuses only when
    they arrive as plain tensors, not variables). Needs a fixed batch size.

    Args:
        layer: a standard LSTM (``why_not_fusable(layer) == ""``).
    """

    def __init__(self, layer, **kwargs):
        super().__init__(name=layer.name, **kwargs)
        self.units = int(layer.units)
        self.return_sequences = bool(layer.return_sequences)
        self.go_backwards = bool(layer.go_backwards)
        self.lstm_weights = _weights(layer)
        self.supports_masking = True  # accepted and dropped: see the module docstring

    def build(self, sequences_shape, initial_state_shape=None):
        self.built = True  # nothing to create: the weights are constants

    def compute_mask(self, sequences, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        if self.return_sequences:
            return tuple(sequences_shape[:2]) + (self.units,)
        return (sequences_shape[0], self.units)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        batch = sequences.shape[0]
        if batch is None:
            raise ValueError(
                f"{self.name}: the fused LSTM needs a fixed batch size; "
                "to_tflite(batch_size=...) sets one"
            )
        if initial_state is None:
            init_h = init_c = tf.zeros((batch, self.units), sequences.dtype)
        else:
            init_h, init_c = initial_state
        kernel, recurrent, bias = (tf.constant(w) for w in self.lstm_weights)
        last, outputs, *_ = _marked_function(self.go_backwards)(
            sequences, init_h, init_c, kernel, recurrent, bias
        )
        return outputs if self.return_sequences else last


class FusedBidirectional(keras.layers.Layer):
    """Conversion-time stand-in for ``Bidirectional`` of two standard LSTMs.

    Two fused ops: the forward one, and the backward one marked
    ``go_backwards`` (the converter reverses its input); with
    ``return_sequences`` the backward outputs are flipped back into input
    order, then merged (concat, sum, mul, ave or a pair) like the wrapper.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(name=layer.name, **kwargs)
        self.forward = FusedLSTM(layer.forward_layer)
        self.backward = FusedLSTM(layer.backward_layer)
        self.merge_mode = layer.merge_mode
        self.return_sequences = bool(layer.return_sequences)
        self.supports_masking = True

    def build(self, sequences_shape, initial_state_shape=None):
        self.built = True

    def compute_mask(self, sequences, mask=None):
        return mask if self.return_sequences and self.merge_mode is not None else None

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward.compute_output_shape(sequences_shape)
        backward = self.backward.compute_output_shape(sequences_shape)
        if self.merge_mode == "concat":
            return forward[:-1] + (forward[-1] + backward[-1],)
        if self.merge_mode is None:
            return (forward, backward)
        return forward

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            forward_state, backward_state = list(initial_state[:2]), list(initial_state[2:])
        forward = self.forward(sequences, initial_state=forward_state)
        backward = self.backward(sequences, initial_state=backward_state)
        if self.return_sequences:
            backward = tf.reverse(backward, [1])
        return merge(forward, backward, self.merge_mode)
