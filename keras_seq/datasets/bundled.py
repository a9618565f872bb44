"""Locate and verify the dataset files bundled with keras-seq.

A file is looked up, in order, at the explicit ``path=`` a loader was given,
in the folder named by the ``KERAS_SEQ_DATA_DIR`` environment variable, and in
the package's own ``data/`` folder. Bundled files (and copies with the bundled
name) are checked against their sha256 once per process; nothing is ever
downloaded.
"""

import os
import pathlib

import numpy as np
from keras_seq.file_digest import sha256_of

DATA_DIR_ENV = "KERAS_SEQ_DATA_DIR"
PACKAGE_DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"

SHA256 = {
    "mnist.npz": "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
    "ocr_words.npz": "74608b360ee30d2f72719c5c143548c7946479f51df0d130db94d35ec38023c5",
    "handwriting_fonts.npz": "fa8bb78b48b507f3de9e5c517cb7f65caa5bd467d8301222632eff39251c4841",
}

_verified = set()


class DatasetFileError(OSError):
    """A dataset file is missing, corrupt or not what its loader expects."""


def resolve(name, path=None):
    """Return the path of dataset file ``name``.

    Args:
        name: the bundled file name, e.g. ``"mnist.npz"``.
        path: an explicit file (or a folder holding ``name``); wins over the
            environment variable and the bundled copy.
    """
    if path is not None:
        candidate = pathlib.Path(path)
        if candidate.is_dir():
            candidate = candidate / name
    elif os.environ.get(DATA_DIR_ENV):
        candidate = pathlib.Path(os.environ[DATA_DIR_ENV]) / name
    else:
        candidate = PACKAGE_DATA_DIR / name
    if not candidate.is_file():
        raise DatasetFileError(
            f"dataset file {str(candidate)!r} does not exist "
            f"(looked for {name!r}; set path= or {DATA_DIR_ENV} to a copy)"
        )
    return candidate




def load_npz(name, keys, path=None, verify=True):
    """Load the arrays ``keys`` from dataset file ``name`` as a dict.

    The file's sha256 is checked against the bundled one (once per process)
    when ``verify`` is true and the file carries the bundled name. Any
    unreadable or incomplete file raises :class:`DatasetFileError` naming it.
    """
    file = resolve(name, path)
    key = str(file.resolve())
    if verify and file.name in SHA256 and key not in _verified:
        actual = sha256_of(file)
        if actual != SHA256[file.name]:
            raise DatasetFileError(
                f"dataset file {str(file)!r} is corrupt or not the bundled "
                f"{file.name}: sha256 {actual} != {SHA256[file.name]}"
            )
        _verified.add(key)
    try:
        with np.load(file, allow_pickle=False) as archive:
            missing = [k for k in keys if k not in archive.files]
            if missing:
                raise DatasetFileError(
                    f"dataset file {str(file)!r} lacks arrays {missing}"
                )
            return {k: archive[k] for k in keys}
    except DatasetFileError:
        raise
    except Exception as error:  # zipfile, zlib and npy header errors alike
        raise DatasetFileError(
            f"dataset file {str(file)!r} cannot be read: {error}"
        ) from error
