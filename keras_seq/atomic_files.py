"""Write files atomically: a temporary sibling, then ``os.replace``.

A reader, or a rerun after a crash or ``SIGKILL``, sees either the previous
complete file or the new complete file, never half of one. Finished files get
the usual permissions (0666 less the umask), not a temporary file's 0600.
Used by every writer in keras-seq: training runs, exports and demos.

A full disk (``ENOSPC``), an exhausted quota (``EDQUOT``) or a file-size
limit (``EFBIG``, e.g. ``ulimit -f``) is one :class:`DiskFullError` naming
the file, the bytes it needed (when known) and the bytes free on its
filesystem; the temporary file is removed and the previous file is kept.
Model writers put HDF5 in memory and hand the file system only bytes (see
:func:`save_model_file`): HDF5 writing a file on a full disk leaves an open
HDF5 object whose close fails again at exit, and the process crashed
(``SIGSEGV``) after the error.
"""

import contextlib
import errno
import json
import os
import pathlib
import shutil
import tempfile

TEMPORARY_MARK = "-tmp-"
FULL_DISK = {
    errno.ENOSPC: "no space left on its device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file would exceed the file-size limit (ulimit -f) or the filesystem's largest file",
}


class DiskFullError(OSError):
    """A file could not be written for lack of room; the previous file, if any, is kept.

    ``errno`` is the system's (``ENOSPC``, ``EDQUOT`` or ``EFBIG``), so callers
    that handle ``OSError`` keep working; the message (``strerror``) is one line.
    """

    def __str__(self):
        return self.strerror


def free_bytes(folder):
    """Bytes an unprivileged process may still write on the filesystem holding ``folder`` (None if unknown)."""
    folder = pathlib.Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _full_disk_error(error, path, size):
    needed = "" if size is None else f"{size} bytes to write, "
    free = free_bytes(path.parent)
    left = "free space unknown" if free is None else f"{free} bytes free there"
    kept = "the previous file is kept" if path.exists() else "there was no earlier copy of it"
    message = f"cannot write {str(path)!r}: {FULL_DISK[error.errno]} ({needed}{left}); {kept}"
    return DiskFullError(error.errno, message, str(path))


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def replacing(path, size=None):
    """Yield a temporary path beside ``path``; when the body succeeds it replaces ``path``.

    The temporary name keeps ``path``'s suffixes (Keras insists that a model
    file ends in ``.keras`` and a weights file in ``.weights.h5``) and does
    not exist yet, so writers that create their file themselves work. Missing
    parent folders are created. If the body raises, the temporary file is
    removed and ``path`` is untouched; a full disk, quota or file-size limit
    (in the body or here) is a :class:`DiskFullError` (``size``: the bytes
    being written, for its message).
    """
    path = pathlib.Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stem = path.name.split(".")[0]
        handle, temporary = tempfile.mkstemp(
            prefix=f".{stem}{TEMPORARY_MARK}", suffix="".join(path.suffixes), dir=path.parent
        )
        os.close(handle)
        os.unlink(temporary)
        yield temporary
        os.chmod(temporary, _default_mode())
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(error, OSError) and not isinstance(error, DiskFullError) and error.errno in FULL_DISK:
            raise _full_disk_error(error, path, size) from None
        raise


def check_target(path, what="output"):
    """Refuse, before any work, a ``path`` that :func:`replacing` could not replace; return it as a Path.

    Raises:
        ValueError: ``path`` is a directory or another non-regular file, a
            folder on its way is a file, or this process may not write in
            its folder; the message names the path.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a directory; name a file in it, e.g. {str(path / 'model.tflite')!r}")
    if path.exists() and not path.is_file():
        raise ValueError(f"{what} {str(path)!r} exists and is not a regular file; name another path")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{what} {str(path)!r}: {str(folder)!r} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {str(path)!r}: no permission to write in {str(folder)!r}")
    return path


def write_bytes(data, path):
    """Write ``data`` to ``path`` atomically; return the path."""
    with replacing(path, size=len(data)) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    return pathlib.Path(path)


def write_json(data, path):
    """Write ``data`` as indented JSON to ``path`` atomically; return the path."""
    return write_bytes((json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), path)


def save_model_file(model, path):
    """``model.save`` to ``path`` (a ``.keras`` file: config, weights, optimizer state) atomically; return the path.

    Keras builds the archive's HDF5 weights in memory and writes the archive
    with Python's ``zipfile``, so a full disk is a clean ``OSError`` here (a
    :class:`DiskFullError`). ``model.save_weights`` (``.weights.h5``) is not
    used: HDF5 writes that file itself, and on a full disk its failed file
    object made the process crash at exit.
    """
    with replacing(path) as temporary:
        model.save(temporary)
    return pathlib.Path(path)


def remove_stale_temporaries(folder):
    """Delete the temporary files a killed process left in ``folder``; return how many."""
    folder = pathlib.Path(folder)
    stale = [p for p in folder.glob(f".*{TEMPORARY_MARK}*") if p.is_file()] if folder.is_dir() else []
    for p in stale:
        p.unlink()
    return len(stale)
