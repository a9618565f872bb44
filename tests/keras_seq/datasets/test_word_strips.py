"""Word strips: the one preprocessing (polarity, crop, height), the column mask, real/synthetic/augmented strips."""

import numpy as np
import pytest

from keras_seq.datasets import ocr_words, word_strips
from keras_seq.datasets.word_strips import ASCENDER_ROWS, CORE_ROWS, HEIGHT, MARGIN


@pytest.fixture(scope="module")
def words():
    return ocr_words.load_words().subset(np.arange(0, 6877, 40))


def test_box_resize_keeps_the_mean_and_constant_images():
    image = np.random.default_rng(0).random((12, 30))
    small = word_strips.box_resize(image, 4, 10)  # 3x3 blocks: exact block means
    assert small[1, 2] == pytest.approx(image[3:6, 6:9].mean(), rel=1e-5)
    assert np.allclose(word_strips.box_resize(np.ones((7, 5)), 16, 11), 1.0)
    assert word_strips.box_resize(image, 5, 7).mean() == pytest.approx(image.mean(), rel=1e-4)


def test_normalise_puts_a_uniform_block_on_the_core_rows_and_adds_margins():
    gray = np.zeros((100, 300), np.float32)
    gray[20:60, 50:170] = 1.0  # ink 40 high, 120 wide: all core band -> 12 rows, 36 columns
    strip = word_strips.normalise_strip(gray)
    assert strip.shape == (HEIGHT, 36 + 2 * MARGIN)
    core = slice(ASCENDER_ROWS, ASCENDER_ROWS + CORE_ROWS)
    assert np.allclose(strip[core, MARGIN:-MARGIN], 1.0)
    assert np.all(strip[:ASCENDER_ROWS] == 0) and np.all(strip[ASCENDER_ROWS + CORE_ROWS:] == 0)
    assert np.all(strip[:, :MARGIN] == 0) and np.all(strip[:, -MARGIN:] == 0)
    gray[20:60, 170:174] = 1.0  # 124 wide -> 37.2 -> 37 columns + one more blank column
    assert word_strips.normalise_strip(gray).shape == (HEIGHT, 37 + 2 * MARGIN + 1)


def word_with_stalk(above=0, below=0, core=20, width=100):
    """A solid core band ``core`` rows high with a 3-pixel stalk ``above`` rows over it and ``below`` under it."""
    gray = np.zeros((core + above + below + 20, width + 20), np.float32)
    gray[10 + above:10 + above + core, 10:10 + width] = 1.0
    gray[10:10 + above, 40:43] = 1.0
    gray[10 + above + core:10 + above + core + below, 80:83] = 1.0
    return gray


def test_the_core_band_lands_on_the_same_rows_whatever_rises_above_or_hangs_below_it():
    core = slice(ASCENDER_ROWS, ASCENDER_ROWS + CORE_ROWS)
    for above, below in [(0, 0), (15, 0), (0, 15), (15, 15), (20, 20)]:
        strip = word_strips.normalise_strip(word_with_stalk(above, below))
        assert strip.shape == (HEIGHT, 60 + 2 * MARGIN), (above, below)  # 100 columns at 12 / 20
        assert np.all(strip[core, MARGIN + 2:-MARGIN - 2] > 0.99), (above, below)
        assert (strip[:ASCENDER_ROWS].max() > 0.5) == (above > 0)
        assert (strip[ASCENDER_ROWS + CORE_ROWS:].max() > 0.5) == (below > 0)


def test_ascenders_keep_the_band_scale_while_they_fit_and_are_squeezed_when_they_do_not():
    fits = word_strips.normalise_strip(word_with_stalk(above=15))  # 15 rows at 12 / 20: 9 of the 10 rows
    rows = np.flatnonzero(fits[:ASCENDER_ROWS].max(axis=1) > 0.5)
    assert rows.tolist() == list(range(1, ASCENDER_ROWS))
    tall = word_strips.normalise_strip(word_with_stalk(above=60))  # 36 rows at the band's scale: squeezed to 10
    rows = np.flatnonzero(tall[:ASCENDER_ROWS].max(axis=1) > 0.5)
    assert rows.tolist() == list(range(ASCENDER_ROWS))


def test_the_same_writing_at_any_size_gives_nearly_the_same_strip():
    small = word_with_stalk(above=10, below=8, core=12, width=60)
    large = np.kron(small, np.ones((3, 3), np.float32))
    a, b = word_strips.normalise_strip(small), word_strips.normalise_strip(large)
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 0.02


def test_writing_band_finds_the_rows_every_letter_fills():
    ink = word_with_stalk(above=15, below=10)[10:-10, 10:-10]
    assert word_strips.writing_band(ink) == (15.0, 35.0)
    uniform = np.ones((30, 40), np.float32)
    assert word_strips.writing_band(uniform) == (0.0, 30.0)
    narrow = np.zeros((40, 50), np.float32)
    narrow[:, 5] = 1.0
    narrow[18:27, :] = 1.0  # a 9-row band is under 30 % of 40 rows: widened to 12 rows about its centre
    assert word_strips.writing_band(narrow) == (16.5, 28.5)
    narrow[18:27, 6:] = 0.0
    narrow[31:, :] = 1.0  # ... staying inside the ink
    assert word_strips.writing_band(narrow) == (28.0, 40.0)


def test_dark_on_light_and_light_on_dark_give_the_same_strip(words):
    ink = word_strips.side_by_side(words.images[0])
    page = np.pad(ink, 9)
    assert np.allclose(word_strips.normalise_strip(page), word_strips.normalise_strip(1.0 - page))
    # gray paper and ink, any contrast: the same after the stretch
    assert np.allclose(word_strips.normalise_strip(0.3 + 0.4 * page), word_strips.normalise_strip(page), atol=1e-5)


BAD_PICTURES = [
    (np.zeros((0, 5)), "non-empty"),
    (np.zeros(5), "2-D"),
    (np.ones((20, 40)), "blank"),
    (np.zeros((20, 40)), "blank"),
    (np.pad(np.ones((1, 30)), 5), "1 pixel high"),
    (np.ones((1, 30)) * np.arange(30) % 2, "1 pixel high"),
    (np.pad(np.ones((4, 400)), 3), "at most 256"),
    (np.full((4, 4), np.nan), "NaN"),
]


def test_bad_pictures_get_one_clear_error():
    for gray, match in BAD_PICTURES:
        with pytest.raises(ValueError, match=match):
            word_strips.normalise_strip(gray)


def test_model_input_marks_each_strips_columns():
    x = word_strips.model_input([np.ones((HEIGHT, 6)), np.full((HEIGHT, 4), 0.5)], width=10)
    assert x.shape == (2, HEIGHT, 10, 2)
    assert x[0, :, :, 1].max(axis=0).tolist() == [1] * 6 + [0] * 4
    assert x[1, :, :, 1].max(axis=0).tolist() == [1] * 4 + [0] * 6
    assert np.all(x[1, :, 4:, 0] == 0)
    with pytest.raises(ValueError, match="more than width=4"):
        word_strips.model_input([np.ones((HEIGHT, 6))], width=4)
    with pytest.raises(ValueError, match="even widths"):
        word_strips.model_input([np.ones((HEIGHT, 5))])
    with pytest.raises(ValueError, match="at least one"):
        word_strips.model_input([])


def test_real_and_synthetic_strips(words):
    real = word_strips.real_strips(words.subset(np.arange(5)))
    assert real.texts == [ocr_words.decode(y) for y in words.labels[:5]]
    assert all(s.shape[0] == HEIGHT and s.dtype == np.float32 for s in real.images)
    synthetic = word_strips.synthetic_strips(words, 20, seed=3)
    again = word_strips.synthetic_strips(words, 20, seed=3)
    assert synthetic.texts == again.texts and all(np.array_equal(a, b) for a, b in zip(synthetic.images, again.images))
    assert len(set(synthetic.texts) - set(words.texts)) >= 18  # strings, not the vocabulary
    assert all(3 <= len(t) <= 12 for t in synthetic.texts)


def test_augmented_strips_vary_and_stay_normalised(words):
    letters = words.images[1]
    first = word_strips.StripAugmenter(seed=0)
    strips = [first(letters) for _ in range(8)]
    assert all(s.shape[0] == HEIGHT and 0 <= s.min() and s.max() <= 1 for s in strips)
    assert len({s.shape[1] for s in strips}) > 1  # widths, gaps and slant differ
    replay = word_strips.StripAugmenter(seed=0)
    assert all(np.array_equal(s, replay(letters)) for s in strips)  # a seed replays an epoch


def test_as_written_draws_the_letters_side_by_side(words):
    letters = words.images[1]
    written = word_strips.normalise_strip(word_strips.side_by_side(letters))
    always = word_strips.StripAugmenter(as_written=1.0, seed=0)
    assert all(np.array_equal(always(letters), written) for _ in range(3))
    never = word_strips.StripAugmenter(as_written=0.0, seed=0)
    assert not any(np.array_equal(never(letters), written) for _ in range(8))
    half = word_strips.StripAugmenter(seed=0)
    share = np.mean([np.array_equal(half(letters), written) for _ in range(400)])
    assert 0.4 < share < 0.6  # the default draws half the words as written


def test_a_word_stretched_past_the_widest_strip_is_narrowed_to_fit(words):
    longest = max(words.images, key=len)
    stretched = word_strips.StripAugmenter(widths=(4.0, 4.0), gaps=(3, 3), jitter=0, slant=0.0, thicken=0.0,
                                           as_written=0.0, seed=0)
    strip = stretched(longest)  # about 4 x 7 columns per letter: past MAX_WIDTH before narrowing
    assert strip.shape[0] == HEIGHT
    assert word_strips.MAX_WIDTH - 12 <= strip.shape[1] <= word_strips.MAX_WIDTH


def test_training_strips_add_random_strings(words):
    epoch = word_strips.training_strips(words, word_strips.StripAugmenter(seed=1), synthetic=10,
                                        rng=np.random.default_rng(0))
    assert len(epoch) == len(words) + 10
    assert epoch.texts[:len(words)] == [ocr_words.decode(y) for y in words.labels]


def test_augmenter_refuses_bad_settings():
    for options, match in [(dict(widths=(1.5, 1.0)), "widths="), (dict(gaps=(3, 1)), "gaps="),
                           (dict(jitter=-1), "jitter="), (dict(slant=2.0), "slant="),
                           (dict(thicken=1.5), "thicken="), (dict(as_written=-0.1), "as_written=")]:
        with pytest.raises(ValueError, match=match):
            word_strips.StripAugmenter(**options)
