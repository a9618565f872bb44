"""Backpropagation through time written out for our cells, for fast training.

The lecture's BPTT unrolls the RNN and backpropagates through every step.
For a cell whose step is ``z_t = x_t W + b + h_{t-1} W_h`` followed by
elementwise gate arithmetic, the gradient of the loss ``L`` is, per step::

    dL/dz_t       from the elementwise part (no matrix product)
    dL/dh_{t-1}  += dL/dz_t W_h^T        (on the chain from step to step)
    dL/dW_h      += h_{t-1}^T dL/dz_t    (off the chain)
    dL/d[W; b]   += [x_t, 1]^T dL/dz_t   (off the chain; b as a row of W)
    dL/dx_t       = dL/dz_t W^T          (off the chain)

Only ``dL/dz_t W_h^T`` (and ``h_{t-1} W_h`` going forward) lies on the chain
from one step to the next; the loop computes the other products beside it,
ahead of the chain, on a core the chain leaves idle (as (T batch)-row
products after the loop they would run alone, with the chain done).
The elementwise part's gradient is the cell's ``activate_gradient``, from
what its ``activate_saving`` kept: the LSTM keeps the products of its gates'
derivatives (computed in the forward loop beside the chain), so a backward
step is three elementwise operations and one concatenation before
``dL/dz_t W_h^T``; for other activations the cell differentiates its
``activate`` automatically. Besides the cell's saved tensors the loop keeps
only ``h_{t-1}`` (for ``dL/dW_h``). When only the last output is returned and
nothing is masked, the output's gradient joins ``dL/dh_T`` and no step adds
an output gradient. Automatic differentiation of Keras's loop instead runs
the generic gradient of every op of the step (the split of ``z``, each
activation, each product).

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


def masked_activation(cell, z, states, prev_output, mask_t, zero_output_for_mask):
    """``cell.activate_saving`` then Keras's masking: masked rows keep their
    states and repeat the previous output (or give zeros)."""
    output, new_states, saved = cell.activate_saving(z, states)
    if mask_t is None:
        return output, list(new_states), saved
    carried = tf.zeros_like(output) if zero_output_for_mask else prev_output
    output = tf.where(mask_t, output, carried)
    new_states = [tf.where(mask_t, new, old) for new, old in zip(new_states, states)]
    return output, new_states, saved


def masked_activation_gradient(cell, saved, d_output, d_new_states, mask_t):
    """The gradient of :func:`masked_activation`: ``(dL/dz, dL/d states,
    dL/d prev_output)`` (``d_output=None`` for zero); masked rows pass their
    gradients to the carried states and output instead of through the cell."""
    d_carried_output = None
    d_carried_states = [None] * len(d_new_states)
    if mask_t is not None:
        if d_output is not None:
            d_carried_output = tf.where(mask_t, tf.zeros_like(d_output), d_output)
            d_output = d_output - d_carried_output
        d_carried_states = [tf.where(mask_t, tf.zeros_like(d), d) for d in d_new_states]
        d_new_states = [d - carried for d, carried in zip(d_new_states, d_carried_states)]
    d_z, d_states = cell.activate_gradient(saved, d_output, d_new_states)
    d_states = [total(d, carried) for d, carried in zip(d_states, d_carried_states)]
    return d_z, d_states, d_carried_output


def total(*gradients):
    """The sum of the gradients that are not ``None`` (``None`` if all are)."""
    present = [g for g in gradients if g is not None]
    return sum(present[1:], present[0]) if present else None


def scan_with_bptt(
    cell,
    inputs,
    initial_states,
    kernel,
    bias,
    recurrent_kernel,
    mask=None,
    output_size=None,
    return_sequences=False,
    zero_output_for_mask=False,
):
    """Run ``cell.activate(x_t W + b + h_{t-1} W_h, states)`` over time with
    hand-written BPTT.

    Args:
        cell: a :class:`~keras_seq.layers.recurrent_cell.RecurrentCell`: its
            ``activate_saving`` runs each forward step, its
            ``activate_gradient`` each backward step.
        inputs: (T, batch, d) time-major ``x_t``.
        initial_states: list of (batch, size) tensors, ``h_0`` first.
        kernel: (d, gates * units) tensor ``W``.
        bias: (gates * units) tensor ``b``.
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
    # When only the last output is returned and nothing is masked, the output
    # is h_T: its gradient joins dL/dh_T and no step adds an output gradient.
    output_is_final_state = mask is None and not return_sequences
    # Otherwise, without return_sequences, a masked step's output gradient
    # reaches the step before it (carry_output) or only the last step.
    carries_output_gradient = (mask is not None and not return_sequences) or carry_output
    dtype = inputs.dtype

    @tf.custom_gradient
    def run(inputs, kernel, bias, recurrent_kernel, *initial_states):
        steps = tf.shape(inputs)[0]
        batch = tf.shape(inputs)[1]
        size = output_size or initial_states[0].shape[-1]
        zero_output = tf.zeros(tf.stack([batch, size]), dtype)
        unused = tf.constant(0.0, dtype)  # a loop variable the case needs not
        mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)

        def new_ta(element_shape):
            return tf.TensorArray(
                dtype, size=steps, element_shape=element_shape, clear_after_read=False
            )

        # One TensorArray per tensor that activate_saving returns, shaped as
        # on the first step (this probe is not run: nothing depends on it).
        # The batch may be unknown when tracing, so the probe's shape is dynamic.
        probe = tf.zeros(tf.stack([batch, tf.shape(kernel)[1]]), dtype)
        probe.set_shape([inputs.shape[1], kernel.shape[1]])
        saved_shapes = [x.shape for x in cell.activate_saving(probe, initial_states)[2]]

        # x_t W + b = [x_t, 1] [W; b]: one product, and in the backward loop
        # one product [x_t, 1]^T dL/dz_t for dL/dW and dL/db together.
        inputs_1 = tf.concat([inputs, tf.ones(tf.stack([steps, batch, 1]), dtype)], axis=-1)
        kernel_1 = tf.concat([kernel, bias[None]], axis=0)

        def body(t, prev_output, states, saved_ta, prev_h_ta, output_ta):
            # Indexing, not a TensorArray: no gradient flows through this read
            # (grad below). x_t W + b does not wait for h_{t-1}: the loop
            # computes it ahead, beside the chain h_{t-1} W_h.
            z = tf.matmul(inputs_1[t], kernel_1) + tf.matmul(states[0], recurrent_kernel)
            mask_t = None if mask_ta is None else mask_ta.read(t)
            output, new_states, saved = masked_activation(
                cell, z, list(states), prev_output, mask_t, zero_output_for_mask
            )
            saved_ta = [ta.write(t, x) for ta, x in zip(saved_ta, saved)]
            prev_h_ta = prev_h_ta.write(t, states[0])  # for dL/dW_h
            if return_sequences:
                output_ta = output_ta.write(t, output)
            new_states = [keep_shape(n, s) for n, s in zip(new_states, states)]
            return t + 1, output, new_states, saved_ta, prev_h_ta, output_ta

        loop_vars = (
            tf.constant(0),
            zero_output,
            list(initial_states),
            [new_ta(shape) for shape in saved_shapes],
            new_ta(initial_states[0].shape),
            new_ta(zero_output.shape) if return_sequences else unused,
        )
        _, last_output, final_states, saved_ta, prev_h_ta, output_ta = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            loop_vars,
            maximum_iterations=inputs.shape[0] or steps,
            parallel_iterations=10,
        )
        outputs = output_ta.stack() if return_sequences else last_output

        def grad(d_outputs, *d_final_states):
            d_outputs = tf.zeros_like(outputs) if d_outputs is None else d_outputs
            d_states = [
                tf.zeros_like(s) if d is None else d for d, s in zip(d_final_states, final_states)
            ]
            if output_is_final_state:
                d_states[0] = d_states[0] + d_outputs
            mask_read = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)
            d_inputs_ta = tf.TensorArray(dtype, size=steps, element_shape=inputs.shape[1:])
            if not carries_output_gradient:
                d_carried = unused
            else:
                d_carried = zero_output if return_sequences else d_outputs

            def back(t, d_carried, d_states, d_inputs_ta, d_kernel_1, d_recurrent_kernel):
                saved = [ta.read(t) for ta in saved_ta]
                mask_t = None if mask_read is None else mask_read.read(t)
                d_output = d_carried if carries_output_gradient else None
                if return_sequences:
                    d_output = total(d_output, d_outputs[t])
                d_z, d_prev_states, d_prev_output = masked_activation_gradient(
                    cell, saved, d_output, list(d_states), mask_t
                )
                if carries_output_gradient:
                    d_carried = keep_shape(d_prev_output if carry_output else zero_output, d_carried)
                # dL/dh_{t-1} += dL/dz_t W_h^T: the chain from step to step.
                d_prev_states[0] = total(
                    tf.matmul(d_z, recurrent_kernel, transpose_b=True), d_prev_states[0]
                )
                d_prev_states = [
                    keep_shape(tf.zeros_like(s) if d is None else d, s)
                    for d, s in zip(d_prev_states, d_states)
                ]
                # Off the chain, beside the next step: the weight gradients
                # and dL/dx_t = dL/dz_t W^T.
                return (
                    t - 1,
                    d_carried,
                    d_prev_states,
                    d_inputs_ta.write(t, tf.matmul(d_z, kernel, transpose_b=True)),
                    d_kernel_1 + tf.matmul(inputs_1[t], d_z, transpose_a=True),
                    d_recurrent_kernel + tf.matmul(prev_h_ta.read(t), d_z, transpose_a=True),
                )

            (_, _, d_initial_states, d_inputs_ta, d_kernel_1, d_recurrent_kernel) = (
                tf.while_loop(
                    lambda t, *_: t >= 0,
                    back,
                    (
                        steps - 1,
                        d_carried,
                        d_states,
                        d_inputs_ta,
                        tf.zeros_like(kernel_1),
                        tf.zeros_like(recurrent_kernel),
                    ),
                    maximum_iterations=inputs.shape[0] or steps,
                    parallel_iterations=10,
                )
            )
            return (
                d_inputs_ta.stack(),
                d_kernel_1[:-1],
                d_kernel_1[-1],
                d_recurrent_kernel,
                *d_initial_states,
            )

        return (outputs, *final_states), grad

    outputs, *final_states = run(inputs, kernel, bias, recurrent_kernel, *initial_states)
    return outputs, final_states
