"""Warnings on the command line: one line each, ``PROG: warning: MESSAGE``, on stderr."""

import contextlib
import sys
import warnings


@contextlib.contextmanager
def one_line_warnings(prog):
    """Within the block, every warning shown is printed as ``PROG: warning: MESSAGE``.

    Example:
        >>> with one_line_warnings("keras-seq infer"):
        ...     edge = EdgeModel(path)   # "keras-seq infer: warning: TFLite model '...' carries no digest ..."
    """
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
