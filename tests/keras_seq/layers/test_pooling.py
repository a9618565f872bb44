"""The lecture's pooling: keep the strongest activation (max) or the average of each region.

keras_seq uses Keras's own MaxPooling2D / AveragePooling2D; these tests pin
down that they compute what the lecture says.
"""

import keras
import numpy as np

FEATURES = np.array(
    [
        [1, 1, 2, 4],
        [5, 6, 7, 8],
        [3, 2, 1, 0],
        [1, 2, 3, 4],
    ],
    dtype=np.float32,
)[None, :, :, None]


def test_max_pooling_keeps_the_strongest_activation_of_each_2x2_region():
    result = np.asarray(keras.layers.MaxPooling2D(2)(FEATURES))[0, :, :, 0]
    np.testing.assert_array_equal(result, [[6, 8], [3, 4]])


def test_average_pooling_averages_each_2x2_region():
    result = np.asarray(keras.layers.AveragePooling2D(2)(FEATURES))[0, :, :, 0]
    np.testing.assert_array_equal(result, [[13 / 4, 21 / 4], [2, 2]])


def test_pooling_matches_a_numpy_reference_per_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 8, 3)).astype(np.float32)
    blocks = x.reshape(2, 3, 2, 4, 2, 3)
    np.testing.assert_allclose(keras.layers.MaxPooling2D(2)(x), blocks.max(axis=(2, 4)))
    np.testing.assert_allclose(keras.layers.AveragePooling2D(2)(x), blocks.mean(axis=(2, 4)), rtol=1e-6, atol=1e-6)
