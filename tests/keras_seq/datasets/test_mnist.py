import shutil

import numpy as np
import pytest

from keras_seq.datasets import DATA_DIR_ENV, DatasetFileError, bundled, mnist


def test_load_data_matches_keras_layout():
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.max() == 255 and x_train.min() == 0


def test_corrupt_copy_is_refused_with_its_name(tmp_path):
    copy = tmp_path / "mnist.npz"
    data = bytearray(bundled.resolve("mnist.npz").read_bytes())
    data[5000] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(DatasetFileError, match="mnist.npz.*sha256"):
        mnist.load_data(path=copy)


def test_truncated_copy_without_verification_still_fails_clearly(tmp_path):
    copy = tmp_path / "mnist.npz"
    copy.write_bytes(bundled.resolve("mnist.npz").read_bytes()[:100_000])
    with pytest.raises(DatasetFileError, match="mnist.npz"):
        mnist.load_data(path=copy, verify=False)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DatasetFileError, match="does not exist"):
        mnist.load_data(path=tmp_path / "nowhere.npz")


def test_environment_variable_points_at_another_copy(tmp_path, monkeypatch):
    shutil.copy(bundled.resolve("mnist.npz"), tmp_path / "mnist.npz")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert bundled.resolve("mnist.npz") == tmp_path / "mnist.npz"
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(DatasetFileError, match="does not exist"):
        mnist.load_data()


def test_wrong_arrays_are_refused(tmp_path):
    bad = tmp_path / "digits.npz"
    np.savez(bad, x_train=np.zeros((3, 5, 5), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))
    with pytest.raises(DatasetFileError, match="x_train"):
        mnist.load_data(path=bad)


def test_as_images_scales_to_unit_float32_with_a_channel():
    (x_train, _), _ = mnist.load_data()
    images = mnist.as_images(x_train[:5])
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images[..., 0] * 255, x_train[:5].astype(np.float32))
    assert images.max() == 1.0 and images.min() == 0.0


@pytest.mark.parametrize("bad", [np.zeros((2, 28, 28), np.float32), np.zeros((28, 28), np.uint8),
                                 np.zeros((2, 28, 28, 1), np.uint8)])
def test_as_images_refuses_what_is_not_uint8_digits(bad):
    with pytest.raises(ValueError, match=r"uint8 digits of shape \(N, 28, 28\)"):
        mnist.as_images(bad)
