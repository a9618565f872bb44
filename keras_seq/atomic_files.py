"""Write files atomically: a temporary sibling, then ``os.replace``.

A reader, or a rerun after a crash or ``SIGKILL``, sees either the previous
complete file or the new complete file, never half of one. Finished files get
the usual permissions (0666 less the umask), not a temporary file's 0600.
Used by every writer in keras-seq: training runs, exports and demos.
"""

import contextlib
import json
import os
import pathlib
import tempfile

TEMPORARY_MARK = "-tmp-"


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path beside ``path``; when the body succeeds it replaces ``path``.

    The temporary name keeps ``path``'s suffixes (Keras insists that a model
    file ends in ``.keras`` and a weights file in ``.weights.h5``) and does
    not exist yet, so writers that create their file themselves work. Missing
    parent folders are created. If the body raises, the temporary file is
    removed and ``path`` is untouched.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.name.split(".")[0]
    handle, temporary = tempfile.mkstemp(
        prefix=f".{stem}{TEMPORARY_MARK}", suffix="".join(path.suffixes), dir=path.parent
    )
    os.close(handle)
    os.unlink(temporary)
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
            stream.flush()
            os.fsync(stream.fileno())
    return pathlib.Path(path)


def write_json(data, path):
    """Write ``data`` as indented JSON to ``path`` atomically; return the path."""
    return write_bytes((json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), path)


def save_weights(model, path):
    """``model.save_weights`` to ``path`` (``.weights.h5``) atomically; return the path."""
    with replacing(path) as temporary:
        model.save_weights(temporary)
    return pathlib.Path(path)


def remove_stale_temporaries(folder):
    """Delete the temporary files a killed process left in ``folder``; return how many."""
    folder = pathlib.Path(folder)
    stale = [p for p in folder.glob(f".*{TEMPORARY_MARK}*") if p.is_file()] if folder.is_dir() else []
    for p in stale:
        p.unlink()
    return len(stale)
