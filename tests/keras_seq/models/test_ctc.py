"""CTC decoding against hand-worked examples: repeats, blanks, beam versus greedy, alignment."""

import numpy as np
import pytest

from keras_seq.models.ctc import ALPHABET, align, decode_ctc, encode


def steps(*rows):
    """Per-step distributions from {symbol: probability} dicts (symbols of ALPHABET, '-' = blank)."""
    y = np.zeros((1, len(rows), len(ALPHABET)))
    for t, row in enumerate(rows):
        for symbol, p in row.items():
            y[0, t, ALPHABET.index(symbol)] = p
    return y


def test_greedy_merges_repeats_and_drops_blanks():
    # best path a a - a b b -> "aab"
    y = steps({"a": 0.9, "-": 0.1}, {"a": 0.6, "-": 0.4}, {"-": 0.8, "a": 0.2},
              {"a": 0.7, "b": 0.3}, {"b": 0.5, "-": 0.5 - 1e-9}, {"b": 0.95, "-": 0.05})
    reading = decode_ctc(y)[0]
    assert reading.text == "aab"
    assert reading.confidences == pytest.approx((0.9, 0.7, 0.95))  # the best step of each run
    assert reading.spans == ((0, 1), (3, 3), (4, 5))
    assert reading.probability == pytest.approx(0.9 * 0.6 * 0.8 * 0.7 * 0.5 * 0.95)


def test_all_blank_reads_empty():
    reading = decode_ctc(steps({"-": 0.9, "a": 0.1}, {"-": 1.0}))[0]
    assert (reading.text, reading.confidences, reading.spans) == ("", (), ())


def test_beam_finds_the_text_greedy_misses():
    # Two steps, P(blank) = 0.6, P(a) = 0.4 each. Greedy: "" (path --, 0.36).
    # p("a") = p(aa) + p(a-) + p(-a) = 0.16 + 0.24 + 0.24 = 0.64 > p("") = 0.36.
    y = steps({"-": 0.6, "a": 0.4}, {"-": 0.6, "a": 0.4})
    assert decode_ctc(y)[0].text == ""
    beam = decode_ctc(y, method="beam", beam_width=4)[0]
    assert beam.text == "a"
    assert beam.probability == pytest.approx(0.64)
    assert beam.confidences == pytest.approx((0.4,))


def test_beam_needs_a_blank_between_equal_letters():
    # "aa" needs a - a; a a a reads "a". Path a - a has probability 0.5 * 0.5 * 0.5.
    y = steps({"a": 0.5, "-": 0.5}, {"-": 0.5, "a": 0.5}, {"a": 0.5, "-": 0.5})
    # p("a") = every path with one run of a: aaa a-- -a- --a aa- -aa a-- ... (5 of 8 paths
    # without a-a; "" is ---) -> p("a") = 5/8 (paths: aaa, aa-, a--, -aa, -a-, --a = 6/8).
    # Enumerate: paths over {a,-}^3 read "" (---), "a" (aaa, aa-, a--, -aa, -a-, --a), "aa" (a-a).
    beam = decode_ctc(y, method="beam", beam_width=8)[0]
    assert beam.text == "a"
    assert beam.probability == pytest.approx(6 / 8)


def test_beam_and_greedy_agree_on_a_confident_path():
    y = steps({"c": 0.9, "-": 0.1}, {"-": 0.9, "a": 0.1}, {"a": 0.8, "-": 0.2}, {"b": 0.99, "-": 0.01})
    greedy, beam = decode_ctc(y)[0], decode_ctc(y, method="beam")[0]
    assert greedy.text == beam.text == "cab"
    assert beam.spans == ((0, 0), (2, 2), (3, 3))


def test_lengths_ignore_padding_steps():
    y = steps({"a": 1.0}, {"-": 1.0}, {"b": 1.0}, {"c": 1.0})
    assert decode_ctc(y, lengths=[3])[0].text == "ab"
    assert decode_ctc(y, lengths=[3], method="beam")[0].text == "ab"


def test_align_places_each_letter_and_encode():
    assert encode("abz").tolist() == [1, 2, 26]
    for bad in ("", "Ab", 3):
        with pytest.raises(ValueError, match="text="):
            encode(bad)
    y = steps({"a": 0.9, "-": 0.1}, {"-": 0.9, "a": 0.1}, {"a": 0.9, "-": 0.1}, {"-": 1.0})[0]
    assert align(y, "aa").tolist() == [0, -1, 1, -1]
    with pytest.raises(ValueError, match="too few steps"):
        align(y[:2], "aa")


def test_bad_arguments_are_refused():
    for bad, match in [
        (dict(probabilities=np.zeros((1, 3, 5))), "probabilities has shape"),
        (dict(probabilities=np.zeros((1, 0, 27))), "probabilities has shape"),
        (dict(probabilities=np.full((1, 2, 27), np.nan)), "finite"),
        (dict(probabilities=np.ones((1, 2, 27)), method="best"), "method="),
        (dict(probabilities=np.ones((1, 2, 27)), beam_width=0), "beam_width=0"),
        (dict(probabilities=np.ones((1, 2, 27)), lengths=[3]), "lengths="),
    ]:
        with pytest.raises(ValueError, match=match):
            decode_ctc(**bad)
