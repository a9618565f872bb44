"""Lower LSTM and Elman layers of a fixed-length sequence to straight-line TFLite ops: no loop.

``to_tflite(..., recurrent="unroll")``, and the default for a fixed batch and
sequence length within :func:`why_not_unrollable`'s limits (at most 64
steps, fewer for wide cells: 16 for an LSTM(128), 64 for an LSTM(32)). LiteRT's GPU
accelerator (on phones, and WebGPU in LiteRT.js) delegates no control flow: a
``WHILE`` loop stays on the CPU, and a file split between the two runs
badly or not at all. Here every step is written out with builtin ops it
runs (``FULLY_CONNECTED``, ``ADD``, ``MUL``, ``SUB``, ``LOGISTIC``,
``TANH``, ``SLICE``, ``SPLIT``/``SPLIT_V``, ``RESHAPE``, ``CONCATENATION``;
no ``WHILE``, no ``GATHER``, no ``SELECT``):

* the input product of every step is one ``FULLY_CONNECTED`` before the
  steps, ``Z_x = X W + b`` (batch, T, gates), step ``t``'s rows one ``SLICE``
  (batch first throughout: the GPU reads a tensor's first axis as its batch);
* a step is ``z = Z_x[t] + h_{t-1} U``, then the arithmetic of
  :mod:`keras_seq.layers.recurrent_math` (for an LSTM the gate columns are
  reordered to i, f, o, c so one ``LOGISTIC`` covers the three gates); the
  first step, from the zero state, skips ``h_0 U``;
* ``U`` is one constant tensor that every step's ``FULLY_CONNECTED`` reads
  (stored transposed, as that op takes it, so the converter folds no
  per-step copy): the file holds the weights once, whatever T;
* a mask (padded words) is a 0/1 float and the masking rule is arithmetic
  (``s + m (s' - s)``: :func:`keras_seq.layers.recurrent_math.keep_where_masked`,
  a form int8 calibration quantizes);
* the outputs, when every step's is wanted, are one ``CONCATENATION``
  (along the units, then a ``RESHAPE`` to (batch, T, units)).

The file grows with T by a dozen ops per step (about 2 KiB per LSTM step), and
XNNPACK runs it faster than the loop for short sequences of narrow cells (no
loop bookkeeping, no copies of the loop's carried tensors) and slower for long
ones: ``benchmarks/unrolled_recurrence.py`` measures both and gives the
default's limits.
"""

import numpy as np

# tensorflow directly (not keras.ops): the steps must be exactly these ops for
# the converter to emit the builtin ops listed above.
import tensorflow as tf

from keras_seq.export.recurrent_loop import LoopBidirectional, LoopRecurrent, cell_weights
from keras_seq.layers import recurrent_math
from keras_seq.layers.bidirectional import merge

# What the default unrolls, measured by benchmarks/unrolled_recurrence.py
# (table in its docstring): at most UNROLL_MAX_STEPS steps (conversion time
# and file size grow with T), and at most UNROLL_MAX_PREACTIVATIONS values
# of z_t over all steps (T x gates x units). XNNPACK runs an unrolled step
# faster than a loop step while the steps' tensors stay in the CPU's cache;
# beyond, each step's cost grows with T and the loop, which reuses its
# tensors, wins: an LSTM(128) (512 values a step) unrolled takes 0.7-0.9x the
# loop's time at T=8, 1.0x at 16, 1.1-1.5x at 28, 1.9-2.7x at 64; an LSTM(32)
# 0.5x at 16, 0.7x at 64, 1.1x at 128.
UNROLL_MAX_STEPS = 64
UNROLL_MAX_PREACTIVATIONS = 16 * 512


def why_not_unrollable(sequences_shape, step_values=None):
    """``""`` when a call on ``sequences_shape`` can be unrolled, else why not.

    Args:
        sequences_shape: the traced (batch, T, features) shape.
        step_values: gates x units of the cell, to apply the default's limits
            (:data:`UNROLL_MAX_STEPS`, :data:`UNROLL_MAX_PREACTIVATIONS`);
            ``None`` unrolls any fixed T.
    """
    batch, steps = sequences_shape[0], sequences_shape[1]
    if steps is None:
        return "the sequence length is only known at run time"
    if batch is None:
        return "the batch size is only known at run time"
    if step_values is None:
        return ""
    if steps > UNROLL_MAX_STEPS:
        return f"T={steps} > {UNROLL_MAX_STEPS} steps; recurrent='unroll' unrolls it"
    if steps * step_values > UNROLL_MAX_PREACTIVATIONS:
        return (f"T={steps} steps x {step_values} gate values > {UNROLL_MAX_PREACTIVATIONS}, where XNNPACK "
                "runs the loop faster; recurrent='unroll' unrolls it")
    return ""


class UnrolledSteps:
    """The unrolled steps of one :class:`UnrolledRecurrent` call.

    Args:
        layer: the :class:`UnrolledRecurrent` (weights, activations, mask rule).
        sequences: (batch, T, features) with static batch and T.
        mask: (batch, T) mask or ``None``.
    """

    def __init__(self, layer, sequences, mask):
        self.layer = layer
        self.batch, self.steps, features = sequences.shape
        kernel, recurrent, bias = layer.unrolled_weights
        self.recurrent_t = tf.constant(np.ascontiguousarray(recurrent.T))  # one tensor, every step's FC
        # (batch, T, gates units): one FULLY_CONNECTED keeping the batch axis first, so no tensor has
        # T rows on its first axis (LiteRT's GPU reads a rank-2 (T, n) tensor as a batch of T, which its
        # int8 kernels refuse from 9 up: "Unable to parse bc coord for BATCH axis").
        self.projected = tf.matmul(sequences, tf.constant(kernel)) + tf.constant(bias)
        self.mask = None if mask is None else tf.cast(mask, sequences.dtype)  # (batch, T) 0/1: arithmetic

    def rows(self, tensor, t):
        """Step ``t``'s (batch, n) rows of a batch-major (batch, T[, n]) tensor: a ``SLICE`` (and a
        ``RESHAPE`` dropping the time axis)."""
        if tensor.shape.rank == 2:
            return tf.slice(tensor, [0, t], [self.batch, 1])
        width = tensor.shape[2]
        return tf.reshape(tf.slice(tensor, [0, t, 0], [self.batch, 1, width]), [self.batch, width])

    def run(self, states, backwards):
        """All steps, in time order or reversed; returns ``(outputs in processing order, final states)``.

        ``states`` is ``None`` for the zero initial state.
        """
        layer = self.layer
        zeros = tf.zeros((self.batch, layer.units), self.projected.dtype)
        zero_start = states is None
        if zero_start:
            states = [zeros] * layer.state_count
        output, outputs = zeros, []  # a masked first step outputs zeros, as Keras
        order = range(self.steps - 1, -1, -1) if backwards else range(self.steps)
        for t in order:
            z = self.rows(self.projected, t)
            first_from_zero = zero_start and not outputs
            if not first_from_zero:  # h_0 = 0 adds nothing
                z = z + tf.matmul(states[0], self.recurrent_t, transpose_b=True)
            # C_0 = 0: the step leaves out the forget gate (None: recurrent_math.lstm_step's zero state)
            step_states = [states[0], None] if first_from_zero and layer.is_lstm else states
            h, new_states = layer.activate(z, step_states, recurrent_math.KERAS_GATE_ORDER)
            mask_t = None if self.mask is None else self.rows(self.mask, t)
            output = recurrent_math.masked_output(mask_t, h, output, layer.zero_output_for_mask)
            states = recurrent_math.keep_where_masked(mask_t, new_states, states)
            outputs.append(output)
        return outputs, states

    def sequence(self, outputs):
        """(batch, T, units) from the per-step (batch, units) outputs in time order: one
        ``CONCATENATION`` along the units axis, then a ``RESHAPE``."""
        units = outputs[0].shape[-1]
        return tf.reshape(tf.concat(outputs, axis=1), [self.batch, self.steps, units])


class UnrolledRecurrent(LoopRecurrent):
    """Conversion-time stand-in for an LSTM or Elman layer, unrolled when the call allows.

    At trace time a call with a fixed batch and T (within the default's
    limits, with ``by_default``) is unrolled (see the module docstring); any
    other runs the :class:`~keras_seq.export.recurrent_loop.LoopRecurrent`
    loop. :attr:`fallback` then says why (``""`` when unrolled).

    Args:
        layer: our ``LSTM``/``Elman`` or Keras's ``LSTM``/``SimpleRNN``.
        by_default: apply the default's limits (:func:`why_not_unrollable`);
            ``False`` unrolls any fixed length.
    """

    def __init__(self, layer, by_default=False, **kwargs):
        super().__init__(layer, **kwargs)
        self.by_default = by_default
        # Keras's gate order: one SPLIT into four equal blocks. XNNPACK runs
        # SPLIT but not SPLIT_V, and an op it leaves out cuts the straight
        # line into one delegated partition per step (1.4x slower at T=28).
        self.unrolled_weights = cell_weights(layer, recurrent_math.KERAS_GATE_ORDER)
        self.state_count = 2 if self.is_lstm else 1
        self.fallback = None  # set when traced

    def unrolls(self, sequences):
        """Whether this call is unrolled; notes the reason in :attr:`fallback`."""
        step_values = self.unrolled_weights[1].shape[1] if self.by_default else None
        self.fallback = why_not_unrollable(tuple(sequences.shape), step_values)
        return not self.fallback

    def unrolled(self, sequences, initial_state, mask, backwards):
        """``(outputs in processing order, final states, steps)`` of the unrolled call."""
        steps = UnrolledSteps(self, sequences, mask)
        states = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        outputs, states = steps.run(states, backwards)
        return outputs, states, steps

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if not self.unrolls(sequences):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        outputs, states, steps = self.unrolled(sequences, initial_state, mask, self.go_backwards)
        output = steps.sequence(outputs) if self.return_sequences else outputs[-1]
        return [output] + states if self.return_state else output


class UnrolledBidirectional(LoopBidirectional):
    """Conversion-time stand-in for ``Bidirectional`` of two LSTM or Elman layers, unrolled.

    The backward layer's steps run from t = T down to 1; its outputs are put
    back in input order by the order of the concatenation (no reverse op).
    A call that cannot be unrolled runs the two loops of
    :class:`~keras_seq.export.recurrent_loop.LoopBidirectional`.
    """

    def __init__(self, layer, by_default=False, **kwargs):
        super().__init__(layer, **kwargs)
        self.forward = UnrolledRecurrent(layer.forward_layer, by_default)
        self.backward = UnrolledRecurrent(layer.backward_layer, by_default)

    @property
    def fallback(self):
        return self.forward.fallback

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if not (self.forward.unrolls(sequences) and self.backward.unrolls(sequences)):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        forward, forward_states, steps = self.forward.unrolled(sequences, forward_state, mask, False)
        backward, backward_states, _ = self.backward.unrolled(sequences, backward_state, mask, True)
        if self.return_sequences:
            forward, backward = steps.sequence(forward), steps.sequence(backward[::-1])
        else:
            forward, backward = forward[-1], backward[-1]
        merged = merge(forward, backward, self.merge_mode)
        merged = list(merged) if isinstance(merged, tuple) else [merged]
        output = merged + (forward_states + backward_states if self.return_state else [])
        return output[0] if len(output) == 1 else output

