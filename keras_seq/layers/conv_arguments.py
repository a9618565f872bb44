"""Checks for the geometry arguments of a 2-D convolution: kernel size, stride, padding.

The lecture's sizes: an ``n x n`` image, ``k x k`` kernel, padding ``p`` zeros
on each side and stride ``s`` give an output of ``floor((n + 2p - k) / s) + 1``
rows and columns.
"""

import numbers


def pair(value, name, minimum):
    """Return ``value`` (an int or a pair of ints, each >= ``minimum``) as a tuple of two ints."""
    items = (value, value) if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or len(items) != 2 or not all(is_int(v) and v >= minimum for v in items):
        raise ValueError(
            f"{name}={value!r} is not allowed; expected an int >= {minimum} or a pair of them"
        )
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
            raise ValueError(
                f"padding={padding!r} is not allowed; expected 'valid', 'same' or an int >= 0"
            )
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


def is_int(value):
    """True for ints (not bools)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
