"""A trained LeNet-5 and its exported files, shared by the reliability tests (trained once per session)."""

import keras
import pytest

from keras_seq.export import to_tflite
from keras_seq.export.bundled_inputs import digits
from keras_seq.models import lenet5


@pytest.fixture(scope="session")
def trained_lenet_files():
    """``(model, float32 bytes, int8 bytes, x_test)``: LeNet-5 trained one epoch on 1,000 digits."""
    x, y = digits("train", 1000)
    x_test, _ = digits("test", 300)
    keras.utils.set_random_seed(3)
    model = lenet5("modern")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model, to_tflite(model), to_tflite(model, quantization="int8", representative_data=x[:100]), x_test


@pytest.fixture(scope="session")
def fuzz_tools():
    """``benchmarks/fuzz.py`` as a module: mutations of ``.tflite`` files and the watchdogged runner."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("keras_seq_fuzz_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
