import numpy as np
import pytest

from keras_seq.layers import KERNEL_NAMES, filter_bank
from keras_seq.layers.filter_bank import named_kernel


def test_bank_holds_the_lecture_kernels():
    bank = filter_bank()
    assert (
        set(bank)
        == set(KERNEL_NAMES)
        == {"identity", "edge_diagonal", "laplacian", "laplacian_diagonal", "sharpen", "box_blur"}
    )
    np.testing.assert_array_equal(bank["identity"], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(bank["edge_diagonal"], [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    np.testing.assert_array_equal(bank["laplacian"], [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(bank["laplacian_diagonal"], [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(bank["sharpen"], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_allclose(bank["box_blur"], np.full((3, 3), 1 / 9), rtol=1e-6)
    assert bank["box_blur"].sum() == pytest.approx(1.0, abs=1e-6)  # normalised
    assert all(kernel.dtype == np.float32 for kernel in bank.values())


def test_edge_kernels_ignore_flat_regions_and_identity_sharpen_keep_them():
    bank = filter_bank()
    for name in ("edge_diagonal", "laplacian", "laplacian_diagonal"):
        assert bank[name].sum() == 0, name
    for name in ("identity", "sharpen"):
        assert bank[name].sum() == 1, name


def test_callers_cannot_change_the_bank():
    bank = filter_bank()
    bank["laplacian"][1, 1] = 100.0
    bank["box_blur"] *= 9
    del bank["sharpen"]
    fresh = filter_bank()
    assert fresh["laplacian"][1, 1] == -4
    assert fresh["box_blur"].sum() == pytest.approx(1.0, abs=1e-6)
    assert "sharpen" in fresh
    kernel = named_kernel("laplacian")
    kernel[0, 0] = 7
    assert named_kernel("laplacian")[0, 0] == 0


def test_unknown_name_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="'gaussian'.*laplacian"):
        named_kernel("gaussian")
