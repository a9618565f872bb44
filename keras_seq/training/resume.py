"""Back up a training run after every epoch, and continue it from there after an interruption.

The backup folder holds ``epoch-NNNN.weights.h5`` (the model's weights and,
for a compiled model, its optimizer's state: step count and moments) and
``state.json``, which names the weights of the last finished epoch, holds
their sha256 digest (checked before they are loaded: a damaged backup is
refused, not trained on) and keeps the per-epoch history. Every file is written atomically and ``state.json``
is written last, so a process killed at any moment (even ``SIGKILL``
half-way through a save) leaves the backup of the previous finished epoch
intact and a rerun continues from it.
"""

import json
import pathlib
import warnings

from keras_seq import atomic_files
from keras_seq.file_digest import sha256_of

STATE = "state.json"


class RunBackup:
    """The training state of one run, kept in ``folder``.

    Args:
        folder: where the backup lives (created on the first save).
        run: a JSON-able dict describing the run (task, model, ...). A backup
            made by a different run is refused instead of being loaded into
            the wrong model.

    Example:
        >>> backup = RunBackup("out/backup", run={"task": "digits", "model": "rnn"})
        >>> state = backup.restore(model)          # {"epochs_done": 0, ...} on a fresh run
        >>> for epoch in range(state["epochs_done"], epochs):
        ...     ...                                # train one epoch
        ...     backup.save(model, epoch + 1, history)
    """

    def __init__(self, folder, run):
        self.folder = pathlib.Path(folder)
        self.run = json.loads(json.dumps(run))

    @property
    def state_path(self):
        return self.folder / STATE

    def load_state(self):
        """Return the saved state dict, or ``None`` when there is no backup yet."""
        if not self.state_path.is_file():
            return None
        try:
            state = json.loads(self.state_path.read_text())
            epochs_done = state["epochs_done"]
            weights = state["weights"]
            history = state["history"]
            run = state["run"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"backup {str(self.state_path)!r} is unreadable ({error}); delete {str(self.folder)!r} to start over"
            ) from None
        if run != self.run:
            raise ValueError(
                f"the backup in {str(self.folder)!r} belongs to another run ({run}), not to {self.run}; "
                "train into another folder or delete that backup"
            )
        if not isinstance(weights, str) or "/" in weights or not (self.folder / weights).is_file():
            raise ValueError(
                f"backup {str(self.state_path)!r} names missing weights {weights!r}; "
                f"delete {str(self.folder)!r} to start over"
            )
        _check_digest(self.folder / weights, state.get("sha256"), self.folder)
        return {"epochs_done": int(epochs_done), "weights": weights, "history": list(history), "run": run}

    def restore(self, model):
        """Load the last finished epoch's weights (and optimizer state) into ``model``.

        ``model`` must be built and, to get the optimizer state back, compiled.
        Returns the state: ``epochs_done`` (0 without a backup) and ``history``.
        """
        state = self.load_state()
        if state is None:
            return {"epochs_done": 0, "weights": None, "history": [], "run": self.run}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)
        model.load_weights(self.folder / state["weights"])
        return state

    def save(self, model, epochs_done, history):
        """Back up ``model`` after ``epochs_done`` finished epochs, then drop older backups."""
        weights = f"epoch-{epochs_done:04d}.weights.h5"
        atomic_files.save_weights(model, self.folder / weights)
        atomic_files.write_json(
            {"epochs_done": epochs_done, "weights": weights, "sha256": sha256_of(self.folder / weights),
             "history": history, "run": self.run},
            self.state_path,
        )
        for old in self.folder.glob("epoch-*.weights.h5"):
            if old.name != weights:
                old.unlink()




def _check_digest(path, expected, folder):
    """Refuse weights whose sha256 differs from the one recorded when they were saved."""
    if expected is None:  # a backup from before digests were recorded
        warnings.warn(f"backup weights {str(path)!r} carry no digest; loading them unverified", stacklevel=3)
        return
    if sha256_of(path) != expected:
        raise ValueError(
            f"backup weights {str(path)!r} do not match the sha256 digest recorded when they were saved "
            f"(damaged); delete {str(folder)!r} to start over"
        )
