import keras
import numpy as np
import pytest

from keras_seq.datasets import mnist
from keras_seq.layers import LENET_C3_TABLE, ConnectionTableConv2D, Subsampling2D
from keras_seq.models import lenet5


@pytest.fixture(scope="module")
def digits():
    (x_train, y_train), _ = mnist.load_data()
    return mnist.as_images(x_train[:512]), y_train[:512].astype("int32")


def test_faithful_has_the_papers_layers_and_sizes():
    model = lenet5("faithful")
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    shapes = {name: model.get_layer(name).output.shape[1:] for name in ("C1", "S2", "C3", "S4", "C5")}
    assert shapes == {"C1": (28, 28, 6), "S2": (14, 14, 6), "C3": (10, 10, 16),
                      "S4": (5, 5, 16), "C5": (1, 1, 120)}
    c3 = model.get_layer("C3")
    assert isinstance(c3, ConnectionTableConv2D)
    np.testing.assert_array_equal(c3.table, LENET_C3_TABLE)
    assert c3.count_params() == 1516
    assert isinstance(model.get_layer("S2"), Subsampling2D)
    counts = {name: model.get_layer(name).count_params() for name in ("C1", "S2", "S4", "C5", "F6")}
    assert counts == {"C1": 156, "S2": 12, "S4": 32, "C5": 48120, "F6": 10164}
    assert model.count_params() == 60850


def test_padding_border_gets_the_background_value():
    model = lenet5("faithful")
    scaled = keras.Model(model.input, model.get_layer("input_scaling").output)
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[0, 10:14, 10:14, 0] = 1.0
    out = np.asarray(scaled(x))[0, :, :, 0]
    assert out.shape == (32, 32)
    np.testing.assert_allclose(out[0], -0.1, atol=1e-6)  # the added border
    np.testing.assert_allclose(out[12, 12], 1.175, atol=1e-6)  # the ink


@pytest.mark.parametrize("variant", ["faithful", "modern"])
def test_outputs_are_probabilities(variant):
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    probabilities = np.asarray(lenet5(variant, num_classes=7)(x))
    assert probabilities.shape == (3, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("variant", ["faithful", "modern"])
def test_one_epoch_on_512_digits_lowers_the_loss(variant, digits):
    x, y = digits
    model = lenet5(variant)
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    loss = keras.losses.SparseCategoricalCrossentropy()
    # Eager calls (no second traced function to build) with training=True:
    # after only 16 steps the modern variant's batch-norm running statistics
    # still lag, so we measure the loss the optimizer sees, on batch statistics.
    before = float(loss(y, model(x, training=True)))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    after = float(loss(y, model(x, training=True)))
    assert after < 0.5 * before  # both variants reach about 0.2-0.25x


def test_faithful_model_round_trips_through_a_keras_file(tmp_path):
    model = lenet5("faithful")
    x = np.random.default_rng(1).random((2, 28, 28, 1)).astype(np.float32)
    model.save(tmp_path / "lenet.keras")
    loaded = keras.saving.load_model(tmp_path / "lenet.keras", safe_mode=True)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6, atol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="variant='classic'.*faithful"):
        lenet5("classic")
    with pytest.raises(ValueError, match="num_classes=1"):
        lenet5(num_classes=1)
    with pytest.raises(ValueError, match="num_classes=10.0"):
        lenet5(num_classes=10.0)


def test_wrong_image_shape_is_refused():
    with pytest.raises(ValueError):
        lenet5()(np.zeros((1, 32, 32, 1), np.float32))
