import numpy as np
import pytest

from keras_seq.demos import figures, filters
from keras_seq.demos.gradient_flow import run_gradient_flow


def test_laplacian_on_the_lecture_example_gives_the_lecture_answer():
    laplacian = filters.lecture_kernels()["laplacian"]
    results = filters.apply_filters(digit=np.zeros((28, 28)), kernels={"laplacian": laplacian})
    valid = results["laplacian"]["six_by_six"]["p=0, s=1"]
    # The lecture's slide; its entry (2, 3) reads 3, but the window
    # [[4, 2, 0], [3, 1, 0], [3, 1, 0]] gives 2 + 3 + 0 + 1 - 4 * 1 = 2.
    np.testing.assert_array_equal(valid, [[0, -1, -1, 0], [-2, -5, -5, -2], [2, -2, -1, 2], [-1, 0, -5, 0]])
    padded = results["laplacian"]["six_by_six"]["p=1, s=1"]
    assert padded.shape == (6, 6)
    np.testing.assert_array_equal(padded[1:5, 1:5], valid)
    np.testing.assert_array_equal(padded[0], [0, 1, 2, 2, 1, 0])


def test_the_lecture_stride_example():
    result = filters.filter_image(filters.LECTURE_IMAGE, filters.STRIDE_EXAMPLE_KERNEL, padding=0, strides=2)
    np.testing.assert_array_equal(result, [[-2, -2, 1], [0, 1, 1], [1, 2, 0]])


def test_variant_sizes_follow_the_output_size_formula():
    entry = filters.apply_filters(digit=np.ones((28, 28)), kernels={"box": np.full((3, 3), 1 / 9)})["box"]
    sizes = {variant: result.shape for variant, result in entry["digit"].items()}
    assert sizes == {"p=0, s=1": (26, 26), "p=1, s=1": (28, 28), "p=0, s=2": (13, 13), "p=1, s=2": (14, 14)}
    np.testing.assert_allclose(entry["digit"]["p=0, s=1"], 1.0, rtol=1e-6)  # a box blur keeps a flat image


def test_filters_refuse_a_digit_that_is_not_an_image():
    with pytest.raises(ValueError, match="2-D image"):
        filters.apply_filters(digit=np.zeros((28, 28, 3)))


def test_gradient_flow_vanishes_for_elman_explodes_with_big_w_h_and_clipping_bounds_it(tmp_path):
    result = run_gradient_flow(steps=100, units=16, batch=8, out=tmp_path)
    assert figures.png_size(result["path"]) == (1200, 480)
    flow = result["flow"]
    assert all(profile.shape == (100,) for profile in flow.values())
    assert flow["elman, W_h gain 1"][0] < 1e-4 * flow["elman, W_h gain 1"][-1]
    assert flow["elman, W_h gain 2"][0] > 10 * flow["elman, W_h gain 2"][-1]
    lstm_kept = flow["lstm, forget bias 3"][0] / flow["lstm, forget bias 3"][-1]
    assert lstm_kept > 1e3 * flow["elman, W_h gain 1"][0] / flow["elman, W_h gain 1"][-1]
    assert result["clip_scale"]["elman, W_h gain 2"] < 1.0
    assert result["clip_scale"]["elman, W_h gain 2"] * result["weight_norm"]["elman, W_h gain 2"] == pytest.approx(1.0)
    assert result["clip_scale"]["elman, W_h gain 1"] == 1.0


def test_gradient_flow_refuses_bad_sizes():
    with pytest.raises(ValueError, match="steps=1 is not allowed; expected an int >= 2"):
        run_gradient_flow(steps=1)
    with pytest.raises(ValueError, match="clipnorm=0 is not allowed"):
        run_gradient_flow(clipnorm=0)
