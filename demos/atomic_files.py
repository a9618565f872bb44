"""Atomic writes for the demos' outputs: temporary file in the same folder, then ``os.replace``.

An interrupted demo never leaves half a model, flatbuffer or figure behind.
The finished file gets the usual permissions (0666 less the umask), not the
0600 of a temporary file.
"""

import contextlib
import os
import pathlib
import tempfile


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def replacing(path, suffix=".tmp"):
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary file is removed if the body raises.
    """
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise OSError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, _default_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_bytes(data, path):
    """Write ``data`` to ``path`` atomically; return the path."""
    with replacing(path) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
    return pathlib.Path(path)


def save_keras(model, path):
    """``model.save`` to ``path`` (a ``.keras`` file) atomically; return the path."""
    with replacing(path, suffix=".keras") as temporary:
        model.save(temporary)
    return pathlib.Path(path)
