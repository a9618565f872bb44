"""The demos' output folder: created if needed and checked writable up front."""

import os
import pathlib
import tempfile

DEFAULT = "keras-seq-out"


def prepare(out):
    """Create ``out`` (and parents) if missing and check files can be written in it.

    Returns the folder as a ``pathlib.Path``. Raises ``OSError`` naming the
    folder when it is a file, cannot be created, or is not writable, before a
    demo spends minutes training.
    """
    folder = pathlib.Path(out if out is not None else DEFAULT)
    if folder.exists() and not folder.is_dir():
        raise OSError(f"--out {str(folder)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-check.", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise OSError(f"--out {str(folder)!r} is not a writable folder: {error.strerror or error}") from error
    return folder
