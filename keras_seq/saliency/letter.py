"""Per-letter saliency over a whole word, for a sequence labeller such as a bidirectional RNN."""

import numpy as np

from keras_seq.saliency.logits import logits_model


class LetterSaliency:
    """Per-letter saliency over a whole word for a sequence labeller.

    For output position ``t`` with letter ``y_t`` the map is
    ``M_t(x) = |dS_{t, y_t}/dx|`` over every pixel of every letter of the word:
    a bidirectional RNN's decision at ``t`` may use the letters before *and*
    after ``t`` (``o_t = theta(W_f h_t^(f) + W_b h_t^(b))``).

    Args:
        model: a Keras model (batch, T, H, W, 1) -> (batch, T, classes) softmax.

    Call arguments:
        word: (T, H, W) or (T, H, W, 1) letter images of one word (no padding).
        letters: T letter indices to explain; defaults to the model's own
            predictions.

    Returns:
        A dict: ``maps`` (T, T, H, W), row ``t`` scaled to [0, 1] by its
        maximum; ``letter_share`` (T, T), the fraction of row ``t``'s total
        saliency that falls on letter ``s``; ``letters`` (T,) the explained
        letters; ``predicted`` (T,) the model's letters.
    """

    def __init__(self, model):
        self.model = model
        self._logits = logits_model(model)

    def __call__(self, word, letters=None):
        import tensorflow as tf

        word = self._checked_word(word)
        steps = len(word)
        x = tf.constant(word[None])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            scores = self._logits(x, training=False)[0]  # (T, classes)
            predicted = np.argmax(scores.numpy(), axis=-1)
            chosen = predicted if letters is None else _checked_letters(letters, steps, scores.shape[-1])
            targets = [scores[t, int(chosen[t])] for t in range(steps)]
        maps = np.stack([np.abs(tape.gradient(target, x).numpy()[0, ..., 0]) for target in targets])
        del tape
        totals = maps.reshape(steps, -1).sum(axis=1, keepdims=True)
        share = maps.reshape(steps, steps, -1).sum(axis=2) / np.maximum(totals, 1e-12)
        peaks = maps.reshape(steps, -1).max(axis=1)
        scaled = maps / np.maximum(peaks, 1e-12)[:, None, None, None]
        return {"maps": scaled, "letter_share": share, "letters": chosen, "predicted": predicted}

    def _checked_word(self, word):
        word = np.asarray(word, dtype=np.float32)
        if word.ndim == 3:
            word = word[..., None]
        expected = tuple(self.model.inputs[0].shape[2:])
        if word.ndim != 4 or word.shape[1:] != expected or len(word) == 0:
            raise ValueError(f"word has shape {word.shape}; expected (T, ...) letters of shape {expected}, T >= 1")
        if not np.all(np.isfinite(word)):
            raise ValueError("word contains NaN or infinite values")
        return word


def _checked_letters(letters, steps, num_classes):
    chosen = np.asarray(letters)
    if chosen.shape != (steps,) or not np.issubdtype(chosen.dtype, np.integer):
        raise ValueError(f"letters must be {steps} integers (one per letter), got {letters!r}")
    if chosen.min() < 0 or chosen.max() >= num_classes:
        raise ValueError(f"letters must lie in [0, {num_classes}), got {chosen.tolist()}")
    return chosen
