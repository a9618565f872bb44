"""Running a recurrent cell over time: the unrolled RNN of the lecture."""

import inspect

import keras
import tensorflow as tf
from keras import ops

from keras_seq.layers.bptt_scan import keep_shape, scan_with_bptt
from keras_seq.layers.recurrent_cell import DropoutRNNCell, RecurrentCell


def check_flag(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def cell_property(name):
    """A read-only attribute of a sequence layer that reads its cell's."""
    return property(lambda layer: getattr(layer.cell, name), doc=f"``cell.{name}``")


@keras.saving.register_keras_serializable(package="keras_seq")
class Recurrent(keras.layers.Layer):
    """Runs a cell over the time axis: ``h_t = cell(x_t, h_{t-1})``, t = 1..T.

    The lecture unrolls the recurrence ``h_t = f(x_t, h_{t-1})`` from
    ``h_0 = 0`` (or ``initial_state``) over as many steps as the sequence has,
    sharing the cell's weights between steps. Same arguments and results as
    ``keras.layers.RNN``.

    What makes it fast: each step of our cells (:class:`ElmanCell`,
    :class:`LSTMCell`) does one product ``h_{t-1} W_h`` for all gates, the only
    product on the chain from step to step; ``x_t W`` does not wait for
    ``h_{t-1}``, so the ``tf.while_loop`` computes it ahead on a core the
    chain leaves idle (one product for all T steps before the loop would
    instead run alone, before the chain starts).
    Training calls use the hand-written BPTT of
    :mod:`keras_seq.layers.bptt_scan`: the forward pass saves what the
    closed-form gradient needs (for the LSTM, the products of its gates'
    derivatives, computed beside the chain), each backward step turns
    ``dL/dh_t`` and ``dL/dC_t`` into ``dL/dz_t`` with a few elementwise
    operations (no generic gradient of the split and of each activation) and
    does one product on the chain (``dL/dz_t W_h^T``), with the weight and
    input gradients beside it. The loop keeps only the last output when
    ``return_sequences=False``; ``go_backwards`` flips the inputs. Measured
    against Keras in ``benchmarks/rnn_speed.py``.

    Masking: where ``mask[b, t]`` is False the state is carried over
    unchanged and the output is the previous output (zeros when
    ``zero_output_for_mask=True``, which ``Bidirectional`` sets for sequences),
    exactly as Keras.

    Args:
        cell: a cell: a layer with ``call(inputs, states, training)`` and
            ``state_size`` (an int or a list of ints), ours or Keras's.
        return_sequences: return all outputs (batch, T, units) rather than
            the last (batch, units).
        return_state: also return the final states, as ``[output, *states]``.
        go_backwards: process the sequence from t = T down to 1, and return
            the output sequence in that (reversed) order, as Keras.
        stateful: the final states of a batch are the initial states of the
            next one (needs a fixed batch size); ``reset_state()`` zeroes them.
        unroll: unroll the loop in Python (needs a fixed T; for short sequences).
        zero_output_for_mask: output zeros at masked steps.

    Call arguments:
        sequences: (batch, T, features) floating-point tensor, T >= 1.
        initial_state: list of the cell's initial states, each (batch, size).
        mask: (batch, T) booleans; False marks padding.
        training: whether the cell's dropout applies.

    Example:
        >>> layer = Recurrent(LSTMCell(16), return_sequences=True)
        >>> layer(np.zeros((4, 10, 3), "float32")).shape
        TensorShape([4, 10, 16])
    """

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
            raise ValueError(
                "cell must be a recurrent cell with a `call(inputs, states)` method "
                f"and a `state_size` attribute, got {cell!r}"
            )
        state_size = cell.state_size
        if isinstance(state_size, int):
            state_size = [state_size]
        if not isinstance(state_size, (list, tuple)) or not all(
            isinstance(s, int) and s > 0 for s in state_size
        ):
            raise ValueError(
                "cell.state_size must be a positive integer or a list of them, "
                f"got {cell.state_size!r}"
            )
        super().__init__(**kwargs)
        self.cell = cell
        self.state_size = list(state_size)
        self.return_sequences = check_flag("return_sequences", return_sequences)
        self.return_state = check_flag("return_state", return_state)
        self.go_backwards = check_flag("go_backwards", go_backwards)
        self.stateful = check_flag("stateful", stateful)
        self.unroll = check_flag("unroll", unroll)
        self.zero_output_for_mask = check_flag("zero_output_for_mask", zero_output_for_mask)
        self.supports_masking = True
        self._cell_takes_training = "training" in inspect.signature(cell.call).parameters
        # Stateful layers keep their states in variables that are not weights
        # (as Keras's RNN): bypass Layer.__setattr__ so they are not tracked.
        object.__setattr__(self, "states", None)

    @property
    def output_size(self):
        size = getattr(self.cell, "output_size", None)
        return self.state_size[0] if size is None else size

    # --- shapes ---

    def check_sequences_shape(self, shape):
        if len(shape) != 3:
            raise ValueError(
                f"{self.name}: sequences must have rank 3 (batch, time, features), "
                f"got shape {tuple(shape)}"
            )
        if shape[1] == 0:
            raise ValueError(
                f"{self.name}: sequences must have at least one time step, "
                f"got shape {tuple(shape)}"
            )
        if shape[2] is None:
            raise ValueError(
                f"{self.name}: the feature axis of sequences must be known, "
                f"got shape {tuple(shape)}"
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self.check_sequences_shape(sequences_shape)
        if self.unroll and sequences_shape[1] is None:
            raise ValueError(
                f"{self.name}: unroll=True needs a fixed number of time steps, "
                f"got sequences shape {tuple(sequences_shape)}; give the Input a "
                "shape with the time axis"
            )
        if isinstance(self.cell, keras.layers.Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0], sequences_shape[2]))
        if self.stateful:
            batch_size = sequences_shape[0]
            if batch_size is None:
                raise ValueError(
                    f"{self.name}: stateful=True needs a fixed batch size, got "
                    f"sequences shape {tuple(sequences_shape)}; give the Input a "
                    "batch_shape"
                )
            if self.states is None:
                states = [
                    keras.Variable(
                        ops.zeros((batch_size, size)),
                        trainable=False,
                        dtype=self.variable_dtype,
                        name="rnn_state",
                    )
                    for size in self.state_size
                ]
                object.__setattr__(self, "states", states)
            else:
                self.reset_state()

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch_size, steps = sequences_shape[0], sequences_shape[1]
        if self.return_sequences:
            output_shape = (batch_size, steps, self.output_size)
        else:
            output_shape = (batch_size, self.output_size)
        if self.return_state:
            return (output_shape,) + tuple((batch_size, s) for s in self.state_size)
        return output_shape

    def compute_mask(self, sequences, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # --- states ---

    def get_initial_state(self, batch_size):
        make = getattr(self.cell, "get_initial_state", None)
        if make is not None:
            states = make(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return [ops.zeros((batch_size, s), dtype=self.compute_dtype) for s in self.state_size]

    def reset_state(self):
        """Zero the states of a stateful layer."""
        if self.states is not None:
            for state in self.states:
                state.assign(ops.zeros_like(state))

    def reset_states(self):
        self.reset_state()

    def check_initial_state(self, initial_state, batch_size):
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if len(initial_state) != len(self.state_size):
            raise ValueError(
                f"{self.name}: initial_state must hold {len(self.state_size)} "
                f"tensor(s) of sizes {self.state_size}, got {len(initial_state)}"
            )
        states = []
        for state, size in zip(initial_state, self.state_size):
            state = ops.cast(state, self.compute_dtype)
            shape = tuple(state.shape)
            if len(shape) != 2 or shape[1] not in (None, size) or (
                None not in (shape[0], batch_size) and shape[0] != batch_size
            ):
                raise ValueError(
                    f"{self.name}: each initial_state must have shape "
                    f"(batch, size) with sizes {self.state_size} and batch "
                    f"{batch_size}, got shape {shape}"
                )
            states.append(state)
        return states

    # --- the loop ---

    def call(self, sequences, initial_state=None, mask=None, training=False):
        dtype = keras.backend.standardize_dtype(sequences.dtype)
        if not keras.backend.is_float_dtype(dtype):
            raise ValueError(
                f"{self.name}: sequences must be floating point, got dtype {dtype}; "
                "cast them (e.g. x.astype('float32'))"
            )
        self.check_sequences_shape(sequences.shape)
        batch_size = ops.shape(sequences)[0]
        if mask is not None:
            mask = self.check_mask(mask, sequences)
        if initial_state is not None:
            states = self.check_initial_state(initial_state, sequences.shape[0])
        elif self.stateful:
            states = [ops.convert_to_tensor(s) for s in self.states]
        else:
            states = self.get_initial_state(batch_size)
        if self.stateful and self.states is not None:
            expected = self.states[0].shape[0]
            if sequences.shape[0] is not None and sequences.shape[0] != expected:
                raise ValueError(
                    f"{self.name}: a stateful layer needs batches of {expected}, "
                    f"got sequences of shape {tuple(sequences.shape)}"
                )
        states = [ops.cast(s, self.compute_dtype) for s in states]

        # Draw this call's dropout masks before the loop, as keras.layers.RNN.
        if isinstance(self.cell, DropoutRNNCell):
            self.cell.get_dropout_mask(sequences[:, 0, :])
            self.cell.get_recurrent_dropout_mask(states[0])
        try:
            last_output, outputs, states = self.run_over_time(
                sequences, states, mask, bool(training)
            )
        finally:
            if isinstance(self.cell, DropoutRNNCell):
                self.cell.reset_dropout_mask()
                self.cell.reset_recurrent_dropout_mask()

        if self.stateful:
            for variable, state in zip(self.states, states):
                variable.assign(ops.cast(state, variable.dtype))
        output = outputs if self.return_sequences else last_output
        if self.return_state:
            return (output, *states)
        return output

    def check_mask(self, mask, sequences):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        mask = ops.convert_to_tensor(mask)
        shape, expected = tuple(mask.shape), tuple(sequences.shape[:2])
        if len(shape) != 2 or any(
            a is not None and b is not None and a != b for a, b in zip(shape, expected)
        ):
            raise ValueError(
                f"{self.name}: mask must have shape (batch, time) = {expected}, "
                f"got shape {shape}"
            )
        return ops.cast(mask, "bool")

    def step(self, inputs_t, states, training):
        """One step on a time slice; returns ``(output, new_states)``."""
        kwargs = {"training": training} if self._cell_takes_training else {}
        output, new_states = self.cell(inputs_t, list(states), **kwargs)
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        return output, list(new_states)

    def uses_bptt_scan(self, training):
        """Training calls of our cells (without recurrent dropout) use the
        hand-written BPTT of :mod:`keras_seq.layers.bptt_scan`."""
        return (
            training
            and not self.unroll
            and isinstance(self.cell, RecurrentCell)
            and self.cell.recurrent_dropout == 0.0
        )

    def run_over_time(self, sequences, states, mask, training):
        """Returns ``(last_output, outputs or None, final_states)``."""
        inputs = ops.transpose(sequences, (1, 0, 2))  # time-major
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(mask, (1, 0)), -1)  # (T, batch, 1)
        if self.go_backwards:
            # Flip the inputs, not their (gates * units)-wide projection.
            inputs = ops.flip(inputs, 0)
            mask = None if mask is None else ops.flip(mask, 0)
        if self.uses_bptt_scan(training):
            cell, dtype = self.cell, self.compute_dtype
            bias = ops.zeros((cell.recurrent_kernel.shape[1],)) if cell.bias is None else cell.bias
            outputs, states = scan_with_bptt(
                cell,
                cell.dropped_inputs(inputs, training, time_major=True),
                states,
                ops.cast(cell.kernel, dtype),
                ops.cast(bias, dtype),
                ops.cast(cell.recurrent_kernel, dtype),
                mask=mask,
                output_size=self.output_size,
                return_sequences=self.return_sequences,
                zero_output_for_mask=self.zero_output_for_mask,
            )
            if self.return_sequences:
                return outputs[-1], ops.transpose(outputs, (1, 0, 2)), states
            return outputs, None, states
        zero_output = ops.zeros(
            (ops.shape(inputs)[1], self.output_size), dtype=self.compute_dtype
        )

        def masked_step(inputs_t, mask_t, prev_output, states):
            output, new_states = self.step(inputs_t, states, training)
            if mask_t is None:
                return output, new_states
            carried = zero_output if self.zero_output_for_mask else prev_output
            output = ops.where(mask_t, output, carried)
            new_states = [ops.where(mask_t, new, old) for new, old in zip(new_states, states)]
            return output, new_states

        if self.unroll:
            return self.run_unrolled(inputs, mask, zero_output, states, masked_step)
        return self.run_while_loop(inputs, mask, zero_output, states, masked_step)

    def run_unrolled(self, inputs, mask, zero_output, states, masked_step):
        steps = inputs.shape[0]
        if steps is None:
            raise ValueError(
                f"{self.name}: unroll=True needs a fixed number of time steps; "
                "give the Input a shape with the time axis"
            )
        output, outputs = zero_output, []
        for t in range(steps):
            mask_t = None if mask is None else mask[t]
            output, states = masked_step(inputs[t], mask_t, output, states)
            if self.return_sequences:
                outputs.append(output)
        sequence = ops.stack(outputs, axis=1) if self.return_sequences else None
        return output, sequence, states

    def run_while_loop(self, inputs, mask, zero_output, states, masked_step):
        # tf.while_loop over TensorArrays: keras.ops has no loop that writes
        # one output per step without copying the whole buffer each step, and
        # this is the loop TFLite lowers to its WHILE op.
        steps = tf.shape(inputs)[0]
        if inputs.shape[0] is None:
            # Only known at run time: a clear error instead of a failed read.
            tf.debugging.assert_positive(
                steps, message=f"{self.name}: sequences must have at least one time step"
            )
        input_ta = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs)
        mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)
        output_ta = (
            tf.TensorArray(self.compute_dtype, size=steps, element_shape=zero_output.shape)
            if self.return_sequences
            else None
        )

        def body(t, output_ta, prev_output, *states):
            mask_t = None if mask_ta is None else mask_ta.read(t)
            output, new_states = masked_step(input_ta.read(t), mask_t, prev_output, list(states))
            if output_ta is not None:
                output_ta = output_ta.write(t, output)
            new_states = [keep_shape(n, s) for n, s in zip(new_states, states)]
            return (t + 1, output_ta, output, *new_states)

        if output_ta is None:
            # A TensorArray loop variable cannot be None: drop it from the loop.
            def body_without_outputs(t, prev_output, *states):
                t, _, output, *new_states = body(t, None, prev_output, *states)
                return (t, output, *new_states)

            t, last_output, *final_states = tf.while_loop(
                lambda t, *_: t < steps,
                body_without_outputs,
                (tf.constant(0), zero_output, *states),
                maximum_iterations=inputs.shape[0] or steps,
            )
            return last_output, None, final_states
        t, output_ta, last_output, *final_states = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), output_ta, zero_output, *states),
            maximum_iterations=inputs.shape[0] or steps,
        )
        outputs = ops.transpose(output_ta.stack(), (1, 0, 2))
        return last_output, outputs, final_states

    def get_config(self):
        config = {
            "cell": keras.saving.serialize_keras_object(self.cell),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
