"""Every public layer passes the harness (config, safe-mode .keras file, mixed precision, masking).

A layer added to ``keras_seq.layers`` without an entry in ``LAYERS`` fails
``test_every_public_layer_is_checked``, so a new layer gets the checks by
being listed once.
"""

import inspect

import keras
import numpy as np
import pytest

from keras_seq import layers
from keras_seq.layers import (
    LENET_C3_TABLE,
    LSTM,
    Bidirectional,
    Bottleneck1x1,
    ConnectionTableConv2D,
    Elman,
    ElmanCell,
    FixedConv2D,
    LSTMCell,
    Recurrent,
    Subsampling2D,
    scaled_tanh,
    stacked,
)

SEQUENCES = (3, 6, 4)

# name: (make a fresh layer, input shape); classes named in ``checks`` below
LAYERS = {
    "fixed_conv": (lambda: FixedConv2D("sharpen", strides=2, padding=1), (2, 9, 9, 2)),
    "fixed_conv_given": (lambda: FixedConv2D([[0, 1], [1, -2]], strides=(2, 1), padding=(1, 0)), (2, 6, 6, 1)),
    "connection_table": (lambda: ConnectionTableConv2D(16, 5, LENET_C3_TABLE, activation=scaled_tanh,
                                                       bias_initializer="random_normal", padding="same"),
                         (2, 10, 10, 6)),
    "subsampling": (lambda: Subsampling2D(2, activation=scaled_tanh, coefficient_initializer="random_normal",
                                          bias_initializer="random_normal"), (2, 8, 8, 3)),
    "bottleneck": (lambda: Bottleneck1x1(4, activation="elu", bias_initializer="random_normal"), (2, 5, 5, 8)),
    "bottleneck_linear": (lambda: Bottleneck1x1(4, activation=None, allow_linear=True), (2, 5, 5, 8)),
    "lstm": (lambda: LSTM(5, output_activation=None, unit_forget_bias=False, return_sequences=True), SEQUENCES),
    "lstm_last_with_state": (lambda: LSTM(4, return_state=True), SEQUENCES),
    "lstm_backwards": (lambda: LSTM(4, go_backwards=True, return_sequences=True), SEQUENCES),
    "elman": (lambda: Elman(5, activation="relu", return_sequences=True), SEQUENCES),
    "elman_dropout_backwards": (lambda: Elman(5, dropout=0.1, return_sequences=True, go_backwards=True), SEQUENCES),
    "recurrent_of_cells": (lambda: Recurrent([ElmanCell(3), LSTMCell(4)], return_sequences=True), SEQUENCES),
    "bidirectional": (lambda: Bidirectional(LSTM(3, return_sequences=True)), SEQUENCES),
    "bidirectional_sum": (lambda: Bidirectional(Elman(3), merge_mode="sum"), SEQUENCES),
    "stacked": (lambda: stacked([5, 3], layer="lstm", return_sequences=True), SEQUENCES),
}


def checked_classes():
    return {type(make()) for make, _ in LAYERS.values()}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_the_layer_passes_the_harness(check_layer, name):
    make, shape = LAYERS[name]
    check_layer(make, np.random.default_rng(0).normal(size=shape))


def test_every_public_layer_is_checked():
    public = {value for value in vars(layers).values()
              if inspect.isclass(value) and issubclass(value, keras.layers.Layer)
              and not issubclass(value, (ElmanCell, LSTMCell))}   # cells are checked inside Recurrent
    assert public - checked_classes() == set()


def test_the_harness_catches_a_layer_whose_padding_leaks(check_layer):
    """A layer that claims mask support but ignores the mask fails the masking check."""

    @keras.saving.register_keras_serializable(package="harness_test")
    class LeakyMean(keras.layers.Layer):
        supports_masking = True

        def call(self, x, mask=None):
            return keras.ops.mean(x, axis=1)

    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        check_layer(LeakyMean, np.random.default_rng(0).normal(size=SEQUENCES))
