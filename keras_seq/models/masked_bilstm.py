"""The bidirectional LSTM over per-step features that both handwriting readers end with."""

import keras

from keras_seq.layers import LSTM, Bidirectional


def masked_bilstm(features, mask, units, dropout):
    """``[f_t * m_t, m_t]``, masked where the row is all zero, read by a ``Bidirectional(LSTM)``.

    Args:
        features: (batch, T, F) per-step features.
        mask: (batch, T, 1), 1 on real steps and 0 on padding.
        units: LSTM units per direction.
        dropout: rate before and after the LSTM (0 for none).

    Returns:
        (batch, T, 2 units), masked on padding.
    """
    return bilstm_over_rows(zero_padding(features, mask), units, dropout)


def zero_padding(features, mask):
    """``[f * m, m]`` on the last axis: a padded row (m = 0), and only a padded row, is all zero.

    Args:
        features: (..., F) features; mask: (..., 1), 1 on real rows and 0 on padding, of the same rank.

    Returns:
        (..., F + 1).
    """
    layers = keras.layers
    x = layers.Multiply(name="zero_padding_features")([features, mask])
    return layers.Concatenate(name="features_and_mask")([x, mask])


def bilstm_over_rows(rows, units, dropout):
    """A ``Bidirectional(LSTM)`` over (batch, T, F) rows from :func:`zero_padding`, masked where a row is all zero.

    ``keras.layers.Masking`` masks the all-zero rows: the backward LSTM starts
    at the last real step, and padded steps carry the mask to the loss.

    Returns:
        (batch, T, 2 units), masked on padding.
    """
    layers = keras.layers
    x = layers.Masking(0.0, name="padding_mask")(rows)
    if dropout:
        x = layers.Dropout(dropout, name="feature_dropout")(x)
    x = Bidirectional(LSTM(units, return_sequences=True, name="lstm"), name="bidirectional_lstm")(x)
    if dropout:
        x = layers.Dropout(dropout, name="lstm_dropout")(x)
    return x
