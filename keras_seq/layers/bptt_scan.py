"""Backpropagation through time written out for our cells, for fast training.

The lecture's BPTT unrolls the RNN and backpropagates through every step.
For a cell whose step is ``z_t = p_t + h_{t-1} W_h`` followed by elementwise
gate arithmetic (``p_t = x_t W + b`` computed before the loop), the gradient
of the loss ``L`` splits into a per-step part and two products over all steps:

    dL/dz_t       from the elementwise part (per step, no matrix product)
    dL/dh_{t-1}  += dL/dz_t W_h^T                  (one product per step)
    dL/dp_t       = dL/dz_t                        (so dL/dW = sum_t x_t^T dL/dz_t,
                                                    one product after the loop)
    dL/dW_h       = sum_t h_{t-1}^T dL/dz_t        (one product after the loop)

Automatic differentiation of the loop would instead do the weight-gradient
products at every step, and TensorFlow's gradient of a per-step
``TensorArray`` read grows faster than linearly in T. Here each backward step
does one matrix product, and the elementwise part's gradient comes from
automatic differentiation of the cell's own ``activate`` (so any activation
and the lecture's variant work unchanged).

Written with ``tf.custom_gradient``, ``tf.while_loop`` and ``TensorArray``:
Keras offers no custom-gradient loop. Used only for training calls of our
cells without recurrent dropout; everything else runs the plain loop.
"""

import tensorflow as tf


def keep_shape(new, old):
    """``new`` with ``old``'s static shape (a loop variable's shape must not
    change); no operation at run time."""
    new.set_shape(old.shape)
    return new


def masked_activation(activate, z, states, prev_output, mask_t, zero_output_for_mask):
    """``activate`` then Keras's masking: masked rows keep their states and
    repeat the previous output (or give zeros)."""
    output, new_states = activate(z, states)
    if mask_t is None:
        return output, list(new_states)
    carried = tf.zeros_like(output) if zero_output_for_mask else prev_output
    output = tf.where(mask_t, output, carried)
    new_states = [tf.where(mask_t, new, old) for new, old in zip(new_states, states)]
    return output, new_states


def scan_with_bptt(
    activate,
    projected,
    initial_states,
    recurrent_kernel,
    mask=None,
    output_size=None,
    return_sequences=False,
    zero_output_for_mask=False,
):
    """Run ``activate(p_t + h_{t-1} W_h, states)`` over time with hand-written BPTT.

    Args:
        activate: the cell's elementwise part, ``(z, states) -> (output, new_states)``.
        projected: (T, batch, gates * units) time-major ``x_t W + b``.
        initial_states: list of (batch, size) tensors, ``h_0`` first.
        recurrent_kernel: (units, gates * units) tensor ``W_h``.
        mask: optional (T, batch, 1) booleans.
        output_size: size of the cell's output (default ``h``'s).
        return_sequences: return all outputs (T, batch, out) or the last.
        zero_output_for_mask: masked steps output zeros instead of repeating.

    Returns:
        ``(outputs, final_states)``: the (time-major) output sequence or the
        last output, and the list of final states.
    """
    carry_output = mask is not None and not zero_output_for_mask
    dtype = projected.dtype

    @tf.custom_gradient
    def run(projected, recurrent_kernel, *initial_states):
        steps = tf.shape(projected)[0]
        batch = tf.shape(projected)[1]
        size = output_size or initial_states[0].shape[-1]
        zero_output = tf.zeros(tf.stack([batch, size]), dtype)
        mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)

        def new_ta(element_shape):
            return tf.TensorArray(
                dtype, size=steps, element_shape=element_shape, clear_after_read=False
            )

        def body(t, prev_output, states, z_ta, states_ta, prev_output_ta, output_ta):
            # Indexing, not a TensorArray: no gradient flows through this read
            # (grad below), and unstacking would copy the whole sequence.
            z = projected[t] + tf.matmul(states[0], recurrent_kernel)
            mask_t = None if mask_ta is None else mask_ta.read(t)
            output, new_states = masked_activation(
                activate, z, list(states), prev_output, mask_t, zero_output_for_mask
            )
            z_ta = z_ta.write(t, z)
            states_ta = [ta.write(t, s) for ta, s in zip(states_ta, states)]
            if carry_output:
                prev_output_ta = prev_output_ta.write(t, prev_output)
            if return_sequences:
                output_ta = output_ta.write(t, output)
            new_states = [keep_shape(n, s) for n, s in zip(new_states, states)]
            return t + 1, output, new_states, z_ta, states_ta, prev_output_ta, output_ta

        loop_vars = (
            tf.constant(0),
            zero_output,
            list(initial_states),
            new_ta(projected.shape[1:]),
            [new_ta(s.shape) for s in initial_states],
            new_ta(zero_output.shape) if carry_output else tf.constant(0.0),
            new_ta(zero_output.shape) if return_sequences else tf.constant(0.0),
        )
        _, last_output, final_states, z_ta, states_ta, prev_output_ta, output_ta = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            loop_vars,
            maximum_iterations=projected.shape[0] or steps,
            parallel_iterations=32,
        )
        h_all = states_ta[0].stack()  # h_{t-1} for every t, for dL/dW_h
        outputs = output_ta.stack() if return_sequences else last_output

        def grad(d_outputs, *d_final_states):
            d_outputs = tf.zeros_like(outputs) if d_outputs is None else d_outputs
            d_states = [
                tf.zeros_like(s) if d is None else d for d, s in zip(d_final_states, final_states)
            ]
            d_seq = None
            if return_sequences:
                d_seq = tf.TensorArray(dtype, size=steps).unstack(d_outputs)
            mask_read = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)
            d_z_ta = tf.TensorArray(dtype, size=steps, element_shape=z_ta.element_shape)
            d_output = zero_output if return_sequences else d_outputs

            def back(t, d_output, d_states, d_z_ta):
                z = z_ta.read(t)
                states = [ta.read(t) for ta in states_ta]
                prev_output = prev_output_ta.read(t) if carry_output else zero_output
                mask_t = None if mask_read is None else mask_read.read(t)
                if return_sequences:
                    d_output = d_output + d_seq.read(t)
                with tf.GradientTape() as tape:
                    tape.watch([z, prev_output] + states)
                    output, new_states = masked_activation(
                        activate, z, states, prev_output, mask_t, zero_output_for_mask
                    )
                d_z, d_prev_output, *d_prev_states = tape.gradient(
                    [output] + new_states,
                    [z, prev_output] + states,
                    output_gradients=[d_output] + list(d_states),
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
                # dL/dh_{t-1} += dL/dz_t W_h^T
                d_prev_states[0] += tf.matmul(d_z, recurrent_kernel, transpose_b=True)
                return t - 1, d_prev_output, d_prev_states, d_z_ta.write(t, d_z)

            _, _, d_initial_states, d_z_ta = tf.while_loop(
                lambda t, *_: t >= 0,
                back,
                (steps - 1, d_output, d_states, d_z_ta),
                maximum_iterations=projected.shape[0] or steps,
                parallel_iterations=32,
            )
            d_projected = d_z_ta.stack()
            units, width = recurrent_kernel.shape
            d_recurrent_kernel = tf.matmul(
                tf.reshape(h_all, (-1, units)),
                tf.reshape(d_projected, (-1, width)),
                transpose_a=True,
            )
            return (d_projected, d_recurrent_kernel, *d_initial_states)

        return (outputs, *final_states), grad

    outputs, *final_states = run(projected, recurrent_kernel, *initial_states)
    return outputs, final_states
