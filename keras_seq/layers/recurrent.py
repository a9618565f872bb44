"""Running a recurrent cell over time: the unrolled RNN (Elman 1990)."""

import copy
import inspect

import keras
from keras import ops

from keras_seq import arguments
from keras_seq.layers import recurrent_math
from keras_seq.layers.bptt_scan import scan_with_bptt
from keras_seq.layers.dropout_rnn_cell import prepare_dropout_masks, reset_dropout_masks
from keras_seq.layers.keras_backend import require_tensorflow_backend
from keras_seq.layers.recurrent_cell import RecurrentCell
from keras_seq.layers.time_loops import run_unrolled, run_while_loop


def state_sizes(cell):
    """``cell.state_size`` as a list (nested for stacked cells), checked."""
    state_size = cell.state_size
    state_size = [state_size] if isinstance(state_size, int) else state_size
    if not isinstance(state_size, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in keras.tree.flatten(list(state_size))
    ):
        raise ValueError(
            f"cell.state_size must be a positive integer or a (nested) list of them, got {cell.state_size!r}"
        )
    return list(state_size)


@keras.saving.register_keras_serializable(package="keras_seq")
class Recurrent(keras.layers.Layer):
    """Runs a cell over the time axis: ``h_t = cell(x_t, h_{t-1})``, t = 1..T.

    The recurrence ``h_t = f(x_t, h_{t-1})`` of a recurrent network (Elman
    1990) unrolled from ``h_0 = 0`` (or ``initial_state``) over as many steps
    as the sequence has, sharing the cell's weights between steps. Same
    arguments, results and attributes as ``keras.layers.RNN``: a list of
    cells (or a ``keras.layers.StackedRNNCells``) runs as one stacked cell,
    ours and Keras's mixed; cells may have nested state sizes (each LSTM of
    a stack has ``[h, C]``), and ``return_state`` then returns the states in
    that nesting. Integer sequences are cast to the compute dtype; outputs
    and states are in the compute dtype (``float16`` under
    ``mixed_float16``), as ``compute_output_spec`` says.

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
            ``state_size`` (an int or a (nested) list of ints), ours or
            Keras's; or a list of cells, stacked (the first reads ``x_t``,
            each next one the output of the one before).
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
        sequences: (batch, T, features) tensor (integers are cast), T >= 1.
        initial_state: list of the cell's initial states, each (batch, size),
            nested as ``state_size`` (or flat, in that order).
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
        require_tensorflow_backend(type(self).__name__)
        if isinstance(cell, (list, tuple)):
            cell = keras.layers.StackedRNNCells(list(cell))
        if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
            raise ValueError(
                "cell must be a recurrent cell or a list of them: it should have a `call` "
                f"method and a `state_size` attribute, got {cell!r}"
            )
        state_size = state_sizes(cell)
        super().__init__(**kwargs)
        self.cell = cell
        self.state_size = state_size
        self.single_state = isinstance(cell.state_size, int)
        self.return_sequences = arguments.boolean(return_sequences, "return_sequences")
        self.return_state = arguments.boolean(return_state, "return_state")
        self.go_backwards = arguments.boolean(go_backwards, "go_backwards")
        self.stateful = arguments.boolean(stateful, "stateful")
        self.unroll = arguments.boolean(unroll, "unroll")
        self.zero_output_for_mask = arguments.boolean(zero_output_for_mask, "zero_output_for_mask")
        self.supports_masking = True
        self._cell_takes_training = "training" in inspect.signature(cell.call).parameters
        # Stateful layers keep their states in variables that are not weights
        # (as Keras's RNN): bypass Layer.__setattr__ so they are not tracked.
        object.__setattr__(self, "states", None)

    @property
    def output_size(self):
        size = getattr(self.cell, "output_size", None)
        return self.flat_state_size[0] if size is None else size

    @property
    def flat_state_size(self):
        """The sizes of the states, one int per state tensor, nesting removed."""
        return keras.tree.flatten(self.state_size)

    def pack_states(self, flat_states):
        """Flat states in the nesting of ``state_size`` (the cell's own)."""
        return keras.tree.pack_sequence_as(self.state_size, list(flat_states))

    # --- shapes ---

    def check_sequences_shape(self, shape):
        if len(shape) != 3:
            raise ValueError(
                f"{self.name}: sequences must have rank 3 (batch, time, features), got shape {tuple(shape)}"
            )
        if shape[1] == 0:
            raise ValueError(f"{self.name}: sequences must have at least one time step, got shape {tuple(shape)}")
        if shape[2] is None:
            raise ValueError(f"{self.name}: the feature axis of sequences must be known, got shape {tuple(shape)}")

    def build(self, sequences_shape, initial_state_shape=None):
        self.check_sequences_shape(sequences_shape)
        if self.unroll and sequences_shape[1] is None:
            raise ValueError(
                f"{self.name}: Cannot unroll a RNN if the time dimension is undefined: "
                "unroll=True needs a fixed number of time steps, got sequences shape "
                f"{tuple(sequences_shape)}; give the Input a shape with the time axis"
            )
        if isinstance(self.cell, keras.layers.Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0], sequences_shape[2]))
        if self.stateful:
            self.build_states(sequences_shape)

    def build_states(self, sequences_shape):
        batch_size = sequences_shape[0]
        if batch_size is None:
            raise ValueError(
                f"{self.name}: stateful=True needs a fixed batch size (the batch size must "
                f"be static), got sequences shape {tuple(sequences_shape)}; give the Input "
                "a batch_shape"
            )
        if self.states is not None:
            self.reset_state()
            return
        states = [
            keras.Variable(
                ops.zeros((batch_size, size)),
                trainable=False,
                dtype=self.variable_dtype,
                name="rnn_state",
            )
            for size in self.flat_state_size
        ]
        object.__setattr__(self, "states", self.pack_states(states))

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch_size, steps = sequences_shape[0], sequences_shape[1]
        if self.return_sequences:
            output_shape = (batch_size, steps, self.output_size)
        else:
            output_shape = (batch_size, self.output_size)
        if self.return_state:
            states = keras.tree.map_structure(lambda s: (batch_size, s), self.state_size)
            return (output_shape, *states)
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
        """The cell's initial states for ``batch_size`` rows (zeros by default), a list."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is not None:
            states = make(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        dtype = getattr(self.cell, "compute_dtype", self.compute_dtype)
        return [ops.zeros((batch_size, s), dtype=dtype) for s in self.flat_state_size]

    def reset_state(self):
        """Zero the states of a stateful layer."""
        if self.states is not None:
            for state in keras.tree.flatten(self.states):
                state.assign(ops.zeros_like(state))

    def reset_states(self):
        self.reset_state()

    def check_initial_state(self, initial_state, batch_size):
        """``initial_state`` (nested as ``state_size``, or flat) as a flat list."""
        sizes = self.flat_state_size
        flat = keras.tree.flatten(initial_state)
        if len(flat) != len(sizes):
            raise ValueError(
                f"{self.name}: initial_state must hold {len(sizes)} tensor(s) of sizes "
                f"{self.state_size}, got {len(flat)}"
            )
        states = []
        for state, size in zip(flat, sizes):
            state = ops.convert_to_tensor(state)
            shape = tuple(state.shape)
            if (
                len(shape) != 2
                or shape[1] not in (None, size)
                or (None not in (shape[0], batch_size) and shape[0] != batch_size)
            ):
                raise ValueError(
                    f"{self.name}: each initial_state must have shape (batch, size) with "
                    f"sizes {self.state_size} and batch {batch_size}, got shape {shape}"
                )
            states.append(state)
        return states

    def check_stateful_batch(self, sequences):
        expected = keras.tree.flatten(self.states)[0].shape[0]
        actual = sequences.shape[0]
        if actual is not None and actual != expected:
            raise ValueError(
                f"{self.name}: If an RNN is stateful, the batch size of the input sequences "
                "must be the same as the batch size of its states: expected batch size "
                f"{expected}, received batch size {actual} (sequences of shape "
                f"{tuple(sequences.shape)})"
            )

    def check_mask(self, mask, sequences):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        mask = ops.convert_to_tensor(mask)
        shape, expected = tuple(mask.shape), tuple(sequences.shape[:2])
        if len(shape) != 2 or any(a is not None and b is not None and a != b for a, b in zip(shape, expected)):
            raise ValueError(f"{self.name}: mask must have shape (batch, time) = {expected}, got shape {shape}")
        return ops.cast(mask, "bool")

    def float_sequences(self, sequences):
        """Sequences in the compute dtype: integers and booleans are cast, as Keras."""
        dtype = keras.backend.standardize_dtype(sequences.dtype)
        if keras.backend.is_float_dtype(dtype):
            return sequences
        if keras.backend.is_int_dtype(dtype) or dtype == "bool":
            return ops.cast(sequences, self.compute_dtype)
        raise ValueError(
            f"{self.name}: sequences must be real numbers (floating point, integer or boolean), got dtype {dtype}"
        )

    # --- the loop ---

    def call(self, sequences, initial_state=None, mask=None, training=False):
        sequences = self.float_sequences(sequences)
        self.check_sequences_shape(sequences.shape)
        if mask is not None:
            mask = self.check_mask(mask, sequences)
        if self.stateful and self.states is not None:
            self.check_stateful_batch(sequences)
        if initial_state is not None:
            states = self.check_initial_state(initial_state, sequences.shape[0])
        elif self.stateful:
            states = keras.tree.flatten(self.states)
        else:
            states = keras.tree.flatten(self.get_initial_state(ops.shape(sequences)[0]))
        states = [ops.cast(s, self.compute_dtype) for s in states]

        prepare_dropout_masks(self.cell, sequences[:, 0, :], self.pack_states(states))
        try:
            last_output, outputs, states = self.inner_loop(sequences, self.pack_states(states), mask, bool(training))
        finally:
            reset_dropout_masks(self.cell)
        # Outputs and states in the compute dtype whatever the cell's, as Keras.
        states = [ops.cast(s, self.compute_dtype) for s in keras.tree.flatten(states)]
        output = outputs if self.return_sequences else last_output
        output = ops.cast(output, self.compute_dtype)

        if self.stateful:
            for variable, state in zip(keras.tree.flatten(self.states), states):
                variable.assign(ops.cast(state, variable.dtype))
        if self.return_state:
            return (output, *self.pack_states(states))
        return output

    def step(self, inputs_t, states, training):
        """One step on a time slice and a flat list of states; returns
        ``(output, new flat states)`` in the layer's compute dtype."""
        kwargs = {"training": training} if self._cell_takes_training else {}
        output, new_states = self.cell(inputs_t, self.pack_states(states), **kwargs)
        new_states = keras.tree.flatten(new_states)
        return (
            ops.cast(output, self.compute_dtype),
            [ops.cast(s, self.compute_dtype) for s in new_states],
        )

    def uses_bptt_scan(self, training):
        """Training calls of our cells (without recurrent dropout, with one
        input dropout mask) use the hand-written BPTT of
        :mod:`keras_seq.layers.bptt_scan`."""
        cell = self.cell
        return (
            training
            and not self.unroll
            and isinstance(cell, RecurrentCell)
            and cell.recurrent_dropout == 0.0
            and not (cell.dropout > 0.0 and getattr(cell, "dropout_mask_count", None))
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """The loop over time, as Keras's ``RNN.inner_loop``: from (batch, T, d)
        ``sequences`` and the initial states (nested as ``state_size``) to
        ``(last_output, outputs or None, final_states)``, ``outputs`` being the
        (batch, T, out) sequence when ``return_sequences``."""
        states = keras.tree.flatten(initial_state)
        inputs = ops.transpose(sequences, (1, 0, 2))  # time-major
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(mask, (1, 0)), -1)  # (T, batch, 1)
        if self.go_backwards:
            # Flip the inputs, not their (gates * units)-wide projection.
            inputs = ops.flip(inputs, 0)
            mask = None if mask is None else ops.flip(mask, 0)
        if self.uses_bptt_scan(training):
            return self.run_bptt_scan(inputs, states, mask, training)
        zero_output = ops.zeros((ops.shape(inputs)[1], self.output_size), dtype=self.compute_dtype)

        def masked_step(inputs_t, mask_t, prev_output, states):
            output, new_states = self.step(inputs_t, states, training)
            output = recurrent_math.masked_output(mask_t, output, prev_output, self.zero_output_for_mask)
            return output, recurrent_math.keep_where_masked(mask_t, new_states, states)

        run = run_unrolled if self.unroll else run_while_loop
        last_output, outputs, states = run(
            inputs, mask, zero_output, states, masked_step, self.return_sequences, self.name
        )
        return last_output, outputs, self.pack_states(states)

    def run_bptt_scan(self, inputs, states, mask, training):
        """:func:`~keras_seq.layers.bptt_scan.scan_with_bptt` over time-major inputs."""
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
            return outputs[-1], ops.transpose(outputs, (1, 0, 2)), self.pack_states(states)
        return outputs, None, self.pack_states(states)

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
        config = copy.deepcopy(config)  # Keras's StackedRNNCells.from_config pops "cells" from what it is given
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)
