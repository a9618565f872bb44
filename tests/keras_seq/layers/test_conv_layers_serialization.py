"""Every convolutional layer: get_config, .keras round trip with safe_mode=True, Sequential and functional use."""

import keras
import numpy as np
import pytest

from keras_seq.layers import (
    LENET_C3_TABLE,
    Bottleneck1x1,
    ConnectionTableConv2D,
    FixedConv2D,
    Subsampling2D,
    scaled_tanh,
)

LAYERS = {
    "fixed_named": (lambda: FixedConv2D("sharpen", strides=2, padding=1), (9, 9, 2)),
    "fixed_given": (lambda: FixedConv2D([[0, 1], [1, -2]], strides=(2, 1), padding=(1, 0)), (6, 6, 1)),
    "connection_table": (
        lambda: ConnectionTableConv2D(
            16, 5, LENET_C3_TABLE, activation=scaled_tanh, bias_initializer="random_normal", padding="same"
        ),
        (10, 10, 6),
    ),
    "subsampling": (
        lambda: Subsampling2D(
            2, activation=scaled_tanh, coefficient_initializer="random_normal", bias_initializer="random_normal"
        ),
        (8, 8, 3),
    ),
    "bottleneck": (lambda: Bottleneck1x1(4, activation="elu", bias_initializer="random_normal"), (5, 5, 8)),
    "bottleneck_linear": (lambda: Bottleneck1x1(4, activation=None, allow_linear=True), (5, 5, 8)),
}


@pytest.fixture(params=sorted(LAYERS))
def case(request):
    make, shape = LAYERS[request.param]
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32)
    return make, x


def test_from_config_rebuilds_the_same_layer(case):
    make, x = case
    layer = make()
    y = layer(x)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    np.testing.assert_allclose(clone(x), y, rtol=1e-6, atol=1e-6)


def test_keras_file_round_trip_with_safe_mode(case, tmp_path):
    make, x = case
    model = keras.Sequential([keras.Input(x.shape[1:]), make()])
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.layers[0]) is type(model.layers[0])
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6, atol=1e-6)


def test_functional_and_sequential_agree(case):
    make, x = case
    layer = make()
    inputs = keras.Input(x.shape[1:])
    functional = keras.Model(inputs, layer(inputs))
    sequential = keras.Sequential([keras.Input(x.shape[1:]), layer])
    expected_shape = tuple(layer.compute_output_shape((None, *x.shape[1:])))
    assert tuple(functional.output.shape) == expected_shape
    np.testing.assert_allclose(functional(x), sequential(x), rtol=1e-6, atol=1e-6)
    assert functional(x).shape[1:] == expected_shape[1:]
