"""Digits as a sequence: an LSTM (Hochreiter and Schmidhuber 1997) reads an MNIST image row by row."""

import keras

from keras_seq import arguments
from keras_seq.layers.lstm import LSTM

ROWS, COLUMNS = 28, 28


def digits_rnn(units=128, num_classes=10, dropout=0.0):
    """Build the row-by-row digit reader for (28, 28, 1) float32 images in [0, 1].

    The image is a sequence of T = 28 rows x_t (28 pixels each). An LSTM
    (:class:`keras_seq.layers.LSTM`) summarises the rows seen so far,

        I_t = sigma(W_ix x_t + W_ih h_{t-1} + b_i)
        F_t = sigma(W_fx x_t + W_fh h_{t-1} + b_f)
        O_t = sigma(W_ox x_t + W_oh h_{t-1} + b_o)
        C_t = F_t * C_{t-1} + I_t * tanh(W^(1) x_t + W_h h_{t-1} + b_c)
        h_t = O_t * tanh(C_t),

    and the last summary gives the class: y_hat = softmax(W^(2) h_28 + b).

    Args:
        units: LSTM state size (int >= 1).
        num_classes: number of softmax outputs (int >= 2).
        dropout: dropout rate on h_28 before the output, in [0, 1).

    Returns:
        An uncompiled ``keras.Model`` named ``digits_rnn``: (batch, 28, 28, 1)
        -> (batch, num_classes).

    Example:
        >>> model = digits_rnn(units=128)
        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    units = arguments.positive_int(units, "units")
    num_classes = arguments.integer(num_classes, "num_classes", minimum=2)
    dropout = arguments.fraction(dropout, "dropout")
    layers = keras.layers
    inputs = keras.Input(shape=(ROWS, COLUMNS, 1), name="image")
    rows = layers.Reshape((ROWS, COLUMNS), name="rows_as_steps")(inputs)
    summary = LSTM(units, name="lstm")(rows)
    if dropout:
        summary = layers.Dropout(dropout, name="dropout")(summary)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(summary)
    return keras.Model(inputs, outputs, name="digits_rnn")
