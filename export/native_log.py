"""Capture what native code (LiteRT's C++ runtime) writes to the process's stderr.

LiteRT logs to file descriptor 2 directly (accelerator registration, plugin
look-ups, and its own account of a failed load), which Python's
``sys.stderr`` cannot intercept. :func:`captured_stderr` points descriptor 2
at a temporary file for the duration of a block, so a caller can turn a
failure into one clear exception and keep the log out of a user's terminal.
Python's own ``sys.stderr`` keeps writing where it did.

LiteRT's accelerator registry also logs from a C++ static destructor, after
Python has finished; :func:`silence_native_teardown` points descriptor 2 at
``/dev/null`` from Python's exit handlers on, for that.
"""

import atexit
import contextlib
import functools
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


def _point_stderr_at_devnull():
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


@functools.cache
def silence_native_teardown():
    """From Python's exit on, native stderr output goes nowhere (registered once).

    Exit handlers run after Python has printed any uncaught exception, so
    only native teardown logging is dropped.
    """
    atexit.register(_point_stderr_at_devnull)
