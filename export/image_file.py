"""Open an image file for the CLI's readers: header first, size refused before any pixel is decoded.

Pillow refuses images over twice its own ``Image.MAX_IMAGE_PIXELS`` (about
179 megapixels) in ``Image.open`` with its own message, and warns above it;
the readers here have lower limits of their own, so both are turned into the
reader's message (the image is over the reader's limit in either case).
"""

import contextlib
import warnings

from keras_seq import file_reading


@contextlib.contextmanager
def open_image(path, max_pixels):
    """Yield the PIL image at ``path``, its header read, refused above ``max_pixels`` (width x height).

    Raises:
        ValueError: not an existing regular file, empty, not an image Pillow
            reads, or larger than ``max_pixels``; each with its own message.
    """
    from PIL import Image, UnidentifiedImageError

    what = f"image file {str(path)!r}"
    if file_reading.regular_file_size(path, what) == 0:
        raise ValueError(f"{what} is empty (0 bytes)")
    too_large = "image {!r} is {}: more than {} pixels, refused before decoding"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # over our limit: refused below
            image = Image.open(path)  # reads the header only
    except Image.DecompressionBombError:
        raise ValueError(too_large.format(str(path), "over Pillow's own limit", max_pixels)) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{what} cannot be read as an image: {error}") from error
    with image:
        if image.width * image.height > max_pixels:
            raise ValueError(too_large.format(str(path), f"{image.width}x{image.height}", max_pixels))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
        except (OSError, SyntaxError, Image.DecompressionBombError) as error:
            raise ValueError(f"{what} cannot be read as an image: {error}") from error
        yield image
