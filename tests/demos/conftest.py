"""Fixtures for the demo tests: a small CNN trained for seconds on MNIST."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def mnist_small():
    from keras_seq.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    scale = lambda x: (x[..., None] / 255.0).astype(np.float32)  # noqa: E731
    return scale(x_train[:3000]), y_train[:3000], scale(x_test[:300]), y_test[:300]


@pytest.fixture(scope="session")
def trained_cnn(mnist_small):
    """A two-conv CNN trained for two epochs on 3000 digits (about 90% accurate)."""
    import keras

    keras.utils.set_random_seed(7)
    x_train, y_train, _, _ = mnist_small
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", name="classes"),
    ], name="small_cnn")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    return model
