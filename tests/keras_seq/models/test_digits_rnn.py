"""digits_rnn: MNIST read row by row by an LSTM."""

import keras
import numpy as np
import pytest

from keras_seq.models import digits_rnn


def test_shapes_and_softmax():
    model = digits_rnn(units=16)
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(model(x))
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_rows_are_the_time_steps():
    """The LSTM sees 28 steps of 28 pixels: its kernel is (28, 4u), and row order matters."""
    model = digits_rnn(units=8)
    lstm = model.get_layer("lstm")
    assert tuple(lstm.cell.kernel.shape) == (28, 32)
    x = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
    flipped = x[:, ::-1]
    assert not np.allclose(model(x), model(flipped), atol=1e-6)
    # columns permuted inside each row change the per-step input, too
    assert not np.allclose(model(x), model(x[:, :, ::-1]), atol=1e-6)


def test_saves_and_loads_in_safe_mode(tmp_path):
    model = digits_rnn(units=8, dropout=0.2)
    x = np.random.default_rng(2).random((2, 28, 28, 1), dtype=np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"units": 0}, {"units": 2.5}, {"num_classes": 1},
                                    {"dropout": 1.0}, {"dropout": -0.1}, {"units": True}])
def test_bad_arguments(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        digits_rnn(**kwargs)
