"""Back up a training run after every epoch, and continue it from there after an interruption.

The backup folder holds ``epoch-NNNN.keras`` (the model with its weights and,
for a compiled model, its optimizer's state: step count and moments) and
``state.json``: the epochs done, the name and sha256 of the weights of the
last finished epoch, the per-epoch history and the run's description. The
state is covered by one digest together with the weights,

    digest = sha256(canonical JSON of every entry of state.json but "digest" and "signature"),

whose entries include the weights' sha256, so a state changed after it was
written (``"epochs_done": 80`` typed in, a history cut, other weights) is
refused, not trained on; before, an edited ``epochs_done`` was taken as that
many finished epochs and nothing was trained. With a signing key configured
(:mod:`keras_seq.model_signature`) the digest is signed too, so only whoever
holds the key can write a state that is accepted. A state must also be
consistent: ``epochs_done`` an int >= 1, one history entry per finished
epoch numbered 1, 2, ..., and weights named after that epoch.

Every file is written atomically and ``state.json`` is written last, so a
process killed at any moment (even ``SIGKILL`` half-way through a save), or
a full disk, leaves the backup of the previous finished epoch intact and a
rerun continues from it.
"""

import hashlib
import json
import pathlib

from keras_seq import atomic_files, model_signature
from keras_seq.file_digest import sha256_of

STATE = "state.json"
WEIGHTS = "epoch-{:04d}.keras"


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
        """Return the saved state dict, or ``None`` when there is no backup yet.

        Raises:
            ValueError: the state is unreadable, belongs to another run, is
                inconsistent or does not match its digest (or, with a signing
                key, its signature), or its weights are missing or damaged.
        """
        if not self.state_path.is_file():
            return None
        try:
            state = json.loads(self.state_path.read_text())
            epochs_done, weights, history, run = (state[k] for k in ("epochs_done", "weights", "history", "run"))
        except (ValueError, KeyError, TypeError) as error:
            raise self._refused(f"is unreadable ({error})") from None
        if run != self.run:
            raise ValueError(
                f"the backup in {str(self.folder)!r} belongs to another run ({run}), not to {self.run}; "
                "train into another folder or delete that backup"
            )
        self._check_consistent(epochs_done, weights, history)
        self._check_digest(state)
        if not (self.folder / weights).is_file():
            raise self._refused(f"names missing weights {weights!r}")
        if sha256_of(self.folder / weights) != state["sha256"]:
            raise self._refused(f"names weights {weights!r} that do not match their sha256 digest (damaged)")
        return {"epochs_done": epochs_done, "weights": weights, "history": history, "run": run}

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
        """Back up ``model`` after ``epochs_done`` finished epochs, then drop older backups.

        ``history`` holds one dict per finished epoch, ``{"epoch": 1, ...}``
        to ``{"epoch": epochs_done, ...}``.
        """
        weights = WEIGHTS.format(epochs_done)
        self._check_consistent(epochs_done, weights, history)
        atomic_files.save_model_file(model, self.folder / weights)
        state = {"epochs_done": epochs_done, "weights": weights, "sha256": sha256_of(self.folder / weights),
                 "history": history, "run": self.run}
        state["digest"] = state_digest(state)
        key = model_signature.signing_key()
        if key is not None:
            state["signature"] = model_signature.sign(key, state["digest"].encode()).decode()
        atomic_files.write_json(state, self.state_path)
        for old in self.folder.glob("epoch-*"):
            if old.name != weights and old.is_file():
                old.unlink()

    def _refused(self, why):
        return ValueError(f"backup {str(self.state_path)!r} {why}; delete {str(self.folder)!r} to start over")

    def _check_consistent(self, epochs_done, weights, history):
        if type(epochs_done) is not int or epochs_done < 1:
            raise self._refused(f"holds epochs_done {epochs_done!r}; expected an int >= 1")
        if not isinstance(history, list) or len(history) != epochs_done:
            held = f"{len(history)} epochs" if isinstance(history, list) else f"a {type(history).__name__}"
            raise self._refused(f"says {epochs_done} epochs are done but its history holds {held}")
        numbers = [entry.get("epoch") if isinstance(entry, dict) else None for entry in history]
        if numbers != list(range(1, epochs_done + 1)):
            raise self._refused(f"has a history numbered {numbers}, not the epochs 1 to {epochs_done}")
        if weights != WEIGHTS.format(epochs_done):
            raise self._refused(f"names weights {weights!r}, not those of epoch {epochs_done}")

    def _check_digest(self, state):
        if not isinstance(state.get("sha256"), str) or not isinstance(state.get("digest"), str):
            raise self._refused("carries no digest (written by an older keras-seq, or edited)")
        if state["digest"] != state_digest(state):
            raise self._refused(
                "does not match its digest: it was edited or damaged after it was written, and a backup is "
                "trusted only as it was written"
            )
        key = model_signature.signing_key()
        if key is not None:
            stored = state.get("signature")
            reason = model_signature.refusal(
                key, None if stored is None else str(stored).encode(), state["digest"].encode())
            if reason is not None:
                raise self._refused(reason.replace("only files", "only backups"))


def state_digest(state):
    """The sha256 (hex) of ``state``'s canonical JSON, its ``digest`` and ``signature`` left out."""
    covered = {k: v for k, v in state.items() if k not in ("digest", "signature")}
    text = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()
