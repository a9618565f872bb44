"""Turn a photo or drawing of a digit into an MNIST-style 28x28 input.

MNIST's own recipe (LeCun et al.): white ink on black, the digit's bounding
box scaled (aspect kept) to fit 20x20, then placed in a 28x28 field so that
its centre of mass sits at the centre, (14, 14).
"""

import pathlib

import numpy as np

MNIST_SIZE = 28
BOX_SIZE = 20
INK_THRESHOLD = 0.2


def load_digit_image(path):
    """Read an image file (PNG, JPEG, ...) as MNIST input: float32 (28, 28, 1) in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"image file {str(path)!r} does not exist")
    try:
        with Image.open(path) as image:
            image.load()
            if image.width * image.height > 50_000_000:
                raise ValueError(f"image {str(path)!r} is {image.width}x{image.height}: too large")
            gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"image file {str(path)!r} cannot be read: {error}") from error
    return mnist_style(gray)


def mnist_style(gray):
    """Preprocess a grayscale image (H, W) with values in [0, 1] like MNIST.

    Steps: polarity (a light background is inverted so ink is bright),
    contrast stretch to [0, 1], crop to the ink's bounding box, scale so the
    longer side is 20 pixels, pad into 28x28 and shift so the centre of mass
    is at (14, 14).

    Returns:
        float32 (28, 28, 1) in [0, 1].

    Raises:
        ValueError: not a 2-D image, not finite, or no ink (a blank image).
    """
    from PIL import Image

    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"gray must be a 2-D image (H, W), got shape {gray.shape}")
    if not np.all(np.isfinite(gray)):
        raise ValueError("gray contains NaN or infinity")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # dark ink on light paper: flip to MNIST's polarity
        gray = 1.0 - gray
    low, high = float(gray.min()), float(gray.max())
    if high - low < 1e-3:
        raise ValueError("the image is blank (no ink to read)")
    gray = (gray - low) / (high - low)
    rows = np.flatnonzero(gray.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(gray.max(axis=0) > INK_THRESHOLD)
    digit = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = digit.shape
    scale = BOX_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    digit = np.asarray(
        Image.fromarray((digit * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
        dtype=np.float32,
    ) / 255.0
    canvas = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    h, w = digit.shape
    top, left = (MNIST_SIZE - h) // 2, (MNIST_SIZE - w) // 2
    canvas[top:top + h, left:left + w] = digit
    total = canvas.sum()
    ys, xs = np.indices(canvas.shape)
    shift_y = int(round(MNIST_SIZE / 2 - (ys * canvas).sum() / total))
    shift_x = int(round(MNIST_SIZE / 2 - (xs * canvas).sum() / total))
    # Shift without wrapping: the 4-pixel margin leaves room for it.
    shifted = np.zeros_like(canvas)
    src_y = slice(max(0, -shift_y), MNIST_SIZE - max(0, shift_y))
    dst_y = slice(max(0, shift_y), MNIST_SIZE - max(0, -shift_y))
    src_x = slice(max(0, -shift_x), MNIST_SIZE - max(0, shift_x))
    dst_x = slice(max(0, shift_x), MNIST_SIZE - max(0, -shift_x))
    shifted[dst_y, dst_x] = canvas[src_y, src_x]
    return np.clip(shifted, 0.0, 1.0)[..., None]
