"""Turn a photo or drawing of a digit into an MNIST-style 28x28 input.

MNIST's own recipe (LeCun et al.): white ink on black, the digit's bounding
box scaled (aspect kept) to fit 20x20, then placed in a 28x28 field so that
its centre of mass sits at the centre, (14, 14).
"""


import numpy as np

from keras_seq.export.image_file import open_image
from keras_seq.export.limits import MAX_IMAGE_PIXELS

MNIST_SIZE = 28
BOX_SIZE = 20
INK_THRESHOLD = 0.2
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601, as Pillow's "L"


def load_digit_image(path):
    """Read an image file (PNG, JPEG, TIFF, ...) as MNIST input: float32 (28, 28, 1) in [0, 1].

    The size is read from the file's header and refused above
    ``limits.MAX_IMAGE_PIXELS`` before any pixel is decoded. Any bit depth
    and colour model is turned into gray in [0, 1] (see :func:`to_gray`).
    """
    with open_image(path, MAX_IMAGE_PIXELS) as image:
        gray = to_gray(image)
    return mnist_style(gray)


def _scaled(values):
    """Integer or float samples to [0, 1]: 8-bit, 16-bit or [0, 1] ranges as stored, others stretched."""
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("the image holds NaN or infinite samples")
    low, high = float(values.min()), float(values.max())
    if low >= 0:
        for top in (1.0, 255.0, 65535.0):
            if high <= top:
                return (values / top).astype(np.float32)
    return ((values - low) / max(high - low, 1e-12)).astype(np.float32)


def _composite(luminance, alpha):
    """Gray of ``luminance`` over a background chosen from the opaque pixels.

    gray = alpha * luminance + (1 - alpha) * background. Mostly transparent
    (ink drawn on transparency): the background contrasts with the ink's
    median tone. Mostly opaque (paper with transparent parts): the background
    is the paper's median tone.
    """
    opaque = alpha > 0.5
    if not opaque.any():
        return np.zeros_like(luminance)  # nothing drawn: mnist_style calls it blank
    tone = float(np.median(luminance[opaque]))
    background = (1.0 if tone < 0.5 else 0.0) if opaque.mean() < 0.5 else tone
    return alpha * luminance + (1 - alpha) * background


def to_gray(image):
    """A Pillow image of any mode as gray float32 (H, W) in [0, 1].

    16-bit gray is divided by 65535 (not clipped at 255); 32-bit integer and
    float images are taken as 8-bit, 16-bit or [0, 1] values by their
    largest sample (stretched otherwise); CMYK is R = (1 - C)(1 - K) and
    alike for G and B; every colour model goes through RGB and
    Y = 0.299 R + 0.587 G + 0.114 B. Alpha (also a palette's or a
    ``transparency`` colour) is composited as in :func:`_composite`, so ink
    on a transparent background is read.
    """
    mode = image.mode
    if mode in SIXTEEN_BIT_MODES:
        return np.asarray(image, dtype=np.float32) / 65535.0
    if mode in ("I", "F"):
        return _scaled(np.asarray(image))
    if mode == "CMYK":
        c, m, y, k = np.moveaxis(np.asarray(image, dtype=np.float32) / 255.0, -1, 0)
        rgb = np.stack([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)], axis=-1)
        return rgb @ LUMA
    if mode == "LAB":
        return np.asarray(image.getchannel(0), dtype=np.float32) / 255.0
    has_alpha = "A" in mode or "a" in mode or "transparency" in image.info
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        if np.any(rgba[..., 3] < 1):
            return _composite(rgba[..., :3] @ LUMA, rgba[..., 3])
    # Opaque 8-bit images: Pillow's own "L" (integer BT.601), which the web
    # page's JavaScript reproduces bit for bit.
    return np.asarray(image.convert("RGB").convert("L"), dtype=np.float32) / 255.0


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
