import os

import numpy as np
import pytest
from PIL import Image

from keras_seq.demos import figures


def test_save_png_writes_a_png_of_the_figure_size_atomically(tmp_path):
    figure = figures.new_figure(3.0, 2.0)
    axes = figure.add_subplot(1, 1, 1)
    drawn = figures.show_map_over_image(axes, np.eye(8), np.linspace(0, 1, 64).reshape(8, 8), title="t")
    figure.colorbar(drawn, ax=axes).set_label("value")
    path = figures.save_png(figure, tmp_path / "f.png")
    assert figures.png_size(path) == figures.figure_pixels(figure) == (300, 200)
    with Image.open(path) as image:
        image.verify()
    assert os.listdir(tmp_path) == ["f.png"]  # no temporary file left behind


def test_save_png_creates_missing_folders_and_refuses_unwritable_ones(tmp_path):
    figure = figures.new_figure(1, 1)
    path = figures.save_png(figure, tmp_path / "missing" / "f.png")
    assert figures.png_size(path) == figures.figure_pixels(figure)
    (tmp_path / "a_file").write_bytes(b"")
    with pytest.raises(OSError):
        figures.save_png(figures.new_figure(1, 1), tmp_path / "a_file" / "f.png")


def test_png_size_rejects_a_file_that_is_not_a_png(tmp_path):
    bogus = tmp_path / "not.png"
    bogus.write_bytes(b"GIF89a" + bytes(30))
    with pytest.raises(ValueError, match="not a PNG"):
        figures.png_size(bogus)


def test_atomic_writes_leave_nothing_behind_on_failure_and_use_normal_permissions(tmp_path):
    from keras_seq import atomic_files

    path = atomic_files.write_bytes(b"abc", tmp_path / "data.bin")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"abc" and (path.stat().st_mode & 0o777) == (0o666 & ~umask)
    with pytest.raises(RuntimeError):
        with atomic_files.replacing(tmp_path / "data.bin"):
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == ["data.bin"] and path.read_bytes() == b"abc"
