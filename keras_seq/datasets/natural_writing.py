"""Words drawn as people write them: at their natural width, on a baseline, joined or printed.

Three kinds of writer draw a text as an ink image (float32, ink 1 on 0,
x-height about ``X_HEIGHT`` pixels), each with its own random hand:

- :class:`StrokeFace`: the pen strokes of a Hershey vector face (PyPI
  ``Hershey-Fonts``; the script faces join their letters), drawn with a
  round pen of random width after a random slant, baseline tilt, per-letter
  size and a smooth wobble of the whole line;
- :class:`FontFace`: the glyphs of a handwriting-style font
  (:mod:`keras_seq.datasets.font_glyphs`) at the font's own advances, with
  random spacing, per-letter size, slant and stroke weight;
- :class:`BaselineLetters`: the real OCR letter images, each cropped to its
  ink and stretched to its letter's natural place on the baseline (short,
  tall or hanging) instead of filling a 16x8 box.

:func:`photograph` then makes the picture a user gives the reader: any
size, dark on light or light on dark, paper and ink grey levels, blur and
noise; :class:`NaturalWriter` picks a writer per text and returns normalised
strips. The faces and fonts used for training and those held out are named
here and in ``data/README.md``.
"""

import numpy as np
from PIL import Image, ImageDraw

from keras_seq.datasets import font_glyphs, ocr_words, word_strips

X_HEIGHT = 24
HERSHEY_TRAIN_FACES = ("cursive", "scripts", "futural", "rowmans", "timesi")
HERSHEY_HELD_OUT_FACES = ("scriptc", "futuram")
SCRIPT_FACES = ("cursive", "scripts", "scriptc")

# Where each lowercase letter sits, in x-heights from the x-height line
# (top) and baseline (bottom 1), and its width: a, c, e, ... fill the band,
# b, d, ... rise above it, g, p, ... hang below it.
_TALL, _SHORT, _HANGING = (-0.8, 1.0), (0.0, 1.0), (0.0, 1.7)
LETTER_PLACES = {
    "a": _SHORT + (0.8,), "b": _TALL + (0.75,), "c": _SHORT + (0.7,), "d": _TALL + (0.8,), "e": _SHORT + (0.75,),
    "f": (-0.8, 1.6, 0.55), "g": _HANGING + (0.8,), "h": _TALL + (0.75,), "i": (-0.4, 1.0, 0.3),
    "j": (-0.4, 1.7, 0.4), "k": _TALL + (0.75,), "l": _TALL + (0.3,), "m": _SHORT + (1.25,), "n": _SHORT + (0.8,),
    "o": _SHORT + (0.8,), "p": _HANGING + (0.8,), "q": _HANGING + (0.8,), "r": _SHORT + (0.6,),
    "s": _SHORT + (0.65,), "t": (-0.45, 1.0, 0.55), "u": _SHORT + (0.8,), "v": _SHORT + (0.75,),
    "w": _SHORT + (1.15,), "x": _SHORT + (0.75,), "y": _HANGING + (0.8,), "z": _SHORT + (0.7,),
}

# English letter frequencies (per cent, a-z), so random strings also look like text.
ENGLISH_FREQUENCIES = np.array([
    8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.2, 0.8, 4.0, 2.4,
    6.7, 7.5, 1.9, 0.1, 6.0, 6.3, 9.1, 2.8, 1.0, 2.4, 0.2, 2.0, 0.1]) / 100.0


def _scaled(image, factor):
    """Area-average resize of ``image`` by ``factor`` in both directions (at least one pixel)."""
    height = max(1, int(round(image.shape[0] * factor)))
    width = max(1, int(round(image.shape[1] * factor)))
    return word_strips.box_resize(image, height, width)


def _paste(canvas, piece, top, left):
    """Combine ``piece`` into ``canvas`` at (top, left) by maximum (ink over ink stays ink)."""
    region = canvas[top:top + piece.shape[0], left:left + piece.shape[1]]
    np.maximum(region, piece[:region.shape[0], :region.shape[1]], out=region)


def _compose(pieces, tops, lefts):
    """Place bitmaps (float tops/lefts, any sign) on one canvas just big enough: the canvas."""
    tops = np.round(np.asarray(tops)).astype(int)
    lefts = np.round(np.asarray(lefts)).astype(int)
    tops, lefts = tops - tops.min(), lefts - lefts.min()
    height = max(t + p.shape[0] for t, p in zip(tops, pieces))
    width = max(left + p.shape[1] for left, p in zip(lefts, pieces))
    canvas = np.zeros((height, width), np.float32)
    for piece, top, left in zip(pieces, tops, lefts):
        _paste(canvas, piece, top, left)
    return canvas


def _stroke_weight(canvas, rng):
    """Thicker (3x3 maximum), thinner (2x2 minimum) or unchanged strokes, one third each."""
    choice = rng.integers(3)
    padded = np.pad(canvas, 1)
    if choice == 0:
        return np.max([padded[dy:dy + canvas.shape[0], dx:dx + canvas.shape[1]]
                       for dy in range(3) for dx in range(3)], axis=0)
    if choice == 1 and canvas.shape[0] > 2 and canvas.shape[1] > 2:
        return np.min([padded[1 + dy:1 + dy + canvas.shape[0], 1 + dx:1 + dx + canvas.shape[1]]
                       for dy in range(2) for dx in range(2)], axis=0)
    return canvas


# How much a hand's letters differ from one another (training only): ascender and descender lengths
# (times the face's), extra slant of one letter, and the amplitude of a smooth bend (x-heights).
ASCENDER_SCALES = (0.75, 1.35)
DESCENDER_SCALES = (0.75, 1.3)
LETTER_SHEAR = 0.12
LETTER_BEND = 0.06


def varied_letter(strokes, baseline, x_height, rng):
    """One letter's strokes (list of (n, 2), y down) as a hand writes it this once, in four steps:

        bend:       (x, y) <- (x, y) + B x_h (sin(2 pi y / L1 + f1), sin(2 pi x / L2 + f2)),
                    B ~ U(0, LETTER_BEND), L ~ U(1, 2) x_h
        ascender:   y <- m - a (m - y)  where y < m = baseline - x_h,  a ~ U(*ASCENDER_SCALES)
        descender:  y <- y_b + d (y - y_b)  where y > y_b = baseline,  d ~ U(*DESCENDER_SCALES)
        slant:      x <- x + s (y_b - y),  s ~ U(-LETTER_SHEAR, LETTER_SHEAR)

    so "t" and "l", "r" and "n", "h" and "k" meet their neighbours' shapes
    the way they do in people's writing. Returns new arrays.
    """
    bend = rng.uniform(0.0, LETTER_BEND) * x_height
    waves = rng.uniform(1.0, 2.0, size=2) * x_height
    phases = rng.uniform(0, 2 * np.pi, size=2)
    ascender, descender = rng.uniform(*ASCENDER_SCALES), rng.uniform(*DESCENDER_SCALES)
    shear = rng.uniform(-LETTER_SHEAR, LETTER_SHEAR)
    mean_line = baseline - x_height
    out = []
    for xy in strokes:
        x = xy[:, 0] + bend * np.sin(2 * np.pi * xy[:, 1] / waves[0] + phases[0])
        y = xy[:, 1] + bend * np.sin(2 * np.pi * xy[:, 0] / waves[1] + phases[1])
        y = np.where(y < mean_line, mean_line - ascender * (mean_line - y), y)
        y = np.where(y > baseline, baseline + descender * (y - baseline), y)
        out.append(np.stack([x + shear * (baseline - y), y], axis=1))
    return out


def varied_glyph(glyph, top, left, x_height, rng):
    """A font letter's bitmap (rows from ``top``, columns from ``left``, relative to the pen on the
    baseline) as a hand writes it this once: the rows above the x-height line stretched by
    a ~ U(*ASCENDER_SCALES), those below the baseline by d ~ U(*DESCENDER_SCALES), then slanted by
    s ~ U(-LETTER_SHEAR, LETTER_SHEAR) (:func:`varied_letter` for pen strokes).
    Returns ``(glyph, top, left)``."""
    ascender, descender = rng.uniform(*ASCENDER_SCALES), rng.uniform(*DESCENDER_SCALES)
    height = glyph.shape[0]
    mean_line = int(np.clip(round(-x_height - top), 0, height))
    baseline = int(np.clip(round(-top), mean_line, height))
    parts = [glyph[:mean_line], glyph[mean_line:baseline], glyph[baseline:]]
    scales = [ascender, 1.0, descender]
    parts = [word_strips.box_resize(part, max(1, int(round(len(part) * scale))), glyph.shape[1])
             for part, scale in zip(parts, scales) if len(part)]
    top -= (parts[0].shape[0] - mean_line) if mean_line else 0
    glyph = word_strips.slanted(np.concatenate(parts), rng.uniform(-LETTER_SHEAR, LETTER_SHEAR))
    extra = (glyph.shape[1] - parts[0].shape[1]) // 2
    return glyph, top, left - extra


class StrokeFace:
    """A Hershey vector face written with a pen: ``face(text, rng)`` -> ink image.

    Each point (x, y) of the face's strokes (font units, y down, baseline
    y_b, x-height x_h) becomes
        letter size:  (x, y) <- (c + k (x - c), y_b + k (y - y_b)),  k ~ U(0.9, 1.1) per letter
        mixed hands:  with probability ``mix_rate`` a letter is the glyph of a face of ``mixed_with``,
                      scaled to this face's x-height on its baseline (people mix print and script forms)
        word width:   x <- w x,  w ~ U(*widths) per word (natural width when ``widths`` is None)
        slant, tilt:  x <- x + s (y_b - y),  y <- y + x tan(a),  s ~ U(-0.25, 0.45), a ~ U(-4, 4) degrees
        wobble:       (x, y) <- (x, y) + A (sin(2 pi x / L1 + f1), sin(2 pi x / L2 + f2)),  A ~ U(0, 0.08) x_h
    and with ``vary_letters`` each letter's own form first (:func:`varied_letter`: its ascender and
    descender lengths, its slant and a smooth bend, as no one writes a letter twice alike);
    then drawn with a round pen 0.06-0.22 x-heights wide. The script faces'
    letters are joined: each letter's first point is tied to the previous
    letter's last with a pen stroke when they are near. The print faces write
    capitals too (``writes_capitals``; people print block capitals, not script ones).
    """

    def __init__(self, name, widths=None, mixed_with=(), mix_rate=0.0, vary_letters=False):
        from HersheyFonts import HersheyFonts

        self.name = name
        self.font = HersheyFonts()
        self.font.load_default_font(name)
        points = [p for stroke in self.font.strokes_for_text("x") for p in stroke]
        ys = [p[1] for p in points]
        self.baseline, self.x_height = float(max(ys)), float(max(ys) - min(ys))
        self.joined = name in SCRIPT_FACES
        self.writes_capitals = not self.joined
        self.widths = widths
        if not 0.0 <= mix_rate <= 1.0:
            raise ValueError(f"mix_rate must be in [0, 1], got {mix_rate}")
        self.mixed_with = [StrokeFace(other) for other in mixed_with]
        self.mix_rate = mix_rate if self.mixed_with else 0.0
        self.vary_letters = vary_letters

    def glyph(self, ch, rng):
        """Letter ``ch``'s strokes ``(strokes, width)`` in this face's units, pen at x 0 on the baseline:
        this face's glyph, or for a lowercase letter with probability ``mix_rate`` that of a face of
        ``mixed_with``, rescaled."""
        face = self
        if self.mix_rate and ch.islower() and rng.random() < self.mix_rate:
            face = self.mixed_with[rng.integers(len(self.mixed_with))]
        (glyph,) = face.font.glyphs_for_text(ch)
        scale = self.x_height / face.x_height
        strokes = []
        for stroke in glyph.strokes:
            xy = np.array(stroke, np.float64).reshape(-1, 2)
            if len(xy):
                strokes.append(np.stack([scale * (xy[:, 0] - glyph.left_offset),
                                         self.baseline + scale * (xy[:, 1] - face.baseline)], axis=1))
        return strokes, scale * glyph.char_width

    def strokes(self, text, rng):
        """The text's strokes in font units after letter size, spacing, slant, tilt and wobble: list of (n, 2)."""
        spacing = rng.uniform(0.97, 1.03) if self.joined else rng.uniform(0.9, 1.2)
        strokes, cursor, previous_end = [], 0.0, None
        for ch in text:
            glyph_strokes, glyph_width = self.glyph(ch, rng)
            if self.vary_letters:
                glyph_strokes = varied_letter(glyph_strokes, self.baseline, self.x_height, rng)
            k = rng.uniform(0.9, 1.1)
            lift = rng.uniform(-0.05, 0.05) * self.x_height
            letter = []
            for xy in glyph_strokes:
                xy[:, 0] = cursor + k * xy[:, 0]
                xy[:, 1] = self.baseline + k * (xy[:, 1] - self.baseline) + lift
                letter.append(xy)
            if letter and self.joined and previous_end is not None:
                gap = np.hypot(*(letter[0][0] - previous_end))
                if gap < 0.6 * self.x_height:
                    letter.insert(0, np.stack([previous_end, letter[0][0]]))
            if letter:
                previous_end = letter[-1][-1]
            strokes += letter
            cursor += k * glyph_width * spacing
        if not strokes:
            raise ValueError(f"the face {self.name!r} has no strokes for {text!r}")
        width = 1.0 if self.widths is None else rng.uniform(*self.widths)
        shear, tilt = rng.uniform(-0.25, 0.45), np.tan(np.radians(rng.uniform(-4, 4)))
        amplitude = rng.uniform(0.0, 0.08) * self.x_height
        waves = rng.uniform(1.5, 4.0, size=2) * self.x_height
        phases = rng.uniform(0, 2 * np.pi, size=2)
        out = []
        for xy in strokes:
            xy = _densified(xy, 0.25 * self.x_height)
            x, y = width * xy[:, 0], xy[:, 1]
            wobble_x = amplitude * np.sin(2 * np.pi * x / waves[0] + phases[0])
            wobble_y = amplitude * np.sin(2 * np.pi * x / waves[1] + phases[1])
            out.append(np.stack([x + shear * (self.baseline - y) + wobble_x, y + x * tilt + wobble_y], axis=1))
        return out

    def __call__(self, text, rng, supersample=3):
        strokes = self.strokes(text, rng)
        scale = supersample * X_HEIGHT / self.x_height
        pen = rng.uniform(0.06, 0.22) * X_HEIGHT * supersample
        points = np.concatenate(strokes)
        low = points.min(axis=0)
        size = np.ceil((points.max(axis=0) - low) * scale + 2 * pen).astype(int) + 1
        image = Image.new("L", (int(size[0]), int(size[1])), 0)
        draw = ImageDraw.Draw(image)
        radius = pen / 2
        for xy in strokes:
            pixels = (xy - low) * scale + pen
            flat = [tuple(p) for p in pixels]
            if len(flat) > 1:
                draw.line(flat, fill=255, width=max(1, int(round(pen))), joint="curve")
            for x, y in (flat[0], flat[-1]):
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
        small = image.resize((max(1, image.width // supersample), max(1, image.height // supersample)),
                             Image.Resampling.BOX)
        return np.asarray(small, np.float32) / 255.0


def _densified(xy, step):
    """The polyline ``xy`` (n, 2) with points inserted so that no segment is longer than ``step``."""
    if len(xy) < 2:
        return xy
    pieces = [xy[:1]]
    for a, b in zip(xy[:-1], xy[1:]):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        t = np.arange(1, n + 1)[:, None] / n
        pieces.append(a + t * (b - a))
    return np.concatenate(pieces)


class FontFace:
    """A handwriting font's glyphs at its own advances: ``face(text, rng)`` -> ink image.

    Letter k goes at the pen position, its bitmap scaled by k_i ~ U(0.92,
    1.08); the pen then moves by ``k_i * advance * spacing + gap`` (spacing
    and gap per word; cursive fonts keep their joins: spacing in [0.97, 1.0],
    no gap). The word is slanted (shear ~ U(-0.2, 0.3)), its strokes made
    thicker or thinner, made w ~ U(*widths) times as wide (natural width
    when ``widths`` is None) and scaled to an x-height of ``X_HEIGHT``; with
    ``vary_letters`` each letter's ascender, descender and slant vary first
    (:func:`varied_glyph`). The print fonts write capitals too (``writes_capitals``).
    """

    def __init__(self, font, widths=None, vary_letters=False):
        self.font = font
        self.widths = widths
        self.vary_letters = vary_letters
        self.name = font.name
        self.joined = font.name in font_glyphs.CURSIVE_FONTS
        self.writes_capitals = not self.joined

    def __call__(self, text, rng):
        font = self.font
        if self.joined:
            spacing, gap = rng.uniform(0.97, 1.0), 0.0
        else:
            spacing, gap = rng.uniform(0.9, 1.15), rng.uniform(-0.03, 0.15) * font.x_height
        pieces, tops, lefts, cursor = [], [], [], 0.0
        for ch in text:
            i = font.index(ch)
            glyph, top, left = font.glyphs[i], font.top[i], font.left[i]
            if self.vary_letters:
                glyph, top, left = varied_glyph(glyph, top, left, font.x_height, rng)
            k = rng.uniform(0.92, 1.08)
            pieces.append(_scaled(glyph, k))
            tops.append(k * top + rng.uniform(-0.04, 0.04) * font.x_height)
            lefts.append(cursor + k * left)
            cursor += k * font.advance[i] * spacing + gap
        canvas = _stroke_weight(_compose(pieces, tops, lefts), rng)
        canvas = word_strips.slanted(canvas, rng.uniform(-0.2, 0.3))
        if self.widths is not None:
            columns = max(1, int(round(canvas.shape[1] * rng.uniform(*self.widths))))
            canvas = word_strips.box_resize(canvas, canvas.shape[0], columns)
        return np.clip(_scaled(canvas, X_HEIGHT / font.x_height), 0.0, 1.0)


class BaselineLetters:
    """The OCR letter images on a baseline at their natural heights: ``writer(text, rng)`` -> ink image.

    Each letter image (16x8, from the training folds' ``letter_bank``) is
    cropped to its ink and resized into its place of ``LETTER_PLACES``
    (x-height ``X_HEIGHT``, size varied by U(0.88, 1.12) per letter), with
    gaps of U(-0.1, 0.25) x-heights and the whole word slanted.
    """

    name = "OCR letters on a baseline"
    writes_capitals = False  # the OCR letters are lowercase

    def __init__(self, bank):
        self.bank = bank

    def letter(self, ch, rng):
        choices = self.bank[ocr_words.LETTERS.index(ch)]
        if len(choices) == 0:
            raise ValueError(f"the letter bank has no image of {ch!r}")
        image = np.asarray(choices[rng.integers(len(choices))], np.float32)
        rows, cols = np.flatnonzero(image.max(axis=1) > 0), np.flatnonzero(image.max(axis=0) > 0)
        if len(rows):
            image = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        return image

    def __call__(self, text, rng):
        pieces, tops, lefts, cursor = [], [], [], 0.0
        for ch in text:
            top, bottom, width = LETTER_PLACES[ch]
            k = rng.uniform(0.88, 1.12)
            height = max(2, int(round((bottom - top) * X_HEIGHT * k)))
            columns = max(2, int(round(width * X_HEIGHT * rng.uniform(0.85, 1.2))))
            pieces.append(np.clip(word_strips.box_resize(self.letter(ch, rng), height, columns), 0, 1))
            tops.append(X_HEIGHT * (1.0 - k * (1.0 - top)) + rng.uniform(-0.06, 0.06) * X_HEIGHT)
            lefts.append(cursor)
            cursor += columns + rng.uniform(-0.1, 0.25) * X_HEIGHT
        return word_strips.slanted(_compose(pieces, tops, lefts), rng.uniform(-0.25, 0.35))


def photograph(ink, rng, x_height=None, dark_on_light=None):
    """The picture a user would give of ``ink`` (x-height ``X_HEIGHT``): grey levels in [0, 1].

    Scaled to an x-height of ``x_height`` pixels (default U(8, 40)), the
    darkest pixel full ink, with a margin, a 3x3 blur half the time, paper
    and ink levels (paper U(0.75, 1), ink U(0, 0.3)), dark ink on light
    paper or the reverse (default: 65 % dark on light) and Gaussian noise of
    sigma U(0, 0.015).
    """
    x_height = rng.uniform(8, 40) if x_height is None else x_height
    coverage = np.clip(_scaled(ink, x_height / X_HEIGHT), 0.0, 1.0)
    coverage = coverage / max(float(coverage.max()), 1e-6)
    margin = int(rng.integers(2, 10))
    coverage = np.pad(coverage, margin)
    if rng.random() < 0.5:
        padded = np.pad(coverage, 1)
        coverage = np.mean([padded[dy:dy + coverage.shape[0], dx:dx + coverage.shape[1]]
                            for dy in range(3) for dx in range(3)], axis=0)
    paper, pen = rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.3)
    dark_on_light = rng.random() < 0.65 if dark_on_light is None else dark_on_light
    if not dark_on_light:
        paper, pen = 1.0 - paper, 1.0 - pen
    picture = paper + (pen - paper) * coverage + rng.normal(0.0, rng.uniform(0.0, 0.015), coverage.shape)
    return np.clip(picture, 0.0, 1.0).astype(np.float32)


def random_texts(count, rng, letters=ocr_words.LETTERS, min_length=2, max_length=12):
    """``count`` random strings of ``letters``: half uniform, half with English letter frequencies."""
    lengths = rng.integers(min_length, max_length + 1, size=count)
    frequencies = ENGLISH_FREQUENCIES[[ocr_words.LETTERS.index(ch) for ch in letters]]
    texts = []
    for n in lengths:
        p = frequencies / frequencies.sum() if rng.random() < 0.5 else None
        texts.append("".join(letters[k] for k in rng.choice(len(letters), size=n, p=p)))
    return texts


# How much narrower or wider than its face a training hand writes a word (people's widths vary more than fonts').
TRAINING_WIDTHS = (0.75, 1.25)
# How often a training face writes a letter in another training face's form: one script face's "r" is
# another's looped one, and people mix print and script forms in one word.
TRAINING_MIX_RATE = 0.2
# How often a training print face or print font writes a whole word in block capitals (how many people
# print; the OCR letters have none).
TRAINING_CAPITALS_RATE = 0.2


def training_writers(bank):
    """The writers training draws from and their shares: Hershey training faces 40 %, training fonts 35 %,
    the OCR letters of ``bank`` on a baseline 25 %; faces and fonts at ``TRAINING_WIDTHS`` of their width,
    each face writing ``TRAINING_MIX_RATE`` of its letters in the other faces' forms, every letter varied
    (``vary_letters``).
    Returns ``(writers, weights)``."""
    faces = [StrokeFace(name, TRAINING_WIDTHS, [other for other in HERSHEY_TRAIN_FACES if other != name],
                        TRAINING_MIX_RATE, vary_letters=True) for name in HERSHEY_TRAIN_FACES]
    fonts = [FontFace(font, TRAINING_WIDTHS, vary_letters=True) for font in font_glyphs.load(font_glyphs.TRAIN_FONTS)]
    weights = [0.40 / len(faces)] * len(faces) + [0.35 / len(fonts)] * len(fonts) + [0.25]
    return faces + fonts + [BaselineLetters(bank)], weights


# 60 common English words of 2-11 letters: the texts of the held-out sets (training writes random strings).
EVALUATION_WORDS = (
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
    "his", "they", "at", "be", "this", "have", "from", "word", "but", "what", "some", "we", "can", "out",
    "other", "were", "all", "there", "when", "up", "use", "your", "how", "said", "each", "which", "their",
    "time", "will", "way", "about", "many", "then", "them", "write", "would", "like", "people", "number",
    "quickly", "handwriting", "keyboard", "jumping", "yellow",
)

# The held-out writing: faces and fonts never used in training, each as a user would give it.
HELD_OUT_SETS = {
    "stroke cursive, dark on light": dict(faces=("scriptc",), fonts=(), x_height=(14, 40), dark_on_light=True),
    "stroke cursive, white on black phone canvas": dict(faces=("scriptc",), fonts=(), x_height=(9, 11),
                                                         dark_on_light=False),
    "print fonts": dict(faces=("futuram",), fonts=("Humor-Sans", "LeckerliOne-Regular"),
                        x_height=(10, 40), dark_on_light=None),
    "cursive fonts": dict(faces=(), fonts=("Kristi", "KaushanScript-Regular"), x_height=(12, 40),
                          dark_on_light=None),
    "print capitals": dict(faces=("futuram",), fonts=("Humor-Sans", "LeckerliOne-Regular"), x_height=(10, 40),
                           dark_on_light=None, capitals=True),
}


def held_out_writers(name):
    """The names of the faces and fonts that write held-out set ``name`` of ``HELD_OUT_SETS``."""
    if name not in HELD_OUT_SETS:
        raise ValueError(f"unknown held-out set {name!r}; known: {', '.join(HELD_OUT_SETS)}")
    return HELD_OUT_SETS[name]["faces"] + HELD_OUT_SETS[name]["fonts"]


def held_out_strips(name, texts=EVALUATION_WORDS, seed=0, writer=None):
    """The texts written by held-out set ``name`` of ``HELD_OUT_SETS``: :class:`~word_strips.Strips`.

    The phone canvas set is 40 pixels high with its x-height of 9-11
    pixels; the others have an x-height drawn from their range. Each text
    goes to one of the set's writers at random, or to ``writer`` (one of
    :func:`held_out_writers`) alone; a set with ``capitals`` writes it in
    capitals (the strips' texts stay lowercase).
    """
    names = held_out_writers(name)
    if writer is not None and writer not in names:
        raise ValueError(f"{writer!r} does not write the held-out set {name!r}; its writers: {', '.join(names)}")
    options = HELD_OUT_SETS[name]
    faces = [face for face in options["faces"] if writer in (None, face)]
    writers = [StrokeFace(face) for face in faces]
    writers += [FontFace(font) for font in font_glyphs.load([f for f in options["fonts"] if writer in (None, f)])]
    rng = np.random.default_rng([seed, len(name)])
    images = []
    for text in texts:
        writer = writers[rng.integers(len(writers))]
        written = text.upper() if options.get("capitals") else text
        picture = photograph(writer(written, rng), rng, rng.uniform(*options["x_height"]), options["dark_on_light"])
        images.append(word_strips.fitted_strip(picture))
    return word_strips.Strips(images, list(texts))


def canvas_strokes(text, face, rng, size=(720, 240), x_height=46.0):
    """A hand's pen path for ``text`` on a canvas of ``size`` (width, height) pixels: the strokes of
    :meth:`StrokeFace.strokes` (slant, tilt, wobble and all) scaled to ``x_height`` pixels (less when the
    word would not fit), baseline at 60 % of the height, as polylines in fractions of the canvas."""
    strokes = face.strokes(text, rng)
    points = np.concatenate(strokes)
    width, height = size
    scale = min(x_height / face.x_height, 0.92 * width / np.ptp(points[:, 0]))
    left = 0.04 * width - points[:, 0].min() * scale
    return [[(round(float((left + x * scale) / width), 4),
              round(float((0.6 * height + (y - face.baseline) * scale) / height), 4)) for x, y in stroke]
            for stroke in strokes]


class NaturalWriter:
    """Writes texts as natural handwriting strips, each with a writer drawn from ``writers`` (by ``weights``);
    with probability ``capitals_rate`` a writer that ``writes_capitals`` writes the text in capitals
    (the strip's text stays lowercase: the reader reads "HELLO" as "hello").

    Example:
        >>> writer = NaturalWriter(*training_writers(letter_bank(words)), seed=0)
        >>> strips = writer.strips(["hello", "world"])      # word_strips.Strips
    """

    def __init__(self, writers, weights=None, seed=None, capitals_rate=0.0):
        if not writers:
            raise ValueError("NaturalWriter needs at least one writer")
        self.writers = list(writers)
        weights = np.ones(len(writers)) if weights is None else np.asarray(weights, np.float64)
        if weights.shape != (len(writers),) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"weights must be {len(writers)} non-negative numbers, not all 0; got {weights}")
        if not 0.0 <= capitals_rate <= 1.0:
            raise ValueError(f"capitals_rate must be in [0, 1], got {capitals_rate}")
        self.weights = weights / weights.sum()
        self.capitals_rate = capitals_rate
        self.rng = np.random.default_rng(seed)

    def __call__(self, text):
        writer = self.writers[self.rng.choice(len(self.writers), p=self.weights)]
        if writer.writes_capitals and self.capitals_rate and self.rng.random() < self.capitals_rate:
            text = text.upper()
        return word_strips.fitted_strip(photograph(writer(text, self.rng), self.rng))

    def strips(self, texts):
        return word_strips.Strips([self(text) for text in texts], list(texts))
