"""Every convolutional layer in Sequential and functional models (config and .keras files: test_every_layer)."""

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
