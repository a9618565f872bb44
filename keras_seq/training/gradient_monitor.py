"""A callback that records the gradient norm before clipping, at every step.

Gradient clipping by norm (Pascanu, Mikolov and Bengio 2013) with threshold tau:

    G = g                      if ||g||_2 <= tau
    G = (tau / ||g||_2) * g    otherwise

Keras applies it inside ``optimizer.apply`` (``global_clipnorm``: g is all
gradients together; ``clipnorm``: each variable's gradient on its own), so
the norm of the *unclipped* g is never returned to the caller. The monitor
reads it where it still exists: it wraps ``optimizer.apply`` for the length
of ``fit`` and measures the gradients on their way in.
"""

import keras
import numpy as np
from keras import ops


class GradientNormMonitor(keras.callbacks.Callback):
    """Records ||g||_2 over all trainable variables before clipping, per step.

    ``||g||_2 = sqrt(sum_v ||g_v||_2^2)``, the norm ``global_clipnorm``
    compares with tau. A step counts as *clipped* when the optimizer's own
    clipping changed the gradient: ``||g||_2 > global_clipnorm``; for
    ``clipnorm``, some variable with ``||g_v||_2 > clipnorm``; for
    ``clipvalue``, some entry with ``|g_i| > clipvalue``; never when the
    optimizer does not clip.

    The monitor wraps ``model.optimizer.apply`` (the inner optimizer of a
    ``LossScaleOptimizer``, with the loss scale divided out) from
    ``on_train_begin`` to ``on_train_end``, and rebuilds the model's train
    function both times so the wrapper is traced in and out. One norm is
    recorded per applied update, also with ``steps_per_execution > 1``. Under
    a multi-replica ``tf.distribute`` strategy the first replica's local
    gradients are measured.

    After ``fit``:
        norms: float64 array (steps,), ||g||_2 at every step of the last
            ``fit`` (a non-finite gradient is recorded as inf/nan).
        clipped: bool array (steps,), whether clipping fired at that step.
        clip_fraction: float, the share of steps where clipping fired.
        epoch_norms: list with one array of norms per epoch.

    Each epoch it adds to the logs (so to ``History`` and the progress bar):
    ``grad_norm`` (mean ||g||_2 over the epoch's steps), ``grad_norm_max``
    and ``clip_fraction``; each batch's logs get that step's ``grad_norm``.

    Example:
        >>> model.compile(optimizer=keras.optimizers.SGD(0.1, global_clipnorm=1.0),
        ...               loss="mse")
        >>> monitor = GradientNormMonitor()
        >>> history = model.fit(x, y, epochs=3, callbacks=[monitor])
        >>> monitor.norms, monitor.clip_fraction, history.history["clip_fraction"]
    """

    def __init__(self):
        super().__init__()
        self.epoch_norms = []
        self.epoch_clipped = []
        self._optimizer = None

    # ----------------------------------------------------------------- results
    @property
    def norms(self):
        return _concatenate(self.epoch_norms, np.float64)

    @property
    def clipped(self):
        return _concatenate(self.epoch_clipped, bool)

    @property
    def clip_fraction(self):
        clipped = self.clipped
        if clipped.size == 0:
            raise RuntimeError("GradientNormMonitor has recorded no training step yet; run model.fit with it first")
        return float(clipped.mean())

    # --------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if optimizer is None:
            raise ValueError("GradientNormMonitor needs a compiled model with an optimizer")
        # A LossScaleOptimizer unscales the gradients, then hands them to its
        # inner optimizer, which clips: measure them there.
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if optimizer.gradient_accumulation_steps:
            raise ValueError(
                "GradientNormMonitor does not support gradient_accumulation_steps="
                f"{optimizer.gradient_accumulation_steps}: the optimizer clips the accumulated "
                "gradient, not the per-batch gradients the monitor would see"
            )
        slots = int(getattr(self.model, "steps_per_execution", 1) or 1)
        with self.model.distribute_strategy.scope():
            # One slot per step of one execution of the train function; the
            # counter says how many were filled since the last read.
            self._norm_slots = keras.Variable(
                np.zeros(slots, "float32"), trainable=False, aggregation="only_first_replica", name="grad_norm_slots"
            )
            self._clipped_slots = keras.Variable(
                np.zeros(slots, "float32"), trainable=False, aggregation="only_first_replica", name="clipped_slots"
            )
            self._filled = keras.Variable(
                0, dtype="int32", trainable=False, aggregation="only_first_replica", name="filled"
            )
        self.epoch_norms, self.epoch_clipped = [], []
        self._install(optimizer)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_norms.append(np.zeros(0, np.float64))
        self.epoch_clipped.append(np.zeros(0, bool))

    def on_train_batch_end(self, batch, logs=None):
        filled = int(self._filled.numpy())
        if filled == 0:
            return
        slots = self._norm_slots.shape[0]
        if filled > slots:
            raise RuntimeError(
                f"GradientNormMonitor saw {filled} updates in one step of {slots}; was apply called twice?"
            )
        norms = self._norm_slots.numpy()[:filled].astype(np.float64)
        clipped = self._clipped_slots.numpy()[:filled] > 0.5
        self._filled.assign(0)
        self.epoch_norms[-1] = np.concatenate([self.epoch_norms[-1], norms])
        self.epoch_clipped[-1] = np.concatenate([self.epoch_clipped[-1], clipped])
        if logs is not None:
            logs["grad_norm"] = float(norms[-1])

    def on_epoch_end(self, epoch, logs=None):
        norms, clipped = self.epoch_norms[-1], self.epoch_clipped[-1]
        if logs is not None and norms.size:
            logs["grad_norm"] = float(norms.mean())
            logs["grad_norm_max"] = float(norms.max())
            logs["clip_fraction"] = float(clipped.mean())

    def on_train_end(self, logs=None):
        self._uninstall()

    # ------------------------------------------------------------ the wrapper
    def _install(self, optimizer):
        self._uninstall()
        original_apply = optimizer.apply

        def apply_and_record(grads, trainable_variables=None):
            self._record(optimizer, grads)
            return original_apply(grads, trainable_variables)

        optimizer.apply = apply_and_record
        self._optimizer = optimizer
        # The train function may already be traced without the wrapper.
        self.model.make_train_function(force=True)

    def _uninstall(self):
        if self._optimizer is not None:
            del self._optimizer.apply  # back to the class's method
            self._optimizer = None
            self.model.make_train_function(force=True)

    def _record(self, optimizer, grads):
        grads = [ops.convert_to_tensor(g, "float32") for g in grads if g is not None]
        if optimizer.loss_scale_factor is not None:
            grads = [g / optimizer.loss_scale_factor for g in grads]
        squares = [ops.sum(ops.square(g)) for g in grads]
        norm = ops.sqrt(ops.sum(ops.stack(squares)))
        # Mirror BaseOptimizer._clip_gradients: same options, same order.
        if optimizer.clipnorm and optimizer.clipnorm > 0:
            clipped = ops.any(ops.sqrt(ops.stack(squares)) > optimizer.clipnorm)
        elif optimizer.global_clipnorm and optimizer.global_clipnorm > 0:
            clipped = norm > optimizer.global_clipnorm
        elif optimizer.clipvalue and optimizer.clipvalue > 0:
            clipped = ops.any(ops.stack([ops.max(ops.abs(g)) for g in grads]) > optimizer.clipvalue)
        else:
            clipped = ops.convert_to_tensor(False)
        slot = ops.reshape(ops.minimum(self._filled.value, self._norm_slots.shape[0] - 1), (1, 1))
        self._norm_slots.assign(ops.scatter_update(self._norm_slots.value, slot, ops.reshape(norm, (1,))))
        self._clipped_slots.assign(
            ops.scatter_update(self._clipped_slots.value, slot, ops.reshape(ops.cast(clipped, "float32"), (1,)))
        )
        self._filled.assign_add(1)


def _concatenate(arrays, dtype):
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
