import os

import pytest

from keras_seq import atomic_files


def test_write_bytes_replaces_whole_and_uses_normal_permissions(tmp_path):
    path = atomic_files.write_bytes(b"abc", tmp_path / "nested" / "data.bin")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"abc" and (path.stat().st_mode & 0o777) == (0o666 & ~umask)
    with pytest.raises(RuntimeError):
        with atomic_files.replacing(path) as temporary:
            with open(temporary, "wb") as f:
                f.write(b"half")
            raise RuntimeError("interrupted")
    assert os.listdir(path.parent) == ["data.bin"] and path.read_bytes() == b"abc"


def test_temporary_keeps_the_suffixes_writers_insist_on(tmp_path):
    with atomic_files.replacing(tmp_path / "model.weights.h5") as temporary:
        assert temporary.endswith(".weights.h5") and not os.path.exists(temporary)
        open(temporary, "wb").close()
    assert os.listdir(tmp_path) == ["model.weights.h5"]


def test_json_round_trip(tmp_path):
    import json

    path = atomic_files.write_json({"b": 1, "a": [1, 2]}, tmp_path / "m.json")
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": 1}
