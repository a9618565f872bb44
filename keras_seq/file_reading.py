"""Read a file a user named: a regular file, its size checked before a byte is read, never blocking.

``pathlib.Path.is_file`` is False for a missing path, a directory, a FIFO and
a link to ``/dev/zero`` alike, and every one of them was reported as "does
not exist"; a size checked only after ``read_bytes`` let a 2 GiB (sparse)
file be read whole before it was refused. Here the path is opened with
``O_NONBLOCK`` (opening a FIFO does not wait for a writer) and judged by
``fstat`` on what was opened, so each case has its own message and no other
file can be swapped in between the check and the read.
"""

import os
import pathlib
import stat

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _named(path, what):
    return what or f"file {str(path)!r}"


def _refusal(path, mode, what):
    if stat.S_ISDIR(mode):
        return f"{what} is a directory, not a file"
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    link = f" (a link to {os.path.realpath(path)!r})" if os.path.islink(path) else ""
    return f"{what}{link} is {kind}, not a regular file"


def regular_file_size(path, what=None, error=ValueError):
    """The size in bytes of the regular file at ``path``; anything else raises ``error`` with a clear message.

    ``what`` names the file in messages, path included (default ``"file 'PATH'"``).
    """
    what = _named(path, what)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what} does not exist") from None
    except OSError as failure:
        raise error(f"{what} cannot be read: {failure.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise error(_refusal(path, status.st_mode, what))
    return status.st_size


def read_regular_file(path, what=None, max_bytes=None, error=ValueError, limit_hint=""):
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them (None: no cap).

    The size comes from the opened file's ``fstat`` and is checked before it
    is read. ``limit_hint`` is appended to the too-large message (how to
    raise the cap); ``what`` names the file as in :func:`regular_file_size`.

    Raises:
        error: ``path`` does not exist, is a directory, a FIFO, a device or a
            socket (a link to one included), cannot be read, or is larger
            than ``max_bytes``.
    """
    path, what = pathlib.Path(path), _named(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"{what} does not exist") from None
    except OSError as failure:
        raise error(f"{what} cannot be opened: {failure.strerror}") from None
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode) or (max_bytes is not None and status.st_size > max_bytes):
        os.close(fd)
        if not stat.S_ISREG(status.st_mode):
            raise error(_refusal(path, status.st_mode, what))
        raise error(f"{what} is {status.st_size} bytes; at most {max_bytes} are read{limit_hint}")
    with open(fd, "rb", buffering=0) as stream:
        data = stream.readall() if max_bytes is None else stream.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:  # it grew after fstat
        raise error(f"{what} is over {max_bytes} bytes; at most {max_bytes} are read{limit_hint}")
    return data
