"""Lowercase and capital glyphs of handwriting-style fonts, rendered once into a bundled atlas.

``handwriting_fonts.npz`` holds the letters a-z and A-Z (``GLYPHS``) of each font in
``TRAIN_FONTS`` and ``HELD_OUT_FONTS`` (Debian font packages, named with their
licenses in ``data/README.md``), each rendered by FreeType through Pillow at
``EM_PIXELS`` pixels per em as an 8-bit coverage bitmap, with its place on the
baseline. Words are then composed from the bitmaps at the fonts' own advances
(:mod:`keras_seq.datasets.natural_writing`), so no font needs to be installed
to train or to measure. ``python -m keras_seq.datasets.font_glyphs OUT.npz``
rebuilds the file where the fonts are installed.
"""

import dataclasses
import pathlib
import sys

import numpy as np

from keras_seq.datasets import bundled, ocr_words

FILE = "handwriting_fonts.npz"
EM_PIXELS = 64
# The characters each font's glyphs hold, in order: the reader's lowercase letters, then their capitals
# (people write words in block capitals too; the reader reads them as the lowercase word).
GLYPHS = ocr_words.LETTERS + ocr_words.LETTERS.upper()
FONT_FOLDER = pathlib.Path("/usr/share/fonts")

TRAIN_FONTS = (
    "ComicNeue-Regular", "ComicNeue-Bold", "ComicNeue-Italic", "ComicNeue-Light", "dkg", "dkgBd", "dkgIt",
    "Breip", "Andika-Regular", "Andika-Italic",
    "DancingScript-Regular", "DancingScript-Bold", "Ecolier-court", "lobster",
    "Havana-Regular", "Rufscript010", "Z003-MediumItalic", "KleeOne-Regular", "KleeOne-SemiBold",
)
HELD_OUT_FONTS = ("Humor-Sans", "LeckerliOne-Regular", "Kristi", "KaushanScript-Regular")
CURSIVE_FONTS = ("DancingScript-Regular", "DancingScript-Bold", "Ecolier-court", "lobster", "Havana-Regular",
                 "Kristi", "KaushanScript-Regular")


@dataclasses.dataclass(frozen=True)
class Font:
    """One font's letters: ``glyphs[k]`` is the coverage (h, w) float32 in [0, 1] of ``GLYPHS[k]``.

    ``left[k]`` and ``top[k]`` place the bitmap's top-left corner relative to
    the pen position on the baseline (``top`` is negative above it),
    ``advance[k]`` moves the pen on; ``x_height`` is the height of 'x'. All
    in pixels at ``EM_PIXELS`` per em.
    """

    name: str
    glyphs: list
    left: np.ndarray
    top: np.ndarray
    advance: np.ndarray
    x_height: float

    def index(self, ch):
        """Where character ``ch`` (a letter of ``GLYPHS``) is in ``glyphs``, ``left``, ``top`` and ``advance``."""
        if ch not in GLYPHS:
            raise ValueError(f"font {self.name!r} has no glyph for {ch!r}; it holds {GLYPHS}")
        return GLYPHS.index(ch)


def _font_file(name):
    matches = sorted(FONT_FOLDER.rglob(f"{name}.[ot]tf"))
    if not matches:
        raise FileNotFoundError(f"font {name!r} is not installed under {FONT_FOLDER}")
    return matches[0]


def render(name):
    """Render font ``name``'s ``GLYPHS`` with Pillow (FreeType): a :class:`Font`."""
    from PIL import ImageFont

    font = ImageFont.truetype(str(_font_file(name)), EM_PIXELS)
    glyphs, left, top, advance = [], [], [], []
    for letter in GLYPHS:
        x0, y0, x1, y1 = font.getbbox(letter, anchor="ls")
        mask = font.getmask(letter, anchor="ls")
        bitmap = np.asarray(mask, np.uint8).reshape(mask.size[1], mask.size[0])
        glyphs.append(bitmap.astype(np.float32) / 255.0)
        left.append(x0)
        top.append(y0)
        advance.append(font.getlength(letter))
    x = GLYPHS.index("x")
    return Font(name, glyphs, np.array(left, np.float32), np.array(top, np.float32),
                np.array(advance, np.float32), float(glyphs[x].shape[0]))


def build(out):
    """Render every font of ``TRAIN_FONTS + HELD_OUT_FONTS`` into the atlas file ``out``."""
    fonts = [render(name) for name in TRAIN_FONTS + HELD_OUT_FONTS]
    shapes = np.array([g.shape for f in fonts for g in f.glyphs], np.int32)
    pixels = np.concatenate([np.round(g * 255).astype(np.uint8).ravel() for f in fonts for g in f.glyphs])
    np.savez_compressed(
        out, names=np.array([f.name for f in fonts]), shapes=shapes, pixels=pixels,
        left=np.stack([f.left for f in fonts]), top=np.stack([f.top for f in fonts]),
        advance=np.stack([f.advance for f in fonts]), x_height=np.array([f.x_height for f in fonts], np.float32),
    )


def load(names, path=None):
    """The fonts ``names`` (a subset of the atlas's) from the bundled atlas: a list of :class:`Font`."""
    data = bundled.load_npz(FILE, ["names", "shapes", "pixels", "left", "top", "advance", "x_height"], path)
    known = [str(n) for n in data["names"]]
    letters = len(GLYPHS)
    sizes = np.prod(data["shapes"], axis=1)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    if offsets[-1] != len(data["pixels"]) or len(data["shapes"]) != letters * len(known):
        raise bundled.DatasetFileError(f"{FILE}: glyph shapes and pixels do not match; the file is corrupt")
    fonts = []
    for name in names:
        if name not in known:
            raise ValueError(f"font {name!r} is not in {FILE}; it holds {', '.join(known)}")
        i = known.index(name)
        glyphs = [data["pixels"][offsets[k]:offsets[k + 1]].reshape(data["shapes"][k]).astype(np.float32) / 255.0
                  for k in range(i * letters, (i + 1) * letters)]
        fonts.append(Font(name, glyphs, data["left"][i], data["top"][i], data["advance"][i],
                          float(data["x_height"][i])))
    return fonts


if __name__ == "__main__":
    build(sys.argv[1])
