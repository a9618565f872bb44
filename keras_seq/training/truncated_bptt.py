"""Truncated backpropagation through time: train on long sequences k steps at a time.

Full BPTT unrolls all T steps of a sequence and backpropagates through every
one of them, with memory growing with T and gradients that explode or vanish
over long spans. Truncated BPTT (Williams and Peng 1990) limits the number of
steps the gradient travels back through: the sequence is cut into chunks of
k steps,

    [x_1 .. x_k], [x_{k+1} .. x_{2k}], ...,

and each chunk is one training step. The state reached at the end of a chunk
is the initial state of the next, so the forward pass is exactly the
untruncated one, but it enters as a constant: the gradient of a loss at step
t reaches the inputs and states of its own chunk only, back to step
``k * floor((t - 1) / k) + 1``, and never crosses a chunk boundary.

The state is carried by the recurrent layers themselves (``stateful=True``):
they keep their last states in variables, which the next chunk reads and no
gradient flows through.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_seq import arguments
from keras_seq.training.gradient_flow import BIDIRECTIONAL_TYPES, RECURRENT_TYPES


class TruncatedBPTT:
    """Trains a stateful recurrent model by chunks of k time steps.

    The model is yours, built with every recurrent layer ``stateful=True``,
    a fixed batch size B (``keras.Input(batch_shape=(B, None, features))``)
    and one output per step (``return_sequences=True`` on the last recurrent
    layer), and compiled as usual. ``fit`` walks each batch of B sequences
    through its chunks in order: the layers' states are zeroed before a new
    batch's first chunk and carried from one chunk to the next, and every
    chunk is one optimizer step on the loss of its own k steps, with the
    gradient cut at the chunk's start (see the module docstring).

    A sequence of T steps gives ``ceil(T / k)`` chunks; when k does not divide
    T the last chunk is shorter, and when T <= k the one chunk is the whole
    sequence (plain BPTT).

    Args:
        model: the stateful model, as above. ``Bidirectional`` layers are
            refused: their backward direction reads the future of the chunk.
        k: chunk length in time steps, a positive int.

    Example:
        >>> model = keras.Sequential([
        ...     keras.Input(batch_shape=(8, None, 1)),
        ...     keras_seq.layers.LSTM(32, return_sequences=True, stateful=True),
        ...     keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.Adam(global_clipnorm=1.0), loss="mse")
        >>> tbptt = TruncatedBPTT(model, k=20)
        >>> history = tbptt.fit(x, y, epochs=5)   # x (N, T, 1), y (N, T, 1), N % 8 == 0
        >>> y_pred = tbptt.predict(x)             # chunked, same as one pass over T
    """

    def __init__(self, model, k):
        self.model = model
        self.k = arguments.positive_int(k, "k")
        self.recurrent_layers = stateful_recurrent_layers(model)
        self.batch_size = int(self.recurrent_layers[0].states[0].shape[0])

    def chunks(self, steps):
        """The ``(start, stop)`` time ranges of the chunks of a ``steps``-long sequence."""
        steps = arguments.positive_int(steps, "steps")
        return [(start, min(start + self.k, steps)) for start in range(0, steps, self.k)]

    def reset_states(self):
        """Zero the states of all recurrent layers (before a new batch of sequences)."""
        for layer in self.recurrent_layers:
            layer.reset_state()

    def forward(self, x, training=False):
        """One batch of B sequences (B, T, ...) chunk by chunk; returns the model's (B, T, ...) output tensor.

        The states are zeroed first. Differentiable: run it under a
        ``tf.GradientTape`` to see the gradient cut at chunk boundaries.
        """
        self._check_batch("x", x)
        self.reset_states()
        outputs = []
        for start, stop in self.chunks(int(x.shape[1])):
            output = self.model(x[:, start:stop], training=training)
            self._check_per_step_output(output, stop - start)
            outputs.append(output)
        return keras.ops.concatenate(outputs, axis=1)

    def predict(self, x):
        """Outputs for all N sequences (N, T, ...) as a numpy array, computed chunk by chunk."""
        x = self._check_x(x)
        outputs = [
            keras.ops.convert_to_numpy(self.forward(x[start : start + self.batch_size]))
            for start in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(outputs)

    def fit(self, x, y, epochs=1, shuffle=True, callbacks=None, verbose=0):
        """Train with ``model.fit``, one step per chunk; returns its ``History``.

        Args:
            x: (N, T, ...) inputs, N a multiple of the batch size B.
            y: (N, T, ...) per-step targets.
            epochs: passes over the data.
            shuffle: shuffle the order of the sequences (never of the chunks)
                each epoch, with NumPy's global generator.
            callbacks: Keras callbacks (``GradientNormMonitor`` ...); their
                ``batch`` is a chunk.
            verbose: as ``model.fit``.
        """
        x = self._check_x(x)
        y = np.asarray(y)
        if y.ndim < 2 or y.shape[:2] != x.shape[:2]:
            raise ValueError(
                f"y must hold per-step targets of shape (N, T, ...) = {x.shape[:2]} + (...), got shape {y.shape}"
            )
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinite values")
        arguments.positive_int(epochs, "epochs")
        if getattr(self.model, "steps_per_execution", 1) != 1:
            raise ValueError(
                f"TruncatedBPTT needs steps_per_execution=1 (states are reset between batches of "
                f"sequences), got {self.model.steps_per_execution}"
            )
        self.forward(x[: self.batch_size, : self.k])  # checks the output has a time axis
        bounds = self.chunks(x.shape[1])
        batches = len(x) // self.batch_size
        B = self.batch_size

        def chunk_stream():
            order = np.random.permutation(len(x)) if shuffle else np.arange(len(x))
            for b in range(batches):
                rows = order[b * B : (b + 1) * B]
                for start, stop in bounds:
                    yield x[rows, start:stop], y[rows, start:stop]

        dataset = tf.data.Dataset.from_generator(
            chunk_stream,
            output_signature=(
                tf.TensorSpec((B, None) + x.shape[2:], x.dtype),
                tf.TensorSpec((B, None) + y.shape[2:], y.dtype),
            ),
        ).apply(tf.data.experimental.assert_cardinality(batches * len(bounds)))
        resets = _ResetStatesEvery(self, len(bounds))
        return self.model.fit(
            dataset, epochs=epochs, shuffle=False, callbacks=[resets] + list(callbacks or []), verbose=verbose
        )

    # ----------------------------------------------------------------- checks
    def _check_x(self, x):
        x = np.asarray(x)
        if x.ndim < 3:
            raise ValueError(f"x must have shape (N, T, features...), got shape {x.shape}")
        if x.dtype.kind != "f":
            raise ValueError(f"x must be floating point, got dtype {x.dtype}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or infinite values")
        if len(x) == 0 or len(x) % self.batch_size:
            raise ValueError(
                f"x must hold a positive multiple of the model's batch size {self.batch_size} "
                f"sequences, got {len(x)}"
            )
        if x.shape[1] == 0:
            raise ValueError(f"x must have at least one time step, got shape {x.shape}")
        return x

    def _check_batch(self, name, x):
        if len(x.shape) < 3 or x.shape[0] != self.batch_size:
            raise ValueError(
                f"{name} must be one batch of shape ({self.batch_size}, T, features...), got shape {tuple(x.shape)}"
            )

    def _check_per_step_output(self, output, steps):
        if isinstance(output, (list, tuple)) or len(output.shape) < 3 or output.shape[1] != steps:
            shape = [tuple(o.shape) for o in output] if isinstance(output, (list, tuple)) else tuple(output.shape)
            raise ValueError(
                f"truncated BPTT needs a model with one output per time step (batch, T, ...); "
                f"on a {steps}-step chunk it returned shape {shape} (set return_sequences=True "
                "on the last recurrent layer)"
            )


def stateful_recurrent_layers(model):
    """All recurrent layers of ``model``, checked to be stateful and built."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    # Layer._flatten_layers: every layer inside, nested models and wrappers included.
    inner = list(model._flatten_layers(include_self=False, recursive=True))
    bidirectional = [layer.name for layer in inner if isinstance(layer, BIDIRECTIONAL_TYPES)]
    if bidirectional:
        raise ValueError(
            f"truncated BPTT cannot train Bidirectional layers {bidirectional}: their backward "
            "direction reads steps after the chunk"
        )
    recurrent = [layer for layer in inner if isinstance(layer, RECURRENT_TYPES)]
    if not recurrent:
        raise ValueError(f"model {model.name!r} has no recurrent layer to train by truncated BPTT")
    not_stateful = [layer.name for layer in recurrent if not layer.stateful]
    if not_stateful:
        raise ValueError(
            f"truncated BPTT carries the state between chunks in stateful layers; layers {not_stateful} "
            "have stateful=False. Build them with stateful=True and the model with "
            "keras.Input(batch_shape=(batch_size, None, features))"
        )
    if any(layer.states is None for layer in recurrent):
        raise ValueError(
            "the model's stateful layers are not built yet: build the model with "
            "keras.Input(batch_shape=(batch_size, None, features))"
        )
    sizes = {int(layer.states[0].shape[0]) for layer in recurrent}
    if len(sizes) != 1:
        raise ValueError(f"the model's stateful layers disagree on the batch size: {sorted(sizes)}")
    return recurrent


class _ResetStatesEvery(keras.callbacks.Callback):
    """Zeroes the states before the first chunk of every batch of sequences."""

    def __init__(self, tbptt, chunks_per_batch):
        super().__init__()
        self.tbptt = tbptt
        self.chunks_per_batch = chunks_per_batch

    def on_train_batch_begin(self, batch, logs=None):
        if batch % self.chunks_per_batch == 0:
            self.tbptt.reset_states()

    def on_epoch_end(self, epoch, logs=None):
        self.tbptt.reset_states()  # no state leaks into validation or the next epoch
