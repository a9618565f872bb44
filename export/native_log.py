"""Capture what native code (LiteRT's C++ runtime) writes to the process's stderr.

LiteRT logs to file descriptor 2 directly (accelerator registration, plugin
look-ups, and its own account of a failed load), which Python's
``sys.stderr`` cannot intercept. :func:`captured_stderr` points descriptor 2
at a temporary file for the duration of a block, so a caller can turn a
failure into one clear exception and keep the log out of a user's terminal.
Python's own ``sys.stderr`` keeps writing where it did.
"""

import contextlib
import os
import sys
import tempfile


class NativeLog:
    """The text native code wrote inside a :func:`captured_stderr` block."""

    text = ""

    def lines(self, containing=""):
        return [line for line in self.text.splitlines() if containing in line]


@contextlib.contextmanager
def captured_stderr():
    """Yield a :class:`NativeLog`; its ``text`` is filled when the block ends."""
    log = NativeLog()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (embedded interpreters): capture nothing
        yield log
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield log
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            log.text = capture.read().decode("utf-8", "replace")
