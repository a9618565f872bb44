"""One training run per folder: an exclusive lock file in the run folder.

``RunLock(folder)`` creates ``folder/.keras-seq.lock`` holding the owner's
process id and host, and takes an exclusive ``flock`` on it for as long as
the run lasts. The kernel drops the lock when its process ends, however it
ends (``SIGKILL`` included), so the lock of a dead run is stale by
construction: the next run takes it over and says so. A second live run
into the same folder gets :class:`RunFolderInUseError` at once instead of
racing the first for the same checkpoint files. (``flock`` locks are local
to one machine; folders shared over NFS by runs on several hosts are not
guarded.)
"""

import fcntl
import json
import os
import pathlib
import socket

LOCK_FILE = ".keras-seq.lock"


class RunFolderInUseError(ValueError):
    """Another live training run holds the folder's lock."""


class RunLock:
    """Hold ``folder``'s lock for a ``with`` block (the folder is created if needed).

    Attributes:
        took_over: the process id of a dead run whose lock was taken over, or ``None``.

    Example:
        >>> with RunLock("keras-seq-out/digits"):
        ...     train(...)
    """

    def __init__(self, folder):
        self.path = pathlib.Path(folder) / LOCK_FILE
        self.took_over = None
        self._handle = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(handle)
            os.close(handle)
            raise RunFolderInUseError(
                f"{str(self.path.parent)!r} is in use by another training run ({owner}); "
                "wait for it to finish or choose another folder"
            ) from None
        previous = _read(handle)
        if previous.get("pid") and previous.get("pid") != os.getpid():
            self.took_over = previous["pid"]  # its process ended without releasing: a stale lock
        os.ftruncate(handle, 0)
        os.pwrite(handle, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
        self._handle = handle
        return self

    def __exit__(self, *exc_info):
        os.ftruncate(self._handle, 0)
        os.close(self._handle)  # closing releases the flock
        self._handle = None
        return False


def _read(handle):
    try:
        owner = json.loads(os.pread(handle, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _owner(handle):
    owner = _read(handle)
    return f"process {owner.get('pid', '?')} on {owner.get('host', '?')}" if owner else "process unknown"
