"""One optimizer step on one global batch, split over a ``tf.distribute`` strategy's replicas.

The step minimises the weighted mean cross-entropy of the global batch,

    L = sum_n w_n * CE(y_n, y_hat_n) / sum_n w_n,

where ``w_n`` is 1 for an example (or a real letter) and 0 for padding. The
batch is split over the strategy's R replicas (across workers for
``MultiWorkerMirroredStrategy``); replica r computes
``sum_{n in r} w_n CE_n / sum_n w_n`` (the denominator all-reduced over
replicas), and the optimizer sums the replicas' gradients, so the update
equals the one-device update on the whole batch. The model's own losses
(regularisers) are added once in total, ``1/R`` of them per replica.
"""

import keras
import numpy as np
import tensorflow as tf


class DistributedStep:
    """``step(x, y, w) -> (loss, non_finite)``: one update of ``model`` on a global batch.

    Args:
        model: a model built under ``strategy.scope()`` whose output is a
            softmax (per example, or per step of a sequence).
        optimizer: the model's optimizer, built on its trainable variables.
        strategy: the ``tf.distribute.Strategy`` the model lives under.

    Call arguments:
        x, y, w: NumPy inputs, integer labels and per-label weights of one
            global batch (at least one example per replica).

    Returns:
        ``(loss, non_finite)``: the batch's loss L as a float, and the number
        of NaN or infinite gradient entries summed over the replicas (the
        cross-entropy clips probabilities, so NaN weights can still give a
        finite loss).
    """

    def __init__(self, model, optimizer, strategy):
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.replicas = strategy.num_replicas_in_sync
        self._global_step = tf.function(self._global_step_graph, reduce_retracing=True)

    def __call__(self, x, y, w):
        loss, non_finite = self._global_step(self._split(x), self._split(y), self._split(w))
        return float(loss), int(non_finite)

    def _split(self, array):
        """One slice of ``array`` per replica, in replica order."""
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: np.array_split(array, self.replicas)[context.replica_id_in_sync_group]
        )

    def _global_step_graph(self, x, y, w):
        loss, non_finite = self.strategy.run(self._replica_step, args=(x, y, w))
        return self.strategy.reduce("sum", loss, axis=None), self.strategy.reduce("sum", non_finite, axis=None)

    def _replica_step(self, x, y, w):
        total_weight = tf.distribute.get_replica_context().all_reduce("sum", tf.reduce_sum(w))
        with tf.GradientTape() as tape:
            probabilities = self.model(x, training=True)
            losses = keras.losses.sparse_categorical_crossentropy(y, probabilities)
            loss = tf.math.divide_no_nan(tf.reduce_sum(losses * w), total_weight)
            if self.model.losses:
                loss += tf.add_n(self.model.losses) / self.replicas
        gradients = tape.gradient(loss, self.model.trainable_variables)
        non_finite = tf.add_n([tf.reduce_sum(tf.cast(~tf.math.is_finite(g), tf.float32))
                               for g in gradients if g is not None] + [tf.constant(0.0)])
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        return loss, non_finite
