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
