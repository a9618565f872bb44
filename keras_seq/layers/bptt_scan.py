"""Backpropagation through time written out for our cells, for fast training.

Backpropagation through time (Werbos 1990; Pascanu et al. 2013 for its
gradient flow) unrolls the RNN and backpropagates through every step.
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

import dataclasses
import functools

import tensorflow as tf

from keras_seq.layers import recurrent_math


def keep_shape(new, old):
    """``new`` with ``old``'s static shape (a loop variable's shape must not
    change); no operation at run time."""
    new.set_shape(old.shape)
    return new


def masked_activation(cell, z, states, prev_output, mask_t, zero_output_for_mask):
    """``cell.activate_saving`` then Keras's masking
    (:func:`~keras_seq.layers.recurrent_math.keep_where_masked`,
    :func:`~keras_seq.layers.recurrent_math.masked_output`): masked rows keep
    their states and repeat the previous output (or give zeros)."""
    output, new_states, saved = cell.activate_saving(z, states)
    output = recurrent_math.masked_output(mask_t, output, prev_output, zero_output_for_mask)
    return output, recurrent_math.keep_where_masked(mask_t, new_states, states), saved


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
    scan = BPTTScan(
        cell,
        OutputGradientRoute.of(mask is not None, return_sequences, zero_output_for_mask),
        mask,
        output_size,
        inputs.dtype,
    )

    @tf.custom_gradient
    def run(inputs, kernel, bias, recurrent_kernel, *initial_states):
        forward = scan.forward(inputs, kernel, bias, recurrent_kernel, initial_states)
        return (forward.outputs, *forward.final_states), functools.partial(scan.backward, forward)

    outputs, *final_states = run(inputs, kernel, bias, recurrent_kernel, *initial_states)
    return outputs, final_states


@dataclasses.dataclass(frozen=True)
class OutputGradientRoute:
    """How the gradient of the outputs reaches the steps, fixed by the call's
    options before any loop runs.

    Attributes:
        return_sequences: every step's output is an output of the scan.
        zero_output_for_mask: masked steps output zeros.
        carry_output: a masked step repeats the previous output, so the
            gradient of its output belongs to the step before.
        output_is_final_state: only the last output is returned and nothing
            is masked: the output is ``h_T``, its gradient joins ``dL/dh_T``
            and no step adds an output gradient.
        carries_output_gradient: the backward loop carries an output gradient
            from step to step (without ``return_sequences``, a masked step's
            output gradient reaches the step before it, or only the last step).
    """

    return_sequences: bool
    zero_output_for_mask: bool
    carry_output: bool
    output_is_final_state: bool
    carries_output_gradient: bool

    @classmethod
    def of(cls, masked, return_sequences, zero_output_for_mask):
        carry_output = masked and not zero_output_for_mask
        return cls(
            return_sequences=return_sequences,
            zero_output_for_mask=zero_output_for_mask,
            carry_output=carry_output,
            output_is_final_state=not masked and not return_sequences,
            carries_output_gradient=(masked and not return_sequences) or carry_output,
        )


@dataclasses.dataclass
class ForwardPass:
    """What the forward loop leaves for the backward one."""

    steps: tf.Tensor  # T, at run time
    time_steps: object  # T when known while tracing, else None
    inputs_1: tf.Tensor  # [x_t, 1], (T, batch, d + 1)
    kernel_1: tf.Tensor  # [W; b], (d + 1, gates * units)
    kernel: tf.Tensor
    recurrent_kernel: tf.Tensor
    input_shape: tf.TensorShape  # (batch, d), of one step
    zero_output: tf.Tensor
    unused: tf.Tensor  # a loop variable the case needs not
    saved_ta: list  # one TensorArray per tensor activate_saving returns
    prev_h_ta: tf.TensorArray  # h_{t-1}, for dL/dW_h
    outputs: tf.Tensor
    final_states: list


class BPTTScan:
    """The forward loop (:meth:`forward`, one step :meth:`forward_step`) and
    the backward loop (:meth:`backward`, one step :meth:`backward_step`) of
    :func:`scan_with_bptt` for one cell and one set of options."""

    def __init__(self, cell, route, mask, output_size, dtype):
        self.cell = cell
        self.route = route
        self.mask = mask
        self.output_size = output_size
        self.dtype = dtype

    def mask_reader(self, steps):
        if self.mask is None:
            return None
        return tf.TensorArray(tf.bool, size=steps).unstack(self.mask)

    def new_ta(self, steps, element_shape):
        return tf.TensorArray(self.dtype, size=steps, element_shape=element_shape, clear_after_read=False)

    # --- forward ---

    def forward(self, inputs, kernel, bias, recurrent_kernel, initial_states):
        """The loop over t = 1..T, saving what :meth:`backward` needs."""
        dtype = self.dtype
        steps = tf.shape(inputs)[0]
        batch = tf.shape(inputs)[1]
        size = self.output_size or initial_states[0].shape[-1]
        zero_output = tf.zeros(tf.stack([batch, size]), dtype)
        unused = tf.constant(0.0, dtype)
        mask_ta = self.mask_reader(steps)
        saved_shapes = self.saved_shapes(inputs, kernel, batch, initial_states)

        # x_t W + b = [x_t, 1] [W; b]: one product, and in the backward loop
        # one product [x_t, 1]^T dL/dz_t for dL/dW and dL/db together.
        inputs_1 = tf.concat([inputs, tf.ones(tf.stack([steps, batch, 1]), dtype)], axis=-1)
        kernel_1 = tf.concat([kernel, bias[None]], axis=0)

        return_sequences = self.route.return_sequences
        loop_vars = (
            tf.constant(0),
            zero_output,
            list(initial_states),
            [self.new_ta(steps, shape) for shape in saved_shapes],
            self.new_ta(steps, initial_states[0].shape),
            self.new_ta(steps, zero_output.shape) if return_sequences else unused,
        )
        _, last_output, final_states, saved_ta, prev_h_ta, output_ta = tf.while_loop(
            lambda t, *_: t < steps,
            functools.partial(self.forward_step, inputs_1, kernel_1, recurrent_kernel, mask_ta),
            loop_vars,
            maximum_iterations=inputs.shape[0] or steps,
            parallel_iterations=10,
        )
        return ForwardPass(
            steps=steps,
            time_steps=inputs.shape[0],
            inputs_1=inputs_1,
            kernel_1=kernel_1,
            kernel=kernel,
            recurrent_kernel=recurrent_kernel,
            input_shape=inputs.shape[1:],
            zero_output=zero_output,
            unused=unused,
            saved_ta=saved_ta,
            prev_h_ta=prev_h_ta,
            outputs=output_ta.stack() if return_sequences else last_output,
            final_states=final_states,
        )

    def saved_shapes(self, inputs, kernel, batch, initial_states):
        """The shapes of what ``activate_saving`` returns, one TensorArray
        each, from a probe step that is not run (nothing depends on it). The
        batch may be unknown when tracing, so the probe's shape is dynamic."""
        probe = tf.zeros(tf.stack([batch, tf.shape(kernel)[1]]), self.dtype)
        probe.set_shape([inputs.shape[1], kernel.shape[1]])
        return [x.shape for x in self.cell.activate_saving(probe, initial_states)[2]]

    def forward_step(
        self, inputs_1, kernel_1, recurrent_kernel, mask_ta,
        t, prev_output, states, saved_ta, prev_h_ta, output_ta,
    ):  # fmt: skip
        # Indexing, not a TensorArray: no gradient flows through this read
        # (see backward). x_t W + b does not wait for h_{t-1}: the loop
        # computes it ahead, beside the chain h_{t-1} W_h.
        z = tf.matmul(inputs_1[t], kernel_1) + tf.matmul(states[0], recurrent_kernel)
        mask_t = None if mask_ta is None else mask_ta.read(t)
        output, new_states, saved = masked_activation(
            self.cell, z, list(states), prev_output, mask_t, self.route.zero_output_for_mask
        )
        saved_ta = [ta.write(t, x) for ta, x in zip(saved_ta, saved)]
        prev_h_ta = prev_h_ta.write(t, states[0])  # for dL/dW_h
        if self.route.return_sequences:
            output_ta = output_ta.write(t, output)
        new_states = [keep_shape(n, s) for n, s in zip(new_states, states)]
        return t + 1, output, new_states, saved_ta, prev_h_ta, output_ta

    # --- backward ---

    def backward(self, forward, d_outputs, *d_final_states):
        """The loop over t = T..1: from ``dL/d outputs`` and ``dL/d final
        states`` to the gradients of the scan's inputs, weights and initial
        states (``tf.custom_gradient``'s gradient function)."""
        route = self.route
        d_outputs = tf.zeros_like(forward.outputs) if d_outputs is None else d_outputs
        d_states = [tf.zeros_like(s) if d is None else d for d, s in zip(d_final_states, forward.final_states)]
        if route.output_is_final_state:
            d_states[0] = d_states[0] + d_outputs
        mask_read = self.mask_reader(forward.steps)
        d_inputs_ta = tf.TensorArray(self.dtype, size=forward.steps, element_shape=forward.input_shape)
        if not route.carries_output_gradient:
            d_carried = forward.unused
        else:
            d_carried = forward.zero_output if route.return_sequences else d_outputs

        (_, _, d_initial_states, d_inputs_ta, d_kernel_1, d_recurrent_kernel) = tf.while_loop(
            lambda t, *_: t >= 0,
            functools.partial(self.backward_step, forward, mask_read, d_outputs),
            (
                forward.steps - 1,
                d_carried,
                d_states,
                d_inputs_ta,
                tf.zeros_like(forward.kernel_1),
                tf.zeros_like(forward.recurrent_kernel),
            ),
            maximum_iterations=forward.time_steps or forward.steps,
            parallel_iterations=10,
        )
        return (
            d_inputs_ta.stack(),
            d_kernel_1[:-1],
            d_kernel_1[-1],
            d_recurrent_kernel,
            *d_initial_states,
        )

    def backward_step(
        self, forward, mask_read, d_outputs,
        t, d_carried, d_states, d_inputs_ta, d_kernel_1, d_recurrent_kernel,
    ):  # fmt: skip
        route = self.route
        saved = [ta.read(t) for ta in forward.saved_ta]
        mask_t = None if mask_read is None else mask_read.read(t)
        d_output = d_carried if route.carries_output_gradient else None
        if route.return_sequences:
            d_output = total(d_output, d_outputs[t])
        d_z, d_prev_states, d_prev_output = masked_activation_gradient(
            self.cell, saved, d_output, list(d_states), mask_t
        )
        if route.carries_output_gradient:
            d_carried = keep_shape(d_prev_output if route.carry_output else forward.zero_output, d_carried)
        # dL/dh_{t-1} += dL/dz_t W_h^T: the chain from step to step.
        d_prev_states[0] = total(tf.matmul(d_z, forward.recurrent_kernel, transpose_b=True), d_prev_states[0])
        d_prev_states = [keep_shape(tf.zeros_like(s) if d is None else d, s) for d, s in zip(d_prev_states, d_states)]
        # Off the chain, beside the next step: the weight gradients and
        # dL/dx_t = dL/dz_t W^T.
        return (
            t - 1,
            d_carried,
            d_prev_states,
            d_inputs_ta.write(t, tf.matmul(d_z, forward.kernel, transpose_b=True)),
            d_kernel_1 + tf.matmul(forward.inputs_1[t], d_z, transpose_a=True),
            d_recurrent_kernel + tf.matmul(forward.prev_h_ta.read(t), d_z, transpose_a=True),
        )
