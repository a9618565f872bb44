"""Argument checks shared by every package: one rule and one message style.

Each check returns the value in its plain Python type and raises
``ValueError("name=value is not allowed; expected ...")`` otherwise. Booleans
are never integers here (``True`` is not a count of 1), and numpy scalars are
accepted where a Python number is.

Example:
    >>> units = positive_int(units, "units")
    >>> rate = fraction(dropout, "dropout")        # 0 <= rate < 1
    >>> use_bias = boolean(use_bias, "use_bias")
"""

import math
import numbers

import numpy as np


def refuse(name, value, expected):
    """Raise the one ``ValueError`` every check raises."""
    raise ValueError(f"{name}={value!r} is not allowed; expected {expected}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


MAX_LAYER_WEIGHTS = 2**31  # 8 GiB of float32; the lecture's largest layer holds about 10**6


def weight_count(shapes, what):
    """The number of weights in ``shapes`` (one tuple per weight), refused above ``MAX_LAYER_WEIGHTS``.

    Checked before any weight is allocated: ``LSTM(10**9)`` spent 54 s
    allocating before it failed. ``what`` names the layer and the sizes.
    """
    count = sum(math.prod(int(d) for d in shape) for shape in shapes)
    if count > MAX_LAYER_WEIGHTS:
        raise ValueError(
            f"{what} would hold {count:.3g} weights ({4 * count / 2**30:.3g} GiB as float32); at most "
            "2**31 weights per layer are allowed (is the size or the input wrong?)"
        )
    return count


def integer(value, name, minimum=None, maximum=None, allow_none=False):
    """An int in ``[minimum, maximum]`` (either bound optional); ``None`` passes when ``allow_none``."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        bounds = [f">= {minimum}" if minimum is not None else "", f"<= {maximum}" if maximum is not None else ""]
        expected = "an int " + " and ".join(b for b in bounds if b)
        refuse(name, value, ("None or " if allow_none else "") + expected.strip())
    return int(value)


def positive_int(value, name, allow_none=False):
    """An int >= 1."""
    return integer(value, name, minimum=1, allow_none=allow_none)


def real(value, name, minimum=None, maximum=None, open_minimum=False, open_maximum=False):
    """A finite real number within the bounds (closed unless ``open_*``)."""
    ok = _is_real(value) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if open_minimum else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if open_maximum else value <= maximum
    if not ok:
        low = "" if minimum is None else f"{'>' if open_minimum else '>='} {minimum}"
        high = "" if maximum is None else f"{'<' if open_maximum else '<='} {maximum}"
        refuse(name, value, "a finite number " + " and ".join(b for b in (low, high) if b))
    return float(value)


def positive_real(value, name):
    """A finite number > 0."""
    return real(value, name, minimum=0, open_minimum=True)


def fraction(value, name):
    """A rate in [0, 1) (dropout and the like)."""
    return real(value, name, minimum=0, maximum=1, open_maximum=True)


def boolean(value, name):
    """``True`` or ``False`` (numpy booleans too); nothing else is coerced."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    refuse(name, value, "True or False")


def choice(value, name, allowed):
    """One of ``allowed``."""
    if value not in allowed:
        refuse(name, value, "one of " + ", ".join(map(repr, allowed)))
    return value
