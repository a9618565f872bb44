import keras
import numpy as np

from keras_seq.layers import scaled_tanh


def test_is_lecuns_1_7159_tanh_two_thirds_x():
    x = np.linspace(-5, 5, 41).astype(np.float32)
    np.testing.assert_allclose(scaled_tanh(x), 1.7159 * np.tanh(2 * x / 3), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(scaled_tanh(np.array([1.0, -1.0], np.float32)), [1, -1], atol=1e-3)


def test_serializes_as_a_keras_seq_activation():
    layer = keras.layers.Dense(3, activation=scaled_tanh)
    config = layer.get_config()
    assert "keras_seq" in str(config["activation"])
    restored = keras.layers.Dense.from_config(config)
    assert restored.activation is scaled_tanh
    assert keras.saving.get_registered_object("keras_seq>scaled_tanh") is scaled_tanh
