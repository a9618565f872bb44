"""Word images ("strips") made from the OCR words' letter images, and the one strip preprocessing.

A strip is a grayscale image of a whole word, float32 (HEIGHT, width) with
ink 1 and background 0, no letter boundaries given. Three kinds:

- real strips (:func:`real_strips`): a word's 16x8 letter images side by
  side in their written order, as its writer wrote them;
- synthetic strips (:func:`synthetic_strips`): random strings of a fold's
  letter images, so a model learns letters rather than the 55-word vocabulary;
- augmented strips (:class:`StripAugmenter`): either kind drawn as a user's
  picture differs: letter widths and gaps varied, overlaps, vertical jitter,
  slant and stroke thickness.

Every strip, in training and at inference, goes through :func:`normalise_strip`:
polarity (light paper is inverted so ink is bright), contrast stretch, crop to
the ink, then a resize that puts the writing's own core band (the rows between
its x-height line and its baseline, found from the ink's row profile) on the
same ``CORE_ROWS`` rows of every strip, with ascenders above and descenders
below, and keeps the aspect ratio; then ``MARGIN`` blank columns either side.
Only sums and products of pixel values, so the browser can repeat it.
"""

import dataclasses

import numpy as np

from keras_seq import arguments
from keras_seq.datasets import ocr_words

ASCENDER_ROWS = 10
CORE_ROWS = 12
DESCENDER_ROWS = 10
HEIGHT = ASCENDER_ROWS + CORE_ROWS + DESCENDER_ROWS
MAX_WIDTH = 256
MARGIN = 2
INK_THRESHOLD = 0.2
MIN_INK_ROWS = 2
BAND_FRACTION = 0.5
BAND_QUANTILE = 0.8
MIN_BAND_FRACTION = 0.3


def interval_resize_matrix(starts, ends, source):
    """The (target, source) matrix of an area-average resize onto the intervals ``[starts_j, ends_j)``.

    Output pixel ``j`` is the mean of the source pixels over its interval
    (source coordinates, pixel ``i`` covering ``[i, i + 1)``), each weighted
    by the length of its overlap; outside the source counts as 0:

        R[j, i] = |[a_j, b_j) ∩ [i, i + 1)| / (b_j - a_j).
    """
    starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)
    edges = np.arange(source)
    overlap = np.minimum(ends[:, None], edges[None, :] + 1.0) - np.maximum(starts[:, None], edges[None, :])
    return (np.clip(overlap, 0.0, None) / (ends - starts)[:, None]).astype(np.float32)


def box_resize_matrix(source, target):
    """The uniform area-average resize along one axis: intervals ``[j s, (j + 1) s)``, ``s = source / target``.

    Rows sum to 1. Enlarging (``target > source``) copies each source pixel
    over the output pixels it covers, blending the two at a shared edge.
    """
    scale = source / target
    starts = np.arange(target) * scale
    return interval_resize_matrix(starts, starts + scale, source)


def box_resize(image, height, width):
    """Area-average resize of a 2-D image to (height, width): ``R_h image R_w^T``."""
    image = np.asarray(image, np.float32)
    return box_resize_matrix(image.shape[0], height) @ image @ box_resize_matrix(image.shape[1], width).T


def writing_band(ink):
    """The core band ``(top, bottom)`` (rows of ``ink``, bottom exclusive): x-height line to baseline.

    The row profile ``p_y = sum_x ink[y, x]`` is highest where every letter
    has ink (between the x-height line and the baseline) and low where only
    ascenders or descenders reach; the band runs from the first to past the
    last row with ``p_y >= BAND_FRACTION * P``, P the ``BAND_QUANTILE``
    quantile of p (a busy row's level, not one long stroke's). A band under
    ``MIN_BAND_FRACTION`` of the ink's height (a stray stroke dominating) is
    widened about its centre, staying inside the ink.
    """
    profile = np.asarray(ink, np.float64).sum(axis=1)
    rows = np.flatnonzero(profile >= BAND_FRACTION * np.quantile(profile, BAND_QUANTILE))
    top, bottom = float(rows[0]), float(rows[-1] + 1)
    height = ink.shape[0]
    least = MIN_BAND_FRACTION * height
    if bottom - top < least:
        grow = (least - (bottom - top)) / 2
        top, bottom = top - grow, bottom + grow
        shift = max(0.0, -top) - max(0.0, bottom - height)
        top, bottom = top + shift, bottom + shift
    return top, bottom


def row_intervals(height, top, bottom):
    """Source intervals of the ``HEIGHT`` strip rows for ink ``height`` rows high with core band [top, bottom).

    The band fills rows ``ASCENDER_ROWS .. ASCENDER_ROWS + CORE_ROWS`` at
    pitch ``q = (bottom - top) / CORE_ROWS`` source rows per strip row.
    The rows above take pitch ``max(q, top / ASCENDER_ROWS)`` and those
    below ``max(q, (height - bottom) / DESCENDER_ROWS)``: the same scale as
    the band while the ascenders and descenders fit, squeezed just enough
    to keep them when they are taller. Returns ``(starts, ends)``.
    """
    pitch = (bottom - top) / CORE_ROWS
    up = max(pitch, top / ASCENDER_ROWS)
    down = max(pitch, (height - bottom) / DESCENDER_ROWS)
    edges = np.concatenate([
        top - up * np.arange(ASCENDER_ROWS, 0, -1),
        top + pitch * np.arange(CORE_ROWS),
        bottom + down * np.arange(DESCENDER_ROWS + 1),
    ])
    return edges[:-1], edges[1:]


def normalise_strip(gray, max_width=MAX_WIDTH):
    """Turn a grayscale word picture (H, W) with values in [0, 1] into a model strip.

    Steps:
        1. polarity: if the median of the border pixels is > 0.5 (light
           paper), ``g <- 1 - g``, so ink is bright;
        2. contrast: ``g <- (g - min g) / (max g - min g)``;
        3. crop to the rows and columns holding a pixel > ``INK_THRESHOLD``
           (h x w pixels);
        4. find the core band [top, bottom) (:func:`writing_band`) and
           resize (area average) the rows onto ``HEIGHT`` rows with the band
           on the middle ``CORE_ROWS`` (:func:`row_intervals`), the columns
           at the band's scale: ``w' = max(1, round(w * CORE_ROWS / (bottom - top)))``;
        5. add ``MARGIN`` blank columns on each side (one more on the
           right when w' is odd: the reader takes two columns per step).

    Returns:
        float32 (HEIGHT, w' + 2 MARGIN + (w' mod 2)), ink 1 on background 0.

    Raises:
        ValueError: not a non-empty 2-D finite image, no ink (blank), ink
            fewer than ``MIN_INK_ROWS`` rows high, or wider than
            ``max_width`` once resized.
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"a word image must be 2-D (height, width) and non-empty, got shape {gray.shape}")
    if not np.all(np.isfinite(gray)):
        raise ValueError("the word image contains NaN or infinity")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:
        gray = 1.0 - gray
    low, high = float(gray.min()), float(gray.max())
    if high - low < 1e-3:
        raise ValueError(
            f"the word image ({gray.shape[0]}x{gray.shape[1]}) is blank: one value everywhere, no ink to read")
    gray = (gray - low) / (high - low)
    rows = np.flatnonzero(gray.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(gray.max(axis=0) > INK_THRESHOLD)
    ink_height = rows[-1] - rows[0] + 1
    if ink_height < MIN_INK_ROWS:
        raise ValueError(
            f"the ink in the word image is {ink_height} pixel high; a word needs at least "
            f"{MIN_INK_ROWS} rows of ink to be scaled to {HEIGHT} rows"
        )
    ink = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    top, bottom = writing_band(ink)
    width = max(1, int(round(ink.shape[1] * CORE_ROWS / (bottom - top))))
    total = width + 2 * MARGIN + width % 2
    if total > max_width:
        raise ValueError(
            f"the word is {total} columns wide once its letters are scaled to {CORE_ROWS} rows "
            f"(ink {ink_height}x{ink.shape[1]} pixels); the reader takes at most {max_width}: "
            "crop the picture to one word"
        )
    strip = np.zeros((HEIGHT, total), np.float32)
    resize_rows = interval_resize_matrix(*row_intervals(ink.shape[0], top, bottom), ink.shape[0])
    strip[:, MARGIN:MARGIN + width] = np.clip(resize_rows @ ink @ box_resize_matrix(ink.shape[1], width).T, 0.0, 1.0)
    return strip


def fitted_strip(picture):
    """``normalise_strip(picture)``, the picture first narrowed when its strip would exceed ``MAX_WIDTH``."""
    strip = normalise_strip(picture, max_width=np.inf)
    if strip.shape[1] <= MAX_WIDTH:
        return strip
    width = int(picture.shape[1] * (MAX_WIDTH - 4 * MARGIN) / strip.shape[1])
    return normalise_strip(box_resize(picture, picture.shape[0], width))


def slanted(canvas, shear):
    """Shift row y by ``shear * (h / 2 - y)`` columns (linear interpolation): top rows lean right for shear > 0."""
    height, width = canvas.shape
    extra = int(np.ceil(abs(shear) * height / 2)) + 1
    out = np.zeros((height, width + 2 * extra), np.float32)
    columns = np.arange(width + 2 * extra, dtype=np.float32)
    for y in range(height):
        shift = shear * (height / 2 - y)
        out[y] = np.interp(columns - extra - shift, np.arange(width), canvas[y], left=0.0, right=0.0)
    return out


def model_input(strips, width=None):
    """Stack strips into the reader's input (N, HEIGHT, width, 2).

    Channel 0 holds the pixels, channel 1 is 1 on each strip's own columns
    and 0 on the padding to its right: the mask the model reads. ``width``
    defaults to the widest strip; a wider strip, or one of odd width (the
    reader takes two columns per step), raises ``ValueError``.
    """
    if len(strips) == 0:
        raise ValueError("model_input needs at least one strip, got none")
    widths = [s.shape[1] for s in strips]
    odd = [w for w in widths if w % 2]
    if odd:
        raise ValueError(f"strips must have even widths (normalise_strip gives them); got width {odd[0]}")
    width = max(widths) if width is None else width
    if max(widths) > width:
        raise ValueError(f"a strip is {max(widths)} columns wide, more than width={width}")
    x = np.zeros((len(strips), HEIGHT, width, 2), np.float32)
    for i, strip in enumerate(strips):
        if strip.shape[0] != HEIGHT:
            raise ValueError(f"strip {i} has {strip.shape[0]} rows; expected {HEIGHT}")
        x[i, :, :strip.shape[1], 0] = strip
        x[i, :, :strip.shape[1], 1] = 1.0
    return x


def side_by_side(letters):
    """A word's letter images (T, 16, 8) next to each other: (16, 8 T) float32."""
    return np.concatenate(list(np.asarray(letters, np.float32)), axis=1)


@dataclasses.dataclass(frozen=True)
class Strips:
    """Normalised strips and their texts.

    Attributes:
        images: list of float32 (HEIGHT, w_i) strips.
        texts: list of str, the words they show.
    """

    images: list
    texts: list

    def __len__(self):
        return len(self.images)

    def __add__(self, other):
        return Strips(self.images + other.images, self.texts + other.texts)


def real_strips(words):
    """Each word of ``words`` (an :class:`~keras_seq.datasets.ocr_words.Words`) as a normalised strip."""
    return Strips(
        [normalise_strip(side_by_side(w)) for w in words.images],
        [ocr_words.decode(y) for y in words.labels],
    )


def letter_bank(words):
    """Every letter image of ``words`` grouped by letter: a list of 26 arrays (n_k, 16, 8)."""
    images = np.concatenate(words.images)
    labels = np.concatenate(words.labels)
    return [images[labels == k] for k in range(ocr_words.NUM_CLASSES)]


def random_strings(count, rng, letters=ocr_words.LETTERS, min_length=3, max_length=12):
    """``count`` random strings of ``letters``, lengths uniform in [min_length, max_length]."""
    lengths = rng.integers(min_length, max_length + 1, size=count)
    return ["".join(letters[k] for k in rng.integers(0, len(letters), size=n)) for n in lengths]


def bank_letters(bank):
    """The letters a :func:`letter_bank` holds at least one image of."""
    return "".join(ch for ch, images in zip(ocr_words.LETTERS, bank) if len(images))


def synthetic_letters(texts, bank, rng):
    """For each text, one random letter image of ``bank`` per character: a list of (T, 16, 8)."""
    words = []
    for text in texts:
        picks = []
        for ch in text:
            choices = bank[ocr_words.LETTERS.index(ch)]
            if len(choices) == 0:
                raise ValueError(f"the letter bank has no image of {ch!r}")
            picks.append(choices[rng.integers(len(choices))])
        words.append(np.stack(picks))
    return words


def synthetic_strips(words, count, seed=0, augmenter=None):
    """``count`` random strings written with the letter images of ``words``, normalised.

    The letters sit side by side, or are drawn by ``augmenter`` (a
    :class:`StripAugmenter`) when one is given.
    """
    rng = np.random.default_rng(seed)
    bank = letter_bank(words)
    texts = random_strings(count, rng, bank_letters(bank))
    letters = synthetic_letters(texts, bank, rng)
    if augmenter is not None:
        return Strips(augmenter.strips(letters), texts)
    return Strips([normalise_strip(side_by_side(w)) for w in letters], texts)


class StripAugmenter:
    """Draws a word's letter images as a strip the way pictures of words differ.

    With probability ``as_written`` the word is drawn as its writer wrote it
    (the letter images side by side, only normalised), so a model also sees
    words undistorted. Otherwise, for each letter: crop to its ink columns,
    stretch its width by a factor in ``widths``, thicken its strokes (a 2x2
    maximum) with probability ``thicken``, shift it up or down by up to ``jitter`` rows, and place it
    after a gap drawn from ``gaps`` (negative: letters overlap, ink combined
    by maximum). The whole word is then slanted, x' = x + s (y - h / 2) with
    s uniform in [-slant, slant], and normalised by :func:`normalise_strip`
    (narrowed first if it would be wider than ``MAX_WIDTH``).

    Args:
        widths: (low, high) width factors.
        gaps: (low, high) integer gaps in pixels, both included.
        jitter: largest vertical shift per letter in rows (int >= 0).
        slant: largest shear factor (>= 0).
        thicken: probability of thicker strokes (per word).
        as_written: probability of drawing a word unchanged.
        seed: seed of the random draws.

    Example:
        >>> augment = StripAugmenter(seed=0)
        >>> strip = augment(letter_images)   # (32, w) float32
    """

    def __init__(self, widths=(0.75, 1.4), gaps=(-2, 3), jitter=2, slant=0.35, thicken=0.3, as_written=0.5,
                 seed=None):
        self.widths = (arguments.positive_real(widths[0], "widths[0]"),
                       arguments.positive_real(widths[1], "widths[1]"))
        if self.widths[0] > self.widths[1]:
            arguments.refuse("widths", widths, "(low, high) with low <= high")
        self.gaps = (arguments.integer(gaps[0], "gaps[0]", minimum=-4),
                     arguments.integer(gaps[1], "gaps[1]", minimum=-4))
        if self.gaps[0] > self.gaps[1]:
            arguments.refuse("gaps", gaps, "(low, high) with low <= high")
        self.jitter = arguments.integer(jitter, "jitter", minimum=0, maximum=4)
        self.slant = arguments.real(slant, "slant", minimum=0, maximum=1)
        self.thicken = arguments.real(thicken, "thicken", minimum=0, maximum=1)
        self.as_written = arguments.real(as_written, "as_written", minimum=0, maximum=1)
        self.rng = np.random.default_rng(seed)

    def _letter(self, image):
        cols = np.flatnonzero(image.max(axis=0) > 0)
        if len(cols):
            image = image[:, cols[0]:cols[-1] + 1]
        width = max(1, int(round(image.shape[1] * self.rng.uniform(*self.widths))))
        return box_resize(image, image.shape[0], width)

    def __call__(self, letters):
        rng = self.rng
        if rng.random() < self.as_written:
            return normalise_strip(side_by_side(letters))
        pieces = [self._letter(np.asarray(letter, np.float32)) for letter in letters]
        gaps = rng.integers(self.gaps[0], self.gaps[1] + 1, size=len(pieces))
        gaps[0] = 0
        pad = self.jitter + 1
        lefts = np.cumsum([0] + [p.shape[1] + g for p, g in zip(pieces[:-1], gaps[1:])])
        lefts -= min(0, lefts.min())
        width = int(max(left + p.shape[1] for left, p in zip(lefts, pieces)))
        height = pieces[0].shape[0] + 2 * pad
        canvas = np.zeros((height, width), np.float32)
        for left, piece in zip(lefts, pieces):
            top = pad + int(rng.integers(-self.jitter, self.jitter + 1))
            region = canvas[top:top + piece.shape[0], left:left + piece.shape[1]]
            np.maximum(region, piece, out=region)
        if rng.random() < self.thicken:
            thick = canvas.copy()
            thick[1:] = np.maximum(thick[1:], canvas[:-1])
            thick[:, 1:] = np.maximum(thick[:, 1:], thick[:, :-1].copy())
            canvas = thick
        return fitted_strip(slanted(canvas, rng.uniform(-self.slant, self.slant)))

    def strips(self, letters):
        """Augment a list of words' letter images: a list of strips."""
        return [self(word) for word in letters]


def training_strips(words, augmenter, synthetic=None, rng=None):
    """One epoch of augmented training strips: every word of ``words`` and ``synthetic`` random strings.

    Args:
        words: the training :class:`~keras_seq.datasets.ocr_words.Words`.
        augmenter: a :class:`StripAugmenter`.
        synthetic: how many random strings of the training letters to add
            (default: as many as there are words).
        rng: ``numpy.random.Generator`` for the strings and letter picks.
    """
    rng = rng if rng is not None else np.random.default_rng()
    synthetic = len(words) if synthetic is None else arguments.integer(synthetic, "synthetic", minimum=0)
    texts = [ocr_words.decode(y) for y in words.labels]
    letters = list(words.images)
    if synthetic:
        bank = letter_bank(words)
        strings = random_strings(synthetic, rng, bank_letters(bank))
        letters += synthetic_letters(strings, bank, rng)
        texts += strings
    return Strips(augmenter.strips(letters), texts)
