"""The geometry of a 2-D convolution or pooling window: checks for kernel
size, stride and padding, explicit padding, and the output shape.

The sizes (LeCun et al. 1998; Dumoulin & Visin 2016, "A guide to convolution
arithmetic"): an ``n x n`` image, ``k x k`` kernel, padding ``p`` zeros on each
side and stride ``s`` give an output of ``floor((n + 2p - k) / s) + 1`` rows
and columns.
"""

import numbers

from keras import ops


def pair(value, name, minimum):
    """Return ``value`` (an int or a pair of ints, each >= ``minimum``) as a tuple of two ints."""
    items = (value, value) if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or len(items) != 2 or not all(is_int(v) and v >= minimum for v in items):
        raise ValueError(f"{name}={value!r} is not allowed; expected an int >= {minimum} or a pair of them")
    return tuple(int(v) for v in items)


def padding_argument(padding, kernel_size):
    """Check ``padding`` for a kernel of ``kernel_size`` (rows, cols).

    Returns ``"valid"``, ``"same"`` or a pair ``(rows, cols)`` of zeros added
    on each side. ``"same"`` needs odd kernel sizes, so that the zeros split
    evenly between the two sides and every pixel can be the window's centre.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError(f"padding={padding!r} is not allowed; expected 'valid', 'same' or an int >= 0")
        if mode == "same" and any(k % 2 == 0 for k in kernel_size):
            raise ValueError(
                f"padding='same' needs an odd kernel size, got {kernel_size[0]}x{kernel_size[1]}:"
                " an even kernel has no centre pixel; use an int padding instead"
            )
        return mode
    return pair(padding, "padding", 0)


def padding_config(padding):
    """The JSON form of a checked padding: the string, or the int/pair as a list."""
    if isinstance(padding, str):
        return padding
    return padding[0] if padding[0] == padding[1] else list(padding)


def output_length(length, kernel, stride, padding):
    """Output length along one axis (``None`` when ``length`` is unknown).

    ``padding`` is ``"valid"``, ``"same"`` or the zeros added on each side.
    """
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    pad = 0 if padding == "valid" else padding
    return (length + 2 * pad - kernel) // stride + 1


def padded(inputs, padding):
    """``(inputs, mode)`` for ``ops.conv``: an int/pair padding adds its zeros
    to (batch, rows, cols, channels) inputs here and runs ``"valid"``."""
    if isinstance(padding, str):
        return inputs, padding
    rows, cols = padding
    return ops.pad(inputs, [[0, 0], [rows, rows], [cols, cols], [0, 0]]), "valid"


def output_shape(input_shape, window, strides, padding, channels):
    """(batch, rows, cols, ``channels``) out of a ``window`` (rows, cols)
    sliding by ``strides`` over a (batch, rows, cols, _) input, ``padding``
    checked by :func:`padding_argument`."""
    batch, rows, cols = input_shape[:3]
    pads = (padding, padding) if isinstance(padding, str) else padding
    return (
        batch,
        output_length(rows, window[0], strides[0], pads[0]),
        output_length(cols, window[1], strides[1], pads[1]),
        channels,
    )


def is_int(value):
    """True for ints (not bools)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def image_channels(layer, input_shape, window):
    """Check ``layer``'s (batch, rows, cols, channels) input shape; return the channel count.

    ``ValueError`` for another rank, an unknown channel count, or an image
    smaller than the layer's ``window`` (described in words, e.g. "the 3x3
    kernel with padding='valid'"), i.e. an output side below 1.
    """
    if len(input_shape) != 4:
        raise ValueError(f"{layer.name} expects (batch, rows, cols, channels) inputs, got shape {input_shape}")
    channels = input_shape[-1]
    if channels is None:
        raise ValueError(f"{layer.name} needs a known channel count, got shape {input_shape}")
    if any(size is not None and size < 1 for size in layer.compute_output_shape(input_shape)):
        raise ValueError(f"{layer.name}: input of shape {input_shape} is smaller than {window}")
    return channels
