"""A path that is not a regular file gets its own message, a FIFO never blocks, sizes are checked first."""

import os
import threading

import pytest

from keras_seq import atomic_files, file_reading


def test_each_kind_of_path_has_its_own_message(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    os.symlink("/dev/zero", tmp_path / "zero")
    (tmp_path / "folder").mkdir()
    cases = {
        "missing": "file '{}' does not exist",
        "folder": "file '{}' is a directory, not a file",
        "fifo": "file '{}' is a FIFO (named pipe), not a regular file",
        "zero": "file '{}' (a link to '/dev/zero') is a character device, not a regular file",
    }
    for name, message in cases.items():
        path = tmp_path / name
        for read in (file_reading.regular_file_size, file_reading.read_regular_file):
            with pytest.raises(ValueError) as caught:
                read(path)
            assert str(caught.value) == message.format(path)


def test_a_fifo_is_refused_at_once_with_no_writer(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_refusal(tmp_path / "fifo")), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome and "is a FIFO" in outcome[0]  # a plain open() waits for a writer for good


def _refusal(path):
    try:
        file_reading.read_regular_file(path)
    except ValueError as error:
        return str(error)


def test_the_size_is_checked_before_reading_and_the_error_type_is_the_callers(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 100)
    assert file_reading.read_regular_file(path, max_bytes=100) == b"x" * 100
    assert file_reading.regular_file_size(path) == 100

    class Refused(ValueError):
        pass

    with pytest.raises(Refused, match=r"^model 'm' is 100 bytes; at most 99 are read \(raise it\)$"):
        file_reading.read_regular_file(path, "model 'm'", max_bytes=99, error=Refused, limit_hint=" (raise it)")


def test_an_output_path_that_cannot_be_replaced_is_refused_before_any_work(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ValueError, match=r"--out '.*folder' is a directory; name a file in it"):
        atomic_files.check_target(tmp_path / "folder", "--out")
    with pytest.raises(ValueError, match=r"'.*file' is a file, not a folder"):
        atomic_files.check_target(tmp_path / "file" / "model.tflite")
    assert atomic_files.check_target(tmp_path / "new" / "deeper" / "m.tflite").name == "m.tflite"
    assert atomic_files.check_target(tmp_path / "file") == tmp_path / "file"
