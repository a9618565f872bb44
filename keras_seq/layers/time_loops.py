"""The two ways :class:`~keras_seq.layers.recurrent.Recurrent` runs a step over
time when it does not train our cells with the hand-written BPTT: a Python
loop (``unroll=True``) or one ``tf.while_loop``.

Both take time-major ``inputs`` (T, batch, d), an optional time-major mask
(T, batch, 1), the zero output and a flat list of states, and
``masked_step(x_t, mask_t, prev_output, states) -> (output, new_states)``;
both return ``(last_output, outputs (batch, T, out) or None, final_states)``.
"""

import tensorflow as tf
from keras import ops

from keras_seq.layers.bptt_scan import keep_shape


def run_unrolled(inputs, mask, zero_output, states, masked_step, return_sequences, name):
    """A Python loop over the (known) time steps."""
    steps = inputs.shape[0]
    if steps is None:
        raise ValueError(
            f"{name}: Cannot unroll a RNN if the time dimension is undefined: "
            "unroll=True needs a fixed number of time steps; give the Input a shape "
            "with the time axis"
        )
    output, outputs = zero_output, []
    for t in range(steps):
        mask_t = None if mask is None else mask[t]
        output, states = masked_step(inputs[t], mask_t, output, states)
        if return_sequences:
            outputs.append(output)
    sequence = ops.stack(outputs, axis=1) if return_sequences else None
    return output, sequence, states


def run_while_loop(inputs, mask, zero_output, states, masked_step, return_sequences, name):
    """One ``tf.while_loop`` over ``TensorArray``s.

    keras.ops has no loop that writes one output per step without copying the
    whole buffer each step, and this is the loop TFLite lowers to its WHILE op.
    """
    steps = tf.shape(inputs)[0]
    if inputs.shape[0] is None:
        # Only known at run time: a clear error instead of a failed read.
        tf.debugging.assert_positive(steps, message=f"{name}: sequences must have at least one time step")
    input_ta = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs)
    mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)

    def advance(t, prev_output, states):
        mask_t = None if mask_ta is None else mask_ta.read(t)
        output, new_states = masked_step(input_ta.read(t), mask_t, prev_output, list(states))
        return output, [keep_shape(n, s) for n, s in zip(new_states, states)]

    def body_with_outputs(t, output_ta, prev_output, *states):
        output, new_states = advance(t, prev_output, states)
        return (t + 1, output_ta.write(t, output), output, *new_states)

    def body_without_outputs(t, prev_output, *states):
        # A TensorArray loop variable cannot be None: none is carried.
        output, new_states = advance(t, prev_output, states)
        return (t + 1, output, *new_states)

    limit = inputs.shape[0] or steps
    if not return_sequences:
        _, last_output, *final_states = tf.while_loop(
            lambda t, *_: t < steps,
            body_without_outputs,
            (tf.constant(0), zero_output, *states),
            maximum_iterations=limit,
        )
        return last_output, None, final_states
    output_ta = tf.TensorArray(zero_output.dtype, size=steps, element_shape=zero_output.shape)
    _, output_ta, last_output, *final_states = tf.while_loop(
        lambda t, *_: t < steps,
        body_with_outputs,
        (tf.constant(0), output_ta, zero_output, *states),
        maximum_iterations=limit,
    )
    return last_output, ops.transpose(output_ta.stack(), (1, 0, 2)), final_states
