"""Hostile paths and sizes get their own clear message, before any large read, decode or conversion."""

import os
import resource
import struct
import time
import zlib

import keras
import numpy as np
import pytest

from keras_seq import cli, saving
from keras_seq.export import EdgeModel, ModelFileError, tflite_file
from keras_seq.export.digit_image import load_digit_image
from keras_seq.export.word_image import load_word_gray


def _sparse(path, size, head=b""):
    with open(path, "wb") as stream:
        stream.write(head)
        stream.truncate(size)
    return path


def _peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_a_2_gib_file_of_zeros_is_refused_from_its_first_bytes_not_read_whole(tmp_path):
    path = _sparse(tmp_path / "zeros.tflite", 2 << 30)
    before, started = _peak_rss_bytes(), time.perf_counter()
    with pytest.raises(ModelFileError, match=r"zeros.tflite': not a TFLite flatbuffer: identifier"):
        EdgeModel(path)
    assert time.perf_counter() - started < 2.0 and _peak_rss_bytes() - before < 256 << 20  # was 4.8 GB


def test_a_file_over_the_cap_is_refused_from_its_size_and_the_cap_is_configurable(tmp_path, monkeypatch,
                                                                                  trained_lenet_files):
    huge = _sparse(tmp_path / "huge.tflite", (4 << 30) + 1, head=b"\x1c\0\0\0TFL3")
    with pytest.raises(ModelFileError, match=r"huge.tflite' is 4294967297 bytes; at most 4294967296 are read "
                                             r"\(set KERAS_SEQ_MAX_TFLITE_BYTES to read larger files\)"):
        tflite_file.read_tflite_file(huge)
    good = tmp_path / "lenet.tflite"
    good.write_bytes(trained_lenet_files[1])
    assert tflite_file.read_tflite_file(good) == trained_lenet_files[1]
    monkeypatch.setenv("KERAS_SEQ_MAX_TFLITE_BYTES", "1000")
    with pytest.raises(ModelFileError, match="at most 1000 are read"):
        EdgeModel(good)
    assert tflite_file.read_tflite_file(good, max_bytes=10 << 20) == trained_lenet_files[1]
    monkeypatch.setenv("KERAS_SEQ_MAX_TFLITE_BYTES", "lots")
    with pytest.raises(ValueError, match="KERAS_SEQ_MAX_TFLITE_BYTES='lots' is not allowed"):
        EdgeModel(good)


@pytest.mark.parametrize("command", ["verify", "infer"])
def test_a_directory_fifo_and_device_link_each_get_their_own_message(tmp_path, capsys, command):
    os.mkfifo(tmp_path / "fifo.tflite")
    os.symlink("/dev/zero", tmp_path / "zero.tflite")
    (tmp_path / "folder.tflite").mkdir()
    expected = {"folder.tflite": "is a directory, not a file", "fifo.tflite": "is a FIFO (named pipe), not a",
                "zero.tflite": "(a link to '/dev/zero') is a character device, not a regular file",
                "missing.tflite": "does not exist"}
    for name, message in expected.items():
        argv = [command, str(tmp_path / name)] + (["digit:0"] if command == "infer" else [])
        started = time.perf_counter()
        assert cli.main(argv) != 0
        err = capsys.readouterr().err
        assert f"{tmp_path / name}'" in err and message in err, err
        assert time.perf_counter() - started < 30  # a FIFO never blocks


def test_export_to_an_existing_directory_is_refused_before_converting(tmp_path, capsys):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    saving.save_model(model, tmp_path / "m.keras")
    (tmp_path / "out").mkdir()
    assert cli.main(["export", str(tmp_path / "m.keras"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"--out {str(tmp_path / 'out')!r} is a directory; name a file in it" in err
    assert "tmp" not in err.replace(str(tmp_path), "")  # no internal temporary path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "out"] and not os.listdir(tmp_path / "out")


def test_to_tflite_into_a_directory_is_refused_before_converting(tmp_path, monkeypatch):
    from keras_seq.export import convert

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    monkeypatch.setattr(convert, "_converter_factory", lambda *a: pytest.fail("converted before checking path"))
    with pytest.raises(ValueError, match="is a directory; name a file in it"):
        convert.to_tflite(model, tmp_path)
    assert os.listdir(tmp_path) == []


def _png_header_only(path, width, height):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("load, limit", [(load_digit_image, "25000000"), (load_word_gray, "50000000")])
def test_an_image_over_pillows_own_limit_gets_our_message(tmp_path, load, limit):
    bomb = _png_header_only(tmp_path / "bomb.png", 20_000, 20_000)  # 400 Mpx: over 2 x Pillow's 89.5 Mpx
    with pytest.raises(ValueError) as caught:
        load(bomb)
    assert str(caught.value) == (f"image {str(bomb)!r} is over Pillow's own limit: more than {limit} pixels, "
                                 "refused before decoding")
    warned = _png_header_only(tmp_path / "warned.png", 10_000, 10_000)  # 100 Mpx: Pillow only warns
    with pytest.raises(ValueError, match=f"is 10000x10000: more than {limit} pixels, refused before decoding"):
        load(warned)


def test_images_that_are_not_files_or_are_empty_get_their_own_message(tmp_path):
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    for load in (load_digit_image, load_word_gray):
        with pytest.raises(ValueError, match="folder.png' is a directory, not a file"):
            load(tmp_path / "folder.png")
        with pytest.raises(ValueError, match=r"empty.png' is empty \(0 bytes\)"):
            load(tmp_path / "empty.png")
    assert load_word_gray(_rgb(tmp_path)).shape == (5, 7)


def _rgb(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((5, 7, 3), 200, np.uint8)).save(tmp_path / "ok.png")
    return tmp_path / "ok.png"
