"""Connectionist temporal classification (CTC) outputs: the alphabet, decoding and alignment.

A CTC model (Graves et al. 2006) gives at each step t = 1..T a distribution
y_t over the alphabet plus a *blank*. A path pi (one symbol per step) reads
as text B(pi): merge repeated symbols, then drop blanks, so
B(a a - a b b) = "aab". The probability of a text is the sum over its paths,

    p(text | x) = sum_{pi : B(pi) = text} prod_t y_t(pi_t).

Greedy decoding reads B(argmax path), the text of the single most likely
path; beam search (prefix beam search) keeps the ``beam_width`` most likely
prefixes with their summed path probabilities, split into paths ending in a
blank and paths ending in a letter, and can find a more likely text than the
greedy one when that text's probability is spread over many paths.
"""

import dataclasses
import math

import numpy as np

from keras_seq import arguments

BLANK = 0
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALPHABET = "-" + LETTERS  # index 0 is the blank
METHODS = ("greedy", "beam")


@dataclasses.dataclass(frozen=True)
class Reading:
    """A decoded text with its evidence.

    Attributes:
        text: the decoded string.
        confidences: per character, the largest probability the model gave
            that character at the steps aligned to it (a tuple of floats).
        spans: per character, the (first, last) step aligned to it.
        probability: greedy: the probability of the best path,
            prod_t max y_t; beam: the summed probability of the text's paths
            the beam kept.
    """

    text: str
    confidences: tuple
    spans: tuple
    probability: float


def encode(text):
    """Labels of ``text`` (a-z) in the CTC alphabet: 'a' -> 1, ..., 'z' -> 26."""
    if not isinstance(text, str) or not text or any(ch not in LETTERS for ch in text):
        arguments.refuse("text", text, "a non-empty string of letters a-z")
    return np.array([ALPHABET.index(ch) for ch in text], np.int32)


def _check_probabilities(probabilities, lengths):
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 3 or probabilities.shape[-1] != len(ALPHABET) or probabilities.shape[1] == 0:
        raise ValueError(
            f"probabilities has shape {probabilities.shape}; expected (batch, steps >= 1, {len(ALPHABET)})"
        )
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0:
        raise ValueError("probabilities must be finite and >= 0")
    if lengths is None:
        lengths = np.full(len(probabilities), probabilities.shape[1])
    lengths = np.asarray(lengths)
    if lengths.shape != (len(probabilities),) or not np.issubdtype(lengths.dtype, np.integer) or (
        len(lengths) and (lengths.min() < 1 or lengths.max() > probabilities.shape[1])
    ):
        arguments.refuse("lengths", lengths, f"one int per sample in 1..{probabilities.shape[1]}")
    return probabilities, lengths


def decode_ctc(probabilities, lengths=None, method="greedy", beam_width=8, prune=1e-3):
    """Decode CTC outputs into :class:`Reading` s.

    Args:
        probabilities: (batch, T, 27) per-step distributions over
            ``ALPHABET`` (blank first).
        lengths: real steps per sample (the rest is padding); default all T.
        method: ``"greedy"`` or ``"beam"``.
        beam_width: prefixes kept per step by the beam search (int >= 1).
        prune: the beam search extends prefixes only with letters whose
            probability at that step is at least this (in [0, 1)).

    Returns:
        A list of :class:`Reading`, one per sample.

    Example:
        >>> decode_ctc(model.predict(x), method="beam")[0].text
        'mbraces'
    """
    method = arguments.choice(method, "method", METHODS)
    beam_width = arguments.positive_int(beam_width, "beam_width")
    prune = arguments.fraction(prune, "prune")
    probabilities, lengths = _check_probabilities(probabilities, lengths)
    readings = []
    for y, length in zip(probabilities, lengths):
        y = y[:length]
        if method == "greedy":
            readings.append(_greedy(y))
        else:
            labels, log_p = _prefix_beam_search(y, beam_width, prune)
            confidences, spans = _evidence(y, labels)
            readings.append(Reading(_text(labels), confidences, spans, math.exp(log_p)))
    return readings


def _text(labels):
    return "".join(ALPHABET[k] for k in labels)


def _greedy(y):
    best = y.argmax(axis=-1)
    labels, confidences, spans = [], [], []
    previous = BLANK
    for t, k in enumerate(best):
        if k != BLANK and k != previous:
            labels.append(int(k))
            confidences.append(float(y[t, k]))
            spans.append([t, t])
        elif k != BLANK:  # the same letter continues: extend its run
            confidences[-1] = max(confidences[-1], float(y[t, k]))
            spans[-1][1] = t
        previous = k
    probability = float(np.prod(y[np.arange(len(best)), best]))
    return Reading(_text(labels), tuple(confidences), tuple(map(tuple, spans)), probability)


def _prefix_beam_search(y, beam_width, prune):
    """Prefix beam search in log space; returns (labels, log p) of the best prefix.

    Each prefix keeps log p_b (paths ending in blank) and log p_nb (paths
    ending in its last letter). At step t, for symbol k:
        blank:          p_b'(l)  += (p_b(l) + p_nb(l)) y_t(-)
        repeat last:    p_nb'(l) += p_nb(l) y_t(k)              (merged)
        extend l + k:   p_nb'(l+k) += (p_b(l) + [k != last] p_nb(l)) y_t(k)
    """
    with np.errstate(divide="ignore"):
        log_y = np.log(y)
    def add(following, prefix, log_b, log_nb):
        old_b, old_nb = following.get(prefix, (-math.inf, -math.inf))
        following[prefix] = (np.logaddexp(old_b, log_b), np.logaddexp(old_nb, log_nb))

    beams = {(): (0.0, -math.inf)}
    for t in range(len(y)):
        following = {}
        letters = [k for k in range(1, y.shape[1]) if y[t, k] > 0 and y[t, k] >= prune]
        for prefix, (log_b, log_nb) in beams.items():
            total = np.logaddexp(log_b, log_nb)
            add(following, prefix, total + log_y[t, BLANK], -math.inf)
            if prefix:
                add(following, prefix, -math.inf, log_nb + log_y[t, prefix[-1]])
            for k in letters:
                extend_from = log_b if prefix and k == prefix[-1] else total
                add(following, prefix + (k,), -math.inf, extend_from + log_y[t, k])
        ranked = sorted(following.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = dict(ranked[:beam_width])
    best, (log_b, log_nb) = max(beams.items(), key=lambda item: np.logaddexp(*item[1]))
    return list(best), float(np.logaddexp(log_b, log_nb))


def align(probabilities, text):
    """The most likely path that reads ``text`` (Viterbi over the CTC lattice).

    Args:
        probabilities: (T, 27) one sample's distributions.
        text: the string (or its label list) to align.

    Returns:
        (T,) the index of the character each step is aligned to, -1 on blanks.

    Raises:
        ValueError: ``text`` needs more steps than T (one per letter plus one
            blank between equal neighbours).
    """
    labels = list(encode(text)) if isinstance(text, str) else list(text)
    y = np.asarray(probabilities, np.float64)
    with np.errstate(divide="ignore"):
        log_y = np.log(y)
    extended = [BLANK]
    for k in labels:
        extended += [k, BLANK]
    states, steps = len(extended), len(y)
    score = np.full((steps, states), -math.inf)
    came_from = np.zeros((steps, states), np.int64)
    score[0, 0] = log_y[0, BLANK]
    if states > 1:
        score[0, 1] = log_y[0, extended[1]]
    for t in range(1, steps):
        for s in range(states):
            options = [(score[t - 1, s], s)]
            if s >= 1:
                options.append((score[t - 1, s - 1], s - 1))
            if s >= 2 and extended[s] != BLANK and extended[s] != extended[s - 2]:
                options.append((score[t - 1, s - 2], s - 2))
            best, origin = max(options)
            score[t, s] = best + log_y[t, extended[s]]
            came_from[t, s] = origin
    end = max((score[-1, s], s) for s in range(max(0, states - 2), states))
    if end[0] == -math.inf:
        raise ValueError(f"cannot align {_text(labels)!r} to {steps} steps: too few steps for its letters")
    s = end[1]
    path = np.empty(steps, np.int64)
    for t in range(steps - 1, -1, -1):
        path[t] = s
        s = came_from[t, s]
    return np.where(path % 2 == 1, (path - 1) // 2, -1)


def _evidence(y, labels):
    """Per-character confidences and step spans of ``labels`` from its best alignment."""
    if not labels:
        return (), ()
    owner = align(y, labels)
    confidences, spans = [], []
    for i, k in enumerate(labels):
        steps = np.flatnonzero(owner == i)
        confidences.append(float(y[steps, k].max()))
        spans.append((int(steps[0]), int(steps[-1])))
    return tuple(confidences), tuple(spans)
