"""Lower LSTM and Elman layers to a lean TFLite ``WHILE`` loop that every LiteRT runtime loads.

The default recurrent lowering of :func:`keras_seq.export.to_tflite`. A loop
of builtin ops keeps no state between calls (no variable tensors, which
LiteRT's ``CompiledModel`` and LiteRT.js refuse) and needs no Flex ops. It
does less per step than the loop the converter makes of Keras's own layers:

* the input product for every step is one ``FULLY_CONNECTED`` before the
  loop: ``Z_x = X W + b`` for all ``T x batch`` rows at once;
* a step is ``z = Z_x[t] + h_{t-1} U`` (``GATHER``, ``FULLY_CONNECTED``,
  ``ADD``), then for an LSTM, whose gate columns are reordered from Keras's
  (i, f, c, o) to (i, f, o, c) so that one activation covers the three
  gates::

      [I, F, O] = sigma(z[:, :3u]),  G = theta(z[:, 3u:])
      C_t = F * C_{t-1} + I * G,     h_t = O * s(C_t)   (s = tanh, or identity
                                                          for h_t = O_t * C_t)

  and for an Elman cell ``h_t = theta(z)``: no reshapes, no per-gate slices;
* every step's output, when wanted, is kept without copying what earlier
  steps wrote at every step. A ``WHILE`` op copies its loop-carried tensors
  at every iteration, so a loop carrying the whole (T, batch, u) output
  costs O(T^2). Here an inner loop of ``k`` steps appends ``h_t`` to a
  (k x batch, u) block and an outer loop appends each block to the output:
  O(T k + T^2 / k) copied, with ``k ~ sqrt(T)``.

Masks (padded words) keep Keras's semantics: a masked step keeps the states,
and its output is zero (``zero_output_for_mask``) or the previous output.
"""

import math

import keras
import numpy as np

# tensorflow directly (not keras.ops): the loop must be a tf.while_loop of
# exactly these ops for the converter to emit the lean WHILE described above.
import tensorflow as tf

from keras_seq.layers import ElmanCell, LSTMCell, Recurrent, recurrent_math
from keras_seq.layers.bidirectional import merge

DYNAMIC_CHUNK = 16  # steps per block when the sequence length is only known at run time
ONE_BLOCK_FLOATS = 4096  # outputs this small are carried whole: one block, one inner loop


def activation_name(fn):
    """The serialized name of a Keras activation (``None`` stays ``None``)."""
    if fn is None:
        return None
    name = keras.activations.serialize(fn)
    return name if isinstance(name, str) else getattr(fn, "__name__", repr(fn))


LSTM_CELLS = (LSTMCell, keras.layers.LSTMCell)
ELMAN_CELLS = (ElmanCell, keras.layers.SimpleRNNCell)


def why_not_loopable(layer):
    """``""`` when :class:`LoopRecurrent` computes ``layer`` exactly, else why not."""
    cell = getattr(layer, "cell", None)
    if not isinstance(layer, (Recurrent, keras.layers.RNN)) or not isinstance(cell, LSTM_CELLS + ELMAN_CELLS):
        return f"{type(layer).__name__} has no hand-written TFLite loop (LSTM and Elman/SimpleRNN cells have)"
    if layer.stateful:
        return "stateful=True keeps state between calls, which a stateless file cannot"
    return ""


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor).astype(np.float32)


def cell_weights(layer, gate_order=recurrent_math.SIGMOID_GATES_FIRST):
    """``(kernel, recurrent_kernel, bias)`` as float32 arrays; an LSTM's gate
    columns in ``gate_order`` (by default reordered from Keras's i, f, c, o to i, f, o, c)."""
    cell = layer.cell
    kernel, recurrent = _numpy(cell.kernel), _numpy(cell.recurrent_kernel)
    bias = _numpy(cell.bias) if getattr(cell, "bias", None) is not None else np.zeros(
        recurrent.shape[1], np.float32
    )
    if recurrent.shape[1] == 4 * recurrent.shape[0] and gate_order == recurrent_math.SIGMOID_GATES_FIRST:
        units = recurrent.shape[0]
        order = np.concatenate([np.arange(0, 2 * units), np.arange(3 * units, 4 * units),
                                np.arange(2 * units, 3 * units)])
        kernel, recurrent, bias = kernel[:, order], recurrent[:, order], bias[order]
    return kernel, recurrent, bias


def chunk_length(steps, row_floats):
    """Steps per block: about sqrt(T), balancing the inner and the outer copies.

    Short outputs (T x batch x units <= ``ONE_BLOCK_FLOATS``) are one block:
    copying them at each step costs less than starting an inner loop (and
    its subgraph's tensor allocation) per block.
    """
    if steps is None or not isinstance(row_floats, int):
        return DYNAMIC_CHUNK
    if steps * row_floats <= ONE_BLOCK_FLOATS:
        return steps
    return max(1, min(steps, round(math.sqrt(steps))))


class LoopRecurrent(keras.layers.Layer):
    """Conversion-time stand-in for an LSTM or Elman layer: see the module docstring.

    Holds the layer's weights as constants; returns what the layer returns
    (sequence or last output, then the final states when ``return_state``).

    Args:
        layer: our ``LSTM``/``Elman`` or Keras's ``LSTM``/``SimpleRNN``
            (``why_not_loopable(layer) == ""``).
    """

    def __init__(self, layer, **kwargs):
        super().__init__(name=layer.name, **kwargs)
        self.units = int(layer.cell.units)
        self.is_lstm = isinstance(layer.cell, LSTM_CELLS)
        cell = layer.cell
        self.activation = cell.activation
        if self.is_lstm:
            self.recurrent_activation = cell.recurrent_activation
            # Keras's LSTM applies ``activation`` to C_t too; ours names it.
            self.output_activation = getattr(cell, "output_activation", cell.activation)
        self.return_sequences = bool(layer.return_sequences)
        self.return_state = bool(layer.return_state)
        self.go_backwards = bool(layer.go_backwards)
        self.zero_output_for_mask = bool(getattr(layer, "zero_output_for_mask", False))
        self.gate_order = recurrent_math.SIGMOID_GATES_FIRST
        self.weights_by_role = cell_weights(layer, self.gate_order)
        self.supports_masking = True

    def build(self, sequences_shape, initial_state_shape=None):
        self.built = True  # nothing to create: the weights are constants

    def compute_mask(self, sequences, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * (2 if self.is_lstm else 1)
        return output_mask

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch = sequences_shape[0]
        output = tuple(sequences_shape[:2]) + (self.units,) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * (2 if self.is_lstm else 1)
        return output

    def step(self, z_x, recurrent, states):
        """One step from the projected input ``z_x``; returns ``(h_t, new_states)``."""
        return self.activate(z_x + tf.matmul(states[0], recurrent), states)

    def activate(self, z, states, gate_order=None):
        """The step after its one product ``z``: ``(h_t, new_states)``, the
        arithmetic of :mod:`keras_seq.layers.recurrent_math` (LSTM gate
        columns in ``gate_order``, by default ``self.gate_order``)."""
        if not self.is_lstm:
            h = recurrent_math.elman_step(z, self.activation)
            return h, [h]
        h, c = recurrent_math.lstm_step(z, states[1], self.recurrent_activation, self.activation,
                                        self.output_activation, gate_order=gate_order or self.gate_order)
        return h, [h, c]

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kernel, recurrent, bias = (tf.constant(w) for w in self.weights_by_role)
        batch = sequences.shape[0] if sequences.shape[0] is not None else tf.shape(sequences)[0]
        steps = sequences.shape[1] if sequences.shape[1] is not None else tf.shape(sequences)[1]
        if initial_state is None:
            states = [tf.zeros((batch, self.units), sequences.dtype)] * (2 if self.is_lstm else 1)
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        time_major = tf.transpose(sequences, [1, 0, 2])
        if mask is not None:
            mask = tf.expand_dims(tf.transpose(tf.cast(mask, tf.bool), [1, 0]), -1)  # (T, batch, 1)
        if self.go_backwards:
            time_major = tf.reverse(time_major, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        features = sequences.shape[2]
        projected = tf.reshape(
            tf.matmul(tf.reshape(time_major, [-1, features]), kernel) + bias, [steps, batch, -1]
        )
        loop = StepLoop(self, projected, recurrent, mask, steps, batch)
        if self.return_sequences:
            outputs, states = loop.every_output(states)
            output = tf.transpose(outputs, [1, 0, 2])
        else:
            output, states = loop.last_output(states)
        return [output] + states if self.return_state else output


class StepLoop:
    """The ``tf.while_loop`` of one :class:`LoopRecurrent` call.

    Args:
        layer: the :class:`LoopRecurrent` (its ``step`` and mask semantics).
        projected: (T, batch, gates * units) ``X W + b``, time-major.
        recurrent: the (units, gates * units) recurrent kernel ``U``.
        mask: (T, batch, 1) bool or ``None``.
        steps, batch: T and the batch size (ints, or scalar tensors).
    """

    def __init__(self, layer, projected, recurrent, mask, steps, batch):
        self.layer, self.projected, self.recurrent = layer, projected, recurrent
        self.mask, self.steps, self.batch = mask, steps, batch
        self.zeros = tf.zeros((batch, layer.units), projected.dtype)

    def advance(self, t, output, states):
        """Step ``t``: ``(output_t, states_t)``; a masked step keeps the states."""
        h, new_states = self.layer.step(tf.gather(self.projected, t), self.recurrent, states)
        keep = None if self.mask is None else tf.gather(self.mask, t)
        return (recurrent_math.masked_output(keep, h, output, self.layer.zero_output_for_mask),
                recurrent_math.keep_where_masked(keep, new_states, states))

    def last_output(self, states):
        """Run all steps carrying the output and the states; returns ``(output_T, states_T)``."""
        def body(t, output, *states):
            output, states = self.advance(t, output, list(states))
            return [t + 1, output] + states

        final = tf.while_loop(lambda t, *_: t < self.steps, body, [tf.constant(0), self.zeros] + states)
        return final[1], list(final[2:])

    def every_output(self, states):
        """Run all steps keeping every output; returns ``(outputs (T, batch, units), states_T)``.

        Outputs are written into blocks of ``k`` steps: an inner loop over
        a block's steps carries only its (k, batch, u) block, an outer loop
        over the blocks carries the whole (T/k, k, batch, u) output. A row
        is written by adding ``onehot(j) * h_t`` to the zeroed block
        (``MUL`` and ``ADD``, fast in every runtime; LiteRT's builtin
        ``STRIDED_SLICE``/``CONCATENATION`` kernels were slower).
        """
        units, batch = self.layer.units, self.batch
        k = chunk_length(self.steps if isinstance(self.steps, int) else None,
                         batch * units if isinstance(batch, int) else None)
        blocks = -(-self.steps // k)  # ceil(T / k)
        dtype = self.projected.dtype
        step_rows = tf.constant(np.eye(k, dtype=np.float32)[:, :, None, None], dtype)  # (k, k, 1, 1)

        def inner_body(t, end, block, output, *states):
            output, states = self.advance(t, output, list(states))
            block = block + tf.gather(step_rows, t % k) * output
            return [t + 1, end, block, output] + states

        def outer_body(b, outputs, output, *states):
            end = tf.minimum((b + 1) * k, self.steps)
            final = tf.while_loop(lambda t, end, *_: t < end, inner_body,
                                  [b * k, end, tf.zeros((k, batch, units), dtype), output] + list(states))
            block_rows = tf.one_hot(b, blocks, dtype=dtype)[:, None, None, None]  # (blocks, 1, 1, 1)
            outputs = outputs + block_rows * final[2]
            return [b + 1, outputs, final[3]] + list(final[4:])

        final = tf.while_loop(lambda b, *_: b < blocks, outer_body,
                              [tf.constant(0), tf.zeros((blocks, k, batch, units), dtype), self.zeros]
                              + states)
        outputs = tf.reshape(final[1], [blocks * k, batch, units])[: self.steps]
        return outputs, list(final[3:])


class LoopBidirectional(keras.layers.Layer):
    """Conversion-time stand-in for ``Bidirectional`` of two loopable layers.

    The backward loop reads the reversed sequence (its layer has
    ``go_backwards``); with ``return_sequences`` its outputs are flipped back
    into input order before the wrapper's merge.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(name=layer.name, **kwargs)
        self.forward = LoopRecurrent(layer.forward_layer)
        self.backward = LoopRecurrent(layer.backward_layer)
        self.merge_mode = layer.merge_mode
        self.return_sequences = bool(layer.return_sequences)
        self.return_state = bool(layer.return_state)
        self.supports_masking = True

    def build(self, sequences_shape, initial_state_shape=None):
        self.built = True

    def compute_mask(self, sequences, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            output_mask = [output_mask, output_mask]
        if self.return_state:
            states = 2 * (2 if self.forward.is_lstm else 1)
            output_mask = (output_mask if isinstance(output_mask, list) else [output_mask]) + [None] * states
        return output_mask

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward.compute_output_shape(sequences_shape)
        backward = self.backward.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            forward, states = forward[0], list(forward[1:]) + list(backward[1:])
            backward = backward[0]
        if self.merge_mode == "concat":
            output = [tuple(forward[:-1]) + (forward[-1] + backward[-1],)]
        elif self.merge_mode is None:
            output = [forward, backward]
        else:
            output = [forward]
        output += states
        return output[0] if len(output) == 1 else output

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        forward = self.forward(sequences, initial_state=forward_state, mask=mask)
        backward = self.backward(sequences, initial_state=backward_state, mask=mask)
        states = []
        if self.return_state:
            states = list(forward[1:]) + list(backward[1:])
            forward, backward = forward[0], backward[0]
        if self.return_sequences:
            backward = tf.reverse(backward, [1])
        merged = merge(forward, backward, self.merge_mode)
        merged = list(merged) if isinstance(merged, tuple) else [merged]
        output = merged + states
        return output[0] if len(output) == 1 else output
