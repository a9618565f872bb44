"""The sha256 of a file, read in 1 MiB blocks: the one digest the package checks files with."""

import hashlib


def sha256_of(path):
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
