"""Minibatch training of a Keras model under a ``tf.distribute`` strategy, resumable and NaN-safe.

Each step minimises the weighted mean cross-entropy of one global batch,

    L = sum_n w_n * CE(y_n, y_hat_n) / sum_n w_n,

where ``w_n`` is 1 for an example (or a real letter) and 0 for padding. The
batch is split over the strategy's R replicas (across workers for
``MultiWorkerMirroredStrategy``); replica r computes
``sum_{n in r} w_n CE_n / sum_n w_n`` (the denominator all-reduced over
replicas), and the optimizer sums the replicas' gradients, so the update
equals the one-device update on the whole batch. Gradient clipping
(``clipnorm``, ``global_clipnorm``) is the optimizer's own.

The loop is written with ``strategy.run`` instead of ``Model.fit`` because
Keras 3's ``fit`` does not run under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585); the same loop serves every strategy.
"""

import dataclasses
import math
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from keras_seq import atomic_files
from keras_seq.training import distribute
from keras_seq.training.resume import RunBackup

MODEL_FILE = "model.keras"
BACKUP_FOLDER = "backup"


class NonFiniteLossError(FloatingPointError):
    """The training loss (or a gradient) became NaN or infinite; the message names the step."""


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train` leaves behind.

    Attributes:
        model: the trained model (weights after the last finished epoch).
        folder: where this process wrote ``model.keras`` and ``backup/``.
        epochs_done: finished epochs in total, over all reruns.
        resumed_from: finished epochs found in the backup at the start (0 on a fresh run).
        history: one dict per finished epoch: ``epoch``, ``loss``, ``seconds``.
        steps: optimizer steps taken in total.
    """

    model: keras.Model
    folder: pathlib.Path
    epochs_done: int
    resumed_from: int
    history: list
    steps: int


def train(build_model, x, y, sample_weight=None, *, out_dir, epochs, batch_size=32,
          strategy=None, learning_rate=1e-3, clipnorm=None, global_clipnorm=None,
          data_seed=None, run=None, log=None):
    """Train ``build_model()`` on ``(x, y)`` for ``epochs`` epochs, continuing any backup in ``out_dir``.

    After every epoch the weights and optimizer state are backed up in
    ``out_dir/backup`` and the model is saved to ``out_dir/model.keras``
    (both atomically), so a rerun with the same ``out_dir`` continues from
    the last finished epoch and ends after ``epochs`` epochs in total. A NaN
    or infinite loss (or gradient) stops training with
    :class:`NonFiniteLossError` naming the step; the last good checkpoint is
    left untouched.

    Args:
        build_model: callable returning an uncompiled ``keras.Model`` whose
            output is a softmax (per example, or per step of a sequence).
        x, y: inputs and integer labels (NumPy arrays, same first dimension).
        sample_weight: per-label weights shaped like ``y`` (0 masks a padding
            step out); default all ones.
        out_dir: the run folder.
        epochs: total number of epochs (int >= 1).
        batch_size: global batch size (int >= 1), split over the replicas.
        strategy: a ``tf.distribute.Strategy`` (see
            :func:`keras_seq.training.distribute.make_strategy`); default none.
        learning_rate: Adam's step size (> 0), or a
            ``keras.optimizers.schedules.LearningRateSchedule`` of the step
            count (it continues where it was on a resumed run).
        clipnorm: clip each variable's gradient to this L2 norm (> 0).
        global_clipnorm: clip all gradients together to this L2 norm (> 0);
            at most one of ``clipnorm`` and ``global_clipnorm``.
        data_seed: seed of the data order (all workers of a cluster must use
            the same); default a random one.
        run: JSON-able description of the run; a backup made by a different
            run is refused.
        log: called with one line of progress per epoch (default: print it).

    Returns:
        A :class:`TrainingResult`.
    """
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        _check_positive_number("learning_rate", learning_rate)
    for name, value in (("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm)):
        if value is not None:
            _check_positive_number(name, value)
    if clipnorm is not None and global_clipnorm is not None:
        raise ValueError(
            f"clipnorm={clipnorm} and global_clipnorm={global_clipnorm} are both set; "
            "choose one (per-variable or global clipping)"
        )
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) == 0:
        raise ValueError("the training set is empty (0 examples); nothing to train on")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    weights = np.ones(y.shape, "float32") if sample_weight is None else np.asarray(sample_weight, "float32")
    if weights.shape != y.shape:
        raise ValueError(f"sample_weight has shape {weights.shape}, expected the shape of y {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x holds NaN or infinite values")

    log = log or (lambda line: print(line, flush=True))
    strategy = strategy or tf.distribute.get_strategy()
    folder = distribute.worker_dir(out_dir, strategy)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_files.remove_stale_temporaries(folder)
    atomic_files.remove_stale_temporaries(folder / BACKUP_FOLDER)
    replicas = strategy.num_replicas_in_sync

    with strategy.scope():
        model = build_model()
        optimizer = keras.optimizers.Adam(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        optimizer.build(model.trainable_variables)
    backup = RunBackup(folder / BACKUP_FOLDER, run or {})
    state = backup.restore(model)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        optimizer.learning_rate = learning_rate  # this run's rate, not the one in the backup
    resumed_from, history = state["epochs_done"], state["history"]
    if resumed_from:
        log(f"resuming from {backup.folder} after epoch {resumed_from}")

    def replica_step(xb, yb, wb):
        total_weight = tf.distribute.get_replica_context().all_reduce("sum", tf.reduce_sum(wb))
        with tf.GradientTape() as tape:
            probabilities = model(xb, training=True)
            losses = keras.losses.sparse_categorical_crossentropy(yb, probabilities)
            loss = tf.math.divide_no_nan(tf.reduce_sum(losses * wb), total_weight)
            if model.losses:
                loss += tf.add_n(model.losses) / replicas
        gradients = tape.gradient(loss, model.trainable_variables)
        # Cross-entropy clips probabilities, so NaN weights can still give a finite
        # loss: count non-finite gradient entries too.
        non_finite = tf.add_n([tf.reduce_sum(tf.cast(~tf.math.is_finite(g), tf.float32))
                             for g in gradients if g is not None] + [tf.constant(0.0)])
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss, non_finite

    @tf.function(reduce_retracing=True)
    def train_step(xb, yb, wb):
        loss, non_finite = strategy.run(replica_step, args=(xb, yb, wb))
        return strategy.reduce("sum", loss, axis=None), strategy.reduce("sum", non_finite, axis=None)

    def distributed(array):
        return strategy.experimental_distribute_values_from_function(
            lambda context: np.array_split(array, replicas)[context.replica_id_in_sync_group]
        )

    if data_seed is None:
        data_seed = int(np.random.randint(2**31))
    steps_per_epoch = math.ceil(len(x) / batch_size)
    for epoch in range(resumed_from, epochs):
        started = time.perf_counter()
        order = np.random.default_rng([data_seed, epoch]).permutation(len(x))
        total, seen = 0.0, 0
        for step in range(steps_per_epoch):
            rows = order[step * batch_size:(step + 1) * batch_size]
            if len(rows) < replicas:  # a last batch too small to give every replica an example
                continue
            loss, non_finite = train_step(distributed(x[rows]), distributed(y[rows]), distributed(weights[rows]))
            loss, non_finite = float(loss), int(non_finite)
            if not math.isfinite(loss) or non_finite:
                raise NonFiniteLossError(_non_finite_message(
                    loss, non_finite, epoch, step, steps_per_epoch, optimizer, len(history), folder))
            total += loss * len(rows)
            seen += len(rows)
        history.append({"epoch": epoch + 1, "loss": total / seen, "seconds": round(time.perf_counter() - started, 3)})
        atomic_files.save_model(model, folder / MODEL_FILE)
        backup.save(model, epoch + 1, history)  # state.json last: the epoch counts as done from here
        log(f"epoch {epoch + 1}/{epochs}: loss {total / seen:.4f} ({history[-1]['seconds']:.1f} s)")
    if not (folder / MODEL_FILE).exists():
        atomic_files.save_model(model, folder / MODEL_FILE)
    return TrainingResult(model, folder, max(epochs, resumed_from), resumed_from, history, _steps(optimizer))


def _steps(optimizer):
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def _non_finite_message(loss, non_finite, epoch, step, steps_per_epoch, optimizer, epochs_done, folder):
    if epochs_done:
        kept = (f"the last good checkpoint, after epoch {epochs_done}, is kept in "
                f"{folder / BACKUP_FOLDER} and {folder / MODEL_FILE}")
    else:
        kept = "no epoch had finished, so there is no checkpoint to keep"
    what = f"loss became {loss}" if not math.isfinite(loss) else f"{non_finite} gradient entries became NaN or infinite (loss {loss:.4g})"
    return (
        f"{what} at epoch {epoch + 1}, batch {step + 1} of {steps_per_epoch} "
        f"(optimizer step {_steps(optimizer)}); training stopped and {kept}. "
        "Lower the learning rate or clip gradients (--clipnorm, --global-clipnorm), "
        "then rerun with the same --out to continue from the checkpoint."
    )


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} is not allowed; expected an int >= 1")


def _check_positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not allowed; expected a finite number > 0")
