"""Write run outputs atomically: a temporary file in the same folder, then ``os.replace``.

A reader (or a rerun after a crash or ``SIGKILL``) sees either the previous
complete file or the new complete file, never half of one.
"""

import json
import os
import pathlib
import tempfile


def atomic_path(path, write):
    """Call ``write(tmp_path)`` on a temporary sibling of ``path``, then rename it to ``path``.

    The temporary name keeps ``path``'s suffixes (Keras checks that a model
    file ends in ``.keras`` and a weights file in ``.weights.h5``). If
    ``write`` raises, the temporary file is removed and ``path`` is untouched.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name.split('.')[0]}-tmp-", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # Keras writers create the file themselves
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_model(model, path):
    """Save a Keras model to ``path`` (``.keras``) atomically."""
    return atomic_path(path, lambda tmp: model.save(tmp))


def save_weights(model, path):
    """Save a model's weights (and its optimizer's state) to ``path`` (``.weights.h5``) atomically."""
    return atomic_path(path, lambda tmp: model.save_weights(tmp))


def write_json(data, path):
    """Write ``data`` as indented JSON to ``path`` atomically."""

    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())

    return atomic_path(path, write)


def remove_stale_temporaries(folder):
    """Delete temporary files a killed process left in ``folder``; return how many."""
    folder = pathlib.Path(folder)
    stale = [p for p in folder.glob(".*-tmp-*") if p.is_file()] if folder.is_dir() else []
    for p in stale:
        p.unlink()
    return len(stale)
