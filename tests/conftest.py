"""Shared test setup: quiet TensorFlow, seeded Keras, fresh state per test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded_keras():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()
