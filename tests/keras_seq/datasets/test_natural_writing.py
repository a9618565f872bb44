"""Natural handwriting: stroke faces, fonts and OCR letters on a baseline; held-out writers stay held out."""

import numpy as np
import pytest

from keras_seq.datasets import bundled, font_glyphs, natural_writing, ocr_words, word_strips
from keras_seq.datasets.word_strips import ASCENDER_ROWS, CORE_ROWS, HEIGHT


@pytest.fixture(scope="module")
def bank():
    return word_strips.letter_bank(ocr_words.load_words().subset(np.arange(0, 6877, 10)))


@pytest.fixture(scope="module")
def writers(bank):
    return natural_writing.training_writers(bank)[0]


def ink_rows(ink, columns=slice(None)):
    rows = np.flatnonzero(ink[:, columns].max(axis=1) > 0.5)
    return rows[0], rows[-1]


def test_training_and_held_out_writers_are_disjoint():
    assert not set(natural_writing.HERSHEY_TRAIN_FACES) & set(natural_writing.HERSHEY_HELD_OUT_FACES)
    assert not set(font_glyphs.TRAIN_FONTS) & set(font_glyphs.HELD_OUT_FONTS)
    held_out = set(natural_writing.HERSHEY_HELD_OUT_FACES) | set(font_glyphs.HELD_OUT_FONTS)
    for options in natural_writing.HELD_OUT_SETS.values():
        assert set(options["faces"]) | set(options["fonts"]) <= held_out


def test_the_training_writers_are_the_named_training_faces_fonts_and_letters(bank):
    writers, weights = natural_writing.training_writers(bank)
    names = [w.name for w in writers]
    assert names == list(natural_writing.HERSHEY_TRAIN_FACES) + list(font_glyphs.TRAIN_FONTS) + [
        natural_writing.BaselineLetters.name]
    assert sum(weights) == pytest.approx(1.0) and min(weights) > 0


def test_every_writer_draws_ink_that_grows_with_the_text(writers):
    rng = np.random.default_rng(0)
    for writer in writers:
        short, long = writer("on", rng), writer("onionsonions", rng)
        for ink in (short, long):
            assert ink.dtype == np.float32 and ink.ndim == 2 and 0 <= ink.min() and ink.max() <= 1, writer.name
            assert ink.max() > 0.5, writer.name
        assert long.shape[1] > 2 * short.shape[1], writer.name  # 6x the letters at 0.75-1.25x widths


def test_a_seed_replays_the_same_hand(writers):
    for writer in writers[:3] + writers[-1:]:
        a, b = writer("replay", np.random.default_rng(5)), writer("replay", np.random.default_rng(5))
        assert np.array_equal(a, b), writer.name


def test_ocr_letters_sit_on_a_baseline_at_their_natural_heights(bank):
    letters = natural_writing.BaselineLetters(bank)
    rng = np.random.default_rng(1)

    def rows(text):  # the ink's height in x-heights and where its mass sits (0 top, 1 bottom)
        profile = letters(text, rng).sum(axis=1)
        centre = (profile * np.arange(len(profile))).sum() / profile.sum()
        return len(profile) / natural_writing.X_HEIGHT, centre / len(profile)

    for _ in range(5):
        short, tall, hanging = rows("ooo"), rows("olo"), rows("opo")
        assert short[0] < 1.5 < min(tall[0], hanging[0])  # l and p reach out of the band
        assert tall[1] > 0.55 > 0.45 > hanging[1]  # l rises above the o's, p hangs below them


def test_natural_strips_put_the_x_height_on_the_core_rows(writers):
    writer = natural_writing.NaturalWriter(writers, seed=3)
    core = np.zeros(HEIGHT, bool)
    core[ASCENDER_ROWS - 2:ASCENDER_ROWS + CORE_ROWS + 2] = True
    shares = []
    for _ in range(20):
        profile = writer("mean").sum(axis=1)  # no ascender, no descender: the ink stays on the band
        shares.append(profile[core].sum() / profile.sum())  # the band, give or take two rows
    assert np.median(shares) > 0.95 and min(shares) > 0.75  # some hands write letters of uneven height
    tall = [writer("hold")[:ASCENDER_ROWS - 1].sum() for _ in range(20)]
    assert np.median(tall) > 1.0  # h, l and d reach above the band


def test_photograph_polarity_sizes_and_the_strip_it_makes(writers):
    rng = np.random.default_rng(2)
    ink = writers[0]("word", rng)
    light = natural_writing.photograph(ink, rng, x_height=30, dark_on_light=True)
    dark = natural_writing.photograph(ink, rng, x_height=10, dark_on_light=False)
    assert np.median(light[0]) > 0.5 > np.median(dark[0])
    assert light.shape[0] > 2 * dark.shape[0]
    a, b = word_strips.fitted_strip(light), word_strips.fitted_strip(dark)
    assert a.shape[0] == b.shape[0] == HEIGHT and abs(a.shape[1] - b.shape[1]) <= 6


def test_random_texts_and_the_held_out_sets():
    texts = natural_writing.random_texts(200, np.random.default_rng(0))
    assert all(2 <= len(t) <= 12 and set(t) <= set(ocr_words.LETTERS) for t in texts)
    assert len(set(texts)) > 190
    strips = natural_writing.held_out_strips("print fonts", texts=["hello", "yellow"], seed=1)
    assert strips.texts == ["hello", "yellow"] and all(s.shape[0] == HEIGHT for s in strips.images)
    with pytest.raises(ValueError, match="unknown held-out set 'nope'"):
        natural_writing.held_out_strips("nope")


def test_a_held_out_set_written_by_one_of_its_writers():
    assert natural_writing.held_out_writers("cursive fonts") == ("Kristi", "KaushanScript-Regular")
    whole = natural_writing.held_out_strips("stroke cursive, dark on light", texts=["hand"], seed=3)
    alone = natural_writing.held_out_strips("stroke cursive, dark on light", texts=["hand"], seed=3, writer="scriptc")
    np.testing.assert_array_equal(whole.images[0], alone.images[0])  # a set's only writer: the same strips
    kristi = natural_writing.held_out_strips("cursive fonts", texts=["hand"] * 3, writer="Kristi")
    kaushan = natural_writing.held_out_strips("cursive fonts", texts=["hand"] * 3, writer="KaushanScript-Regular")
    assert all(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(kristi.images, kaushan.images))
    with pytest.raises(ValueError, match="'Kristi' does not write the held-out set 'print fonts'"):
        natural_writing.held_out_strips("print fonts", writer="Kristi")


def test_training_hands_write_narrower_and_wider_than_their_font():
    (font,) = font_glyphs.load(["Breip"])
    natural = natural_writing.FontFace(font)("minimum", np.random.default_rng(5))
    narrow = natural_writing.FontFace(font, widths=(0.6, 0.6))("minimum", np.random.default_rng(5))
    assert narrow.shape[0] == natural.shape[0]
    assert narrow.shape[1] == pytest.approx(0.6 * natural.shape[1], abs=1)
    assert natural_writing.TRAINING_WIDTHS[0] < 1 < natural_writing.TRAINING_WIDTHS[1]
    widths = {natural_writing.StrokeFace("futural", (0.5, 1.5))("word", np.random.default_rng(k)).shape[1]
              for k in range(4)}
    assert max(widths) > 1.5 * min(widths)


def test_natural_writer_refuses_no_writers_and_bad_weights(writers):
    with pytest.raises(ValueError, match="at least one writer"):
        natural_writing.NaturalWriter([])
    with pytest.raises(ValueError, match="non-negative"):
        natural_writing.NaturalWriter(writers[:2], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="non-negative"):
        natural_writing.NaturalWriter(writers[:2], weights=[1.0])


def test_font_atlas_holds_every_named_font_and_refuses_others_and_damage(tmp_path):
    fonts = font_glyphs.load(font_glyphs.TRAIN_FONTS + font_glyphs.HELD_OUT_FONTS)
    for font in fonts:
        assert len(font.glyphs) == len(font_glyphs.GLYPHS) == 52, font.name
        assert font.x_height > 5 and np.all(font.advance > 0), font.name
        x = font.glyphs[ocr_words.LETTERS.index("x")]
        assert 0.5 < x.max() <= 1.0
    with pytest.raises(ValueError, match="'Arial' is not in handwriting_fonts.npz"):
        font_glyphs.load(["Arial"])
    damaged = tmp_path / font_glyphs.FILE
    damaged.write_bytes(bundled.resolve(font_glyphs.FILE).read_bytes()[:5000])
    with pytest.raises(bundled.DatasetFileError, match="corrupt"):
        font_glyphs.load(["Kristi"], path=damaged)


def test_a_mixed_hand_writes_letters_in_another_faces_form():
    futural = natural_writing.StrokeFace("futural")
    mixed = natural_writing.StrokeFace("timesi", mixed_with=["futural"], mix_rate=1.0)
    rng = np.random.default_rng(0)
    for ch in "hrp":
        (own, own_width), (borrowed, borrowed_width) = futural.glyph(ch, rng), mixed.glyph(ch, rng)
        scale = mixed.x_height / futural.x_height
        assert len(borrowed) == len(own) and borrowed_width == pytest.approx(scale * own_width)
        for a, b in zip(own, borrowed):  # futural's strokes on timesi's baseline at timesi's x-height
            np.testing.assert_allclose(b[:, 0], scale * a[:, 0])
            np.testing.assert_allclose(b[:, 1] - mixed.baseline, scale * (a[:, 1] - futural.baseline))
    own_h, borrowed_h = natural_writing.StrokeFace("timesi").glyph("h", rng)[0], mixed.glyph("h", rng)[0]
    assert len(own_h) != len(borrowed_h) or any(  # mixing changed the letter's form
        a.shape != b.shape or not np.allclose(a, b) for a, b in zip(own_h, borrowed_h))
    with pytest.raises(ValueError, match=r"mix_rate must be in \[0, 1\]"):
        natural_writing.StrokeFace("rowmans", mixed_with=["futural"], mix_rate=1.5)


def test_training_hands_vary_each_letters_ascender_descender_and_slant(bank):
    face = natural_writing.StrokeFace("futural")
    strokes, _ = face.glyph("h", np.random.default_rng(0))
    mean_line, baseline, x_height = face.baseline - face.x_height, face.baseline, face.x_height
    rise = mean_line - np.concatenate(strokes)[:, 1].min()          # the ascender above the x-height line
    bend = natural_writing.LETTER_BEND * x_height
    rises, slants = [], []
    for k in range(300):
        varied = np.concatenate(natural_writing.varied_letter(strokes, baseline, x_height,
                                                              np.random.default_rng(k)))
        rises.append((mean_line - varied[:, 1].min()) / rise)
        hang = natural_writing.DESCENDER_SCALES[1] * bend             # "h" hangs no lower than its bend
        assert varied[:, 1].max() <= baseline + hang + 1e-9
        foot = np.concatenate(strokes)[:, 1].argmax()                # a point on the baseline moves by slant
        slants.append(varied[foot, 0] - np.concatenate(strokes)[foot, 0])
    low, high = natural_writing.ASCENDER_SCALES
    slack = bend / rise * (1 + high)
    assert low - slack <= min(rises) < low + 0.05 and high - 0.05 < max(rises) <= high + slack
    assert max(np.abs(slants)) <= bend + natural_writing.LETTER_SHEAR * hang + 1e-9  # the foot barely moves

    (font,) = font_glyphs.load(["Breip"])
    i = ocr_words.LETTERS.index("p")
    glyph, top, left = font.glyphs[i], font.top[i], font.left[i]
    heights = set()
    for k in range(40):
        varied, varied_top, varied_left = natural_writing.varied_glyph(glyph, top, left, font.x_height,
                                                                       np.random.default_rng(k))
        below = varied.shape[0] + varied_top                          # rows under the baseline
        scale = below / (glyph.shape[0] + top)
        assert natural_writing.DESCENDER_SCALES[0] - 0.1 < scale < natural_writing.DESCENDER_SCALES[1] + 0.1
        assert varied_left <= left and varied.max() > 0.5
        heights.add(varied.shape[0])
    assert len(heights) > 5

    writers = natural_writing.training_writers(bank)[0]
    assert all(w.vary_letters for w in writers if not isinstance(w, natural_writing.BaselineLetters))
    held_out = natural_writing.StrokeFace("scriptc")
    assert not held_out.vary_letters                                  # held-out hands are written as designed


def test_print_hands_write_block_capitals_read_as_the_lowercase_word(writers):
    (font,) = font_glyphs.load(["ComicNeue-Regular"])
    face = natural_writing.FontFace(font)
    lower, upper = face("hello", np.random.default_rng(4)), face("HELLO", np.random.default_rng(4))
    assert lower.shape != upper.shape or not np.array_equal(lower, upper)
    h, big_h = font.glyphs[font.index("h")], font.glyphs[font.index("H")]
    assert big_h.shape[1] > h.shape[1]  # a capital, not the lowercase glyph again
    with pytest.raises(ValueError, match="has no glyph for '7'"):
        font.index("7")
    print_face = natural_writing.StrokeFace("futural")
    assert print_face.writes_capitals and not natural_writing.StrokeFace("cursive").writes_capitals
    assert not natural_writing.BaselineLetters(None).writes_capitals
    always = natural_writing.NaturalWriter([print_face], seed=0, capitals_rate=1.0)
    never = natural_writing.NaturalWriter([print_face], seed=0, capitals_rate=0.0)
    strips = always.strips(["word"])
    assert strips.texts == ["word"]
    core = np.zeros(HEIGHT, bool)
    core[ASCENDER_ROWS - 2:ASCENDER_ROWS + CORE_ROWS + 2] = True
    shares = [(lambda p: p[core].sum() / p.sum())(always("hold").sum(axis=1)) for _ in range(8)]
    assert min(shares) > 0.95  # HOLD has no ascender: the capitals' height is the band
    lowercase = [(lambda p: p[core].sum() / p.sum())(never("hold").sum(axis=1)) for _ in range(8)]
    assert np.median(lowercase) < 0.95  # hold's h, l and d rise above its band
    assert all(not np.array_equal(a, b) for a, b in zip(always.strips(["hold"] * 3).images,
                                                         never.strips(["hold"] * 3).images))
    script = natural_writing.NaturalWriter([natural_writing.StrokeFace("cursive")], seed=0, capitals_rate=1.0)
    again = natural_writing.NaturalWriter([natural_writing.StrokeFace("cursive")], seed=0, capitals_rate=0.0)
    np.testing.assert_array_equal(script("hold"), again("hold"))  # script hands do not write capitals
    with pytest.raises(ValueError, match="capitals_rate must be in"):
        natural_writing.NaturalWriter([print_face], capitals_rate=1.5)
    held_out = natural_writing.held_out_strips("print capitals", texts=["yellow"], seed=0, writer="futuram")
    assert held_out.texts == ["yellow"] and held_out.images[0].shape[0] == HEIGHT
