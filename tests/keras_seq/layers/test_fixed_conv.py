import keras
import numpy as np
import pytest
from scipy.signal import correlate2d

from keras_seq.layers import FixedConv2D
from keras_seq.layers.filter_bank import LECTURE_IMAGE

IMAGE = LECTURE_IMAGE  # the lecture's 6x6 image


def apply(layer, image):
    return np.asarray(layer(image[None, :, :, None]))[0, :, :, 0]


def test_laplacian_valid_gives_the_lecture_4x4():
    # The slides print 3 in row 3, column 4 (1-based). That window is
    # [[4, 2, 0], [3, 1, 0], [3, 1, 0]]; the Laplacian takes up 2 + down 1 +
    # left 3 + right 0 - 4 * centre 1 = 2. The slide is an arithmetic slip, so
    # we assert 2; every other cell matches the slides.
    expected = [
        [0, -1, -1, 0],
        [-2, -5, -5, -2],
        [2, -2, -1, 2],  # slide shows 3 in the last cell: a slip, the window gives 2
        [-1, 0, -5, 0],
    ]
    np.testing.assert_array_equal(apply(FixedConv2D("laplacian"), IMAGE), expected)


def test_first_two_cells_match_the_lecture_sums():
    result = apply(FixedConv2D("laplacian"), IMAGE)
    # (0*0)+(0*1)+(0*0)+(0*1)+(1*-4)+(2*1)+(0*0)+(2*1)+(4*0) = 0
    assert result[0, 0] == 0
    # (0*0)+(0*1)+(0*0)+(1*1)+(2*-4)+(2*1)+(2*0)+(4*1)+(4*0) = -1
    assert result[0, 1] == -1


def test_laplacian_padding_1_gives_the_lecture_6x6():
    expected = [
        [0, 1, 2, 2, 1, 0],
        [1, 0, -1, -1, 0, 1],
        [2, -2, -5, -5, -2, 2],
        [1, 2, -2, -1, 2, 1],  # slide shows 3 in column 5: the same slip, the window gives 2
        [1, -1, 0, -5, 0, 1],
        [0, 2, -1, 0, 2, 0],
    ]
    np.testing.assert_array_equal(apply(FixedConv2D("laplacian", padding=1), IMAGE), expected)
    # A padding of 1 with a 3x3 filter preserves the image size, as does "same".
    np.testing.assert_array_equal(apply(FixedConv2D("laplacian", padding="same"), IMAGE), expected)


def test_stride_2_gives_the_lecture_3x3():
    layer = FixedConv2D([[0, 1], [1, -2]], strides=2)
    np.testing.assert_array_equal(apply(layer, IMAGE), [[-2, -2, 1], [0, 1, 1], [1, 2, 0]])


def test_matches_scipy_cross_correlation_for_paddings_0_to_2_and_strides_1_to_3():
    rng = np.random.default_rng(0)
    for padding in (0, 1, 2):
        for stride in (1, 2, 3):
            images = rng.normal(size=(2, 9, 11, 3)).astype(np.float32)
            kernel = rng.normal(size=(3, 2)).astype(np.float32)
            result = np.asarray(FixedConv2D(kernel, strides=stride, padding=padding)(images))
            for n in range(2):
                for c in range(3):
                    padded = np.pad(images[n, :, :, c], padding)
                    reference = correlate2d(padded, kernel, mode="valid")[::stride, ::stride]
                    np.testing.assert_allclose(
                        result[n, :, :, c],
                        reference,
                        rtol=1e-5,
                        atol=1e-5,
                        err_msg=f"padding={padding} stride={stride}",
                    )


def test_same_padding_with_stride_gives_ceil_n_over_s_outputs():
    # "same" pads max((ceil(n/s) - 1)*s + k - n, 0) zeros in all, the odd one
    # at the bottom/right (Keras and TensorFlow's convention).
    rng = np.random.default_rng(5)
    image = rng.normal(size=(10, 9)).astype(np.float32)
    kernel = rng.normal(size=(3, 3)).astype(np.float32)
    result = apply(FixedConv2D(kernel, strides=2, padding="same"), image)
    assert result.shape == (5, 5)
    padded = np.pad(image, [(0, 1), (1, 1)])  # rows: 8 + 3 - 10 = 1 zero; cols: 8 + 3 - 9 = 2
    np.testing.assert_allclose(result, correlate2d(padded, kernel, mode="valid")[::2, ::2], rtol=1e-5, atol=1e-5)


def test_each_channel_is_filtered_on_its_own():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(1, 7, 7, 3)).astype(np.float32)
    result = np.asarray(FixedConv2D("sharpen", padding=1)(images))
    for c in range(3):
        single = np.asarray(FixedConv2D("sharpen", padding=1)(images[..., c : c + 1]))
        np.testing.assert_allclose(result[..., c], single[..., 0], rtol=1e-6, atol=1e-6)


def test_named_kernels_do_what_they_say():
    rng = np.random.default_rng(1)
    image = rng.random((8, 8)).astype(np.float32)
    np.testing.assert_allclose(apply(FixedConv2D("identity", padding=1), image), image)
    flat = np.full((5, 5), 3.0, np.float32)
    np.testing.assert_allclose(apply(FixedConv2D("box_blur"), flat), np.full((3, 3), 3.0), rtol=1e-6)
    np.testing.assert_allclose(apply(FixedConv2D("laplacian_diagonal"), flat), 0, atol=1e-5)


def test_has_no_trainable_weights_and_is_unchanged_by_training():
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), FixedConv2D("laplacian"), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    assert model.layers[0].trainable_weights == []
    model.compile("sgd", "mse")
    model.fit(np.random.rand(8, 6, 6, 1), np.random.rand(8, 1), epochs=1, verbose=0)
    np.testing.assert_array_equal(apply(model.layers[0], IMAGE)[0], [0, -1, -1, 0])


def test_integer_images_are_accepted():
    result = FixedConv2D("laplacian")(IMAGE.astype(np.uint8)[None, :, :, None])
    np.testing.assert_array_equal(np.asarray(result)[0, 1, :, 0], [-2, -5, -5, -2])


BAD_ARGUMENTS = [
    ({"kernel": "gaussian"}, "kernel='gaussian'.*known names"),
    ({"kernel": [[1, 2], [3, 4]], "padding": "same"}, "odd kernel"),
    ({"kernel": "laplacian", "padding": "full"}, "padding='full'"),
    ({"kernel": "laplacian", "padding": -1}, "padding=-1"),
    ({"kernel": "laplacian", "padding": 1.5}, "padding=1.5"),
    ({"kernel": "laplacian", "strides": 0}, "strides=0"),
    ({"kernel": "laplacian", "strides": (1, 2, 3)}, "strides="),
    ({"kernel": "laplacian", "strides": "2"}, "strides='2'"),
    ({"kernel": np.ones((3, 3, 3))}, "2-D"),
    ({"kernel": []}, "2-D"),
    ({"kernel": [[1, np.nan], [0, 1]]}, "finite"),
    ({"kernel": [["a", "b"]]}, "filter name nor"),
]


def test_bad_arguments_are_refused():
    for kwargs, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            FixedConv2D(**kwargs)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="ndim=4|rows, cols, channels"):
        FixedConv2D("laplacian")(np.zeros((6, 6, 1), np.float32))
    with pytest.raises(ValueError, match="smaller than"):
        FixedConv2D("laplacian")(np.zeros((1, 2, 6, 1), np.float32))
    layer = FixedConv2D("laplacian")
    layer(np.zeros((1, 6, 6, 1), np.float32))
    with pytest.raises(ValueError, match="axis -1|incompatible"):
        layer(np.zeros((1, 6, 6, 3), np.float32))
