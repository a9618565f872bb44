"""MNIST-style preprocessing of digit images of any size and polarity."""

import numpy as np
import pytest
from PIL import Image

from keras_seq.export.bundled_inputs import digits
from keras_seq.export.digit_image import load_digit_image, mnist_style


@pytest.fixture(scope="module")
def mnist_digit():
    x, y = digits("test", 1)
    return x[0, ..., 0], int(y[0])


def _save(tmp_path, pixels, name="digit.png", mode="L"):
    path = tmp_path / name
    Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8)).convert(mode).save(path)
    return path


def test_a_large_dark_on_light_photo_comes_back_like_mnist(mnist_digit, tmp_path):
    original, _ = mnist_digit
    big = np.asarray(Image.fromarray((original * 255).astype(np.uint8)).resize((90, 130)), np.float32) / 255
    paper = 0.9 - 0.8 * big  # dark ink on light paper, not quite black and white
    x = load_digit_image(_save(tmp_path, paper, mode="RGB"))
    assert x.shape == (28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    image = x[..., 0]
    ys, xs = np.indices(image.shape)
    centre = ((ys * image).sum() / image.sum(), (xs * image).sum() / image.sum())
    np.testing.assert_allclose(centre, (14, 14), atol=0.5)
    rows, cols = np.flatnonzero(image.max(1) > 0.2), np.flatnonzero(image.max(0) > 0.2)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)
    assert np.corrcoef(image.ravel(), original.ravel())[0, 1] > 0.6


def test_mnist_digits_are_left_nearly_unchanged(mnist_digit):
    original, _ = mnist_digit
    again = mnist_style(original)[..., 0]
    assert np.corrcoef(again.ravel(), original.ravel())[0, 1] > 0.9


def test_blank_unreadable_and_missing_images_raise_value_errors(tmp_path):
    with pytest.raises(ValueError, match="blank"):
        load_digit_image(_save(tmp_path, np.ones((40, 30)), "white.png"))
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="cannot be read"):
        load_digit_image(tmp_path / "text.png")
    with pytest.raises(ValueError, match="does not exist"):
        load_digit_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="2-D"):
        mnist_style(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        mnist_style(np.full((5, 5), np.nan))


def _paper(original, size=(84, 84)):
    """Black ink on white paper in [0, 1], larger than MNIST."""
    big = np.asarray(Image.fromarray((original * 255).astype(np.uint8)).resize(size), np.float32) / 255
    return 1.0 - big


def _same_digit(x, reference):
    return np.corrcoef(x.ravel(), reference.ravel())[0, 1] > 0.97


@pytest.fixture(scope="module")
def reference(mnist_digit, tmp_path_factory):
    """The 8-bit black-on-white reading every other encoding must match."""
    original, _ = mnist_digit
    return load_digit_image(_save(tmp_path_factory.mktemp("ref"), _paper(original)))


def test_16_bit_gray_is_scaled_not_clipped(mnist_digit, reference, tmp_path):
    paper = _paper(mnist_digit[0])
    path = tmp_path / "digit16.png"
    Image.fromarray((paper * 65535).astype(np.uint16)).save(path)
    with Image.open(path) as image:
        assert image.mode in ("I;16", "I")  # a real 16-bit file
    assert _same_digit(load_digit_image(path), reference)


def test_palette_float_and_cmyk_images_read_like_8_bit_gray(mnist_digit, reference, tmp_path):
    paper = _paper(mnist_digit[0])
    gray8 = Image.fromarray((paper * 255).astype(np.uint8))
    gray8.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(tmp_path / "p.png")
    Image.fromarray(paper.astype(np.float32), mode="F").save(tmp_path / "f.tiff")
    Image.fromarray((paper * 255).astype(np.float32), mode="F").save(tmp_path / "f255.tiff")
    cmyk = np.zeros(paper.shape + (4,), np.uint8)
    cmyk[..., 3] = ((1 - paper) * 255).astype(np.uint8)  # ink as K
    Image.fromarray(cmyk, mode="CMYK").save(tmp_path / "k.tiff")
    for name in ("p.png", "f.tiff", "f255.tiff", "k.tiff"):
        assert _same_digit(load_digit_image(tmp_path / name), reference), name


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_dark_or_light_ink_on_a_transparent_background_is_read(mode, mnist_digit, reference, tmp_path):
    ink = np.asarray(Image.fromarray((mnist_digit[0] * 255).astype(np.uint8)).resize((84, 84)))
    for colour, name in ((0, "dark"), (255, "light")):
        rgba = np.zeros(ink.shape + (4,), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = ink  # the digit is the opaque part; the rest is transparent
        image = Image.fromarray(rgba, mode="RGBA")
        path = tmp_path / f"{name}.png"
        if mode == "P":  # a palette of 16 alpha levels of one colour, alpha in the tRNS chunk
            image = Image.fromarray((ink // 16).astype(np.uint8), mode="P")
            image.putpalette([colour] * 3 * 16)
            image.save(path, transparency=bytes(17 * i for i in range(16)))
        else:
            (image.convert("LA") if mode == "LA" else image).save(path)
        assert _same_digit(load_digit_image(path), reference), (mode, name)


def test_an_oversized_image_is_refused_from_its_header(tmp_path):
    import struct
    import time
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 9000, 9000, 8, 0, 0, 0, 0)  # 81 megapixels, 8-bit gray
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
           + chunk(b"IEND", b""))
    (tmp_path / "huge.png").write_bytes(png)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="9000x9000: more than 25000000 pixels, refused before decoding"):
        load_digit_image(tmp_path / "huge.png")
    assert time.perf_counter() - started < 1.0  # nothing decoded
