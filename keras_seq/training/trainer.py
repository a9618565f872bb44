"""Minibatch training of a Keras model under a ``tf.distribute`` strategy, resumable and NaN-safe.

Each step minimises the weighted mean cross-entropy of one global batch,

    L = sum_n w_n * CE(y_n, y_hat_n) / sum_n w_n,

with ``w_n`` 0 for padding, split over the strategy's replicas so that the
update equals the one-device update on the whole batch (see
:mod:`keras_seq.training.distributed_step`). Gradient clipping
(``clipnorm``, ``global_clipnorm``) is the optimizer's own.

The loop is written with ``strategy.run`` instead of ``Model.fit`` because
Keras 3's ``fit`` does not run under ``MultiWorkerMirroredStrategy``
(keras-team/keras#20585); the same loop serves every strategy.
:func:`run_epochs` is that loop (resume, NaN stop, save and back up after
every epoch) with the step and the epoch's data as hooks; the word reader's
CTC training (:func:`keras_seq.training.words.train_words`) runs in it too.
"""

import dataclasses
import math
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from keras_seq import arguments, atomic_files, saving
from keras_seq.training import distribute
from keras_seq.training.distributed_step import DistributedStep
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
    _check_options(epochs, batch_size, learning_rate, clipnorm, global_clipnorm)
    data = checked_data(x, y, sample_weight)
    strategy = strategy or tf.distribute.get_strategy()
    folder = prepared_folder(out_dir, strategy)
    model, optimizer = _compiled_model(build_model, strategy, learning_rate, clipnorm, global_clipnorm)
    distributed = DistributedStep(model, optimizer, strategy)
    data_seed = int(np.random.randint(2**31)) if data_seed is None else data_seed

    def epoch_batches(epoch):
        if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            optimizer.learning_rate = learning_rate  # this run's rate, not the one in a backup
        order = np.random.default_rng([data_seed, epoch]).permutation(len(data[0]))
        starts = range(0, len(order), batch_size)
        # A last batch too small to give every replica an example is skipped.
        rows = (order[start:start + batch_size] for start in starts)
        return (r for r in rows if len(r) >= distributed.replicas), len(starts)

    def step(rows):
        return (*distributed(*(array[rows] for array in data)), len(rows))

    history, resumed_from = run_epochs(model, optimizer, step, epoch_batches, folder=folder, epochs=epochs,
                                       backup=RunBackup(folder / BACKUP_FOLDER, run or {}), log=log)
    return TrainingResult(model, folder, max(epochs, resumed_from), resumed_from, history, _steps(optimizer))


def run_epochs(model, optimizer, step, epoch_batches, *, folder, epochs, backup, log=None, end_of_epoch=None,
               saved_model=None, progress_every=None):
    """Train ``model`` until ``epochs`` epochs are done: resume, step, stop on NaN, save and back up each epoch.

    The epochs ``backup`` holds are not run again. For each other epoch e
    (0-based), ``epoch_batches(e)`` gives ``(batches, count)``: an iterable
    of batches and how many it holds (for the messages); ``step(batch)``
    takes one optimizer step and returns ``(loss, non_finite, examples)``,
    the batch's mean loss, its count of NaN or infinite gradient entries and
    its size. The epoch's loss is the mean per example. A NaN or infinite
    loss or gradient raises :class:`NonFiniteLossError` naming the epoch,
    batch and optimizer step; the last finished epoch's files are left as
    they were. After each epoch, ``end_of_epoch(e)`` (if given) returns
    ``(figures, text)``: more entries for the epoch's history and for its
    log line. Then ``saved_model(model)`` (default ``model``) is saved to
    ``folder/model.keras`` and the weights and optimizer state to
    ``backup``, both atomically, so a rerun continues after this epoch.

    Args:
        model, optimizer: the model trained and its (built) optimizer.
        step: the step hook, ``step(batch) -> (loss, non_finite, examples)``.
        epoch_batches: ``epoch_batches(epoch) -> (batches, count)``.
        folder: the run folder (see :func:`prepared_folder`).
        epochs: total epochs (int >= 1).
        backup: the run's :class:`keras_seq.training.resume.RunBackup`.
        log: called with each progress line (default: print it).
        end_of_epoch: ``end_of_epoch(epoch) -> (dict, str)``, or None.
        saved_model: ``saved_model(model) -> keras.Model`` to save, or None.
        progress_every: also log the running loss every this many batches (None: never).

    Returns:
        ``(history, resumed_from)``: one dict per finished epoch (``epoch``,
        ``loss``, the ``end_of_epoch`` figures, ``seconds``) over all reruns,
        and the epochs the backup held at the start.
    """
    log = log or _print_line
    saved_model = saved_model or (lambda m: m)
    state = backup.restore(model)
    resumed_from, history = state["epochs_done"], state["history"]
    if resumed_from:
        log(f"resuming from {backup.folder} after epoch {resumed_from}")
    for epoch in range(resumed_from, epochs):
        started = time.perf_counter()
        batches, count = epoch_batches(epoch)
        total, seen = 0.0, 0
        for index, batch in enumerate(batches):
            loss, non_finite, examples = step(batch)
            loss, non_finite = float(loss), int(non_finite)
            if not math.isfinite(loss) or non_finite:
                raise NonFiniteLossError(_non_finite_message(
                    loss, non_finite, epoch, index, count, optimizer, _kept_checkpoint(folder, len(history))))
            total += loss * examples
            seen += examples
            if progress_every and (index + 1) % progress_every == 0:
                log(f"  epoch {epoch + 1}/{epochs} batch {index + 1}/{count}: loss {total / seen:.3f}")
        figures, text = end_of_epoch(epoch) if end_of_epoch else ({}, "")
        history.append({"epoch": epoch + 1, "loss": total / seen, **figures,
                        "seconds": round(time.perf_counter() - started, 3)})
        saving.save_model(saved_model(model), folder / MODEL_FILE)
        backup.save(model, epoch + 1, history)  # state.json last: the epoch counts as done from here
        log(f"epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}{text} ({history[-1]['seconds']:.1f} s)")
    if not (folder / MODEL_FILE).exists():
        saving.save_model(saved_model(model), folder / MODEL_FILE)
    return history, resumed_from


def _check_options(epochs, batch_size, learning_rate, clipnorm, global_clipnorm):
    arguments.positive_int(epochs, "epochs")
    arguments.positive_int(batch_size, "batch_size")
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        arguments.positive_real(learning_rate, "learning_rate")
    for name, value in (("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm)):
        if value is not None:
            arguments.positive_real(value, name)
    if clipnorm is not None and global_clipnorm is not None:
        raise ValueError(
            f"clipnorm={clipnorm} and global_clipnorm={global_clipnorm} are both set; "
            "choose one (per-variable or global clipping)"
        )


def checked_data(x, y, sample_weight=None):
    """``(x, y, weights)`` as arrays; refused when empty, mismatched or not finite.

    ``weights`` is ``sample_weight`` as float32 (all ones when it is None).
    """
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
    return x, y, weights


def _print_line(line):
    print(line, flush=True)


def prepared_folder(out_dir, strategy=None):
    """This process's run folder (``out_dir`` but on a cluster's other workers), created, with the temporaries
    of a killed run removed."""
    strategy = strategy or tf.distribute.get_strategy()
    folder = distribute.worker_dir(out_dir, strategy)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_files.remove_stale_temporaries(folder)
    atomic_files.remove_stale_temporaries(folder / BACKUP_FOLDER)
    return folder


def _compiled_model(build_model, strategy, learning_rate, clipnorm, global_clipnorm):
    """``build_model()`` compiled with Adam under ``strategy``, the optimizer's slots built."""
    with strategy.scope():
        model = build_model()
        optimizer = keras.optimizers.Adam(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        optimizer.build(model.trainable_variables)
    return model, optimizer


def _steps(optimizer):
    return int(optimizer.iterations.numpy())


def _kept_checkpoint(folder, epochs_done):
    if not epochs_done:
        return "no epoch had finished, so there is no checkpoint to keep"
    return (f"the last good checkpoint, after epoch {epochs_done}, is kept in "
            f"{folder / BACKUP_FOLDER} and {folder / MODEL_FILE}")


def _non_finite_message(loss, non_finite, epoch, step, steps_per_epoch, optimizer, kept):
    if math.isfinite(loss):
        what = f"{non_finite} gradient entries became NaN or infinite (loss {loss:.4g})"
    else:
        what = f"loss became {loss}"
    return (
        f"{what} at epoch {epoch + 1}, batch {step + 1} of {steps_per_epoch} "
        f"(optimizer step {_steps(optimizer)}); training stopped and {kept}. "
        "A lower learning rate or gradient clipping avoids it; training again into the same folder "
        "continues from the checkpoint."
    )
