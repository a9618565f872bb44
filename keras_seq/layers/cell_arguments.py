"""The cell arguments each named sequence layer accepts and passes to its cell.

``Elman`` takes ``keras.layers.SimpleRNN``'s cell arguments and ``LSTM``
``keras.layers.LSTM``'s (plus ``output_activation``); the layer's config holds
them flat beside the loop's, as Keras's layers do.
"""

ELMAN_CELL_ARGUMENTS = (
    "activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)

LSTM_CELL_ARGUMENTS = ELMAN_CELL_ARGUMENTS + (
    "recurrent_activation",
    "output_activation",
    "unit_forget_bias",
    "implementation",
)
