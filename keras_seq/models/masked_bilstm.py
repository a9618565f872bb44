"""The bidirectional LSTM over per-step features that both handwriting readers end with."""

import keras

from keras_seq.layers import LSTM, Bidirectional


def masked_bilstm(features, mask, units, dropout):
    """``[f_t * m_t, m_t]``, masked where the row is all zero, read by a ``Bidirectional(LSTM)``.

    Zeroing the features on padding (m_t = 0) and appending m_t makes a
    padded step, and only a padded step, an all-zero row, which
    ``keras.layers.Masking`` masks: the backward LSTM starts at the last real
    step, and padded steps carry the mask to the loss.

    Args:
        features: (batch, T, F) per-step features.
        mask: (batch, T, 1), 1 on real steps and 0 on padding.
        units: LSTM units per direction.
        dropout: rate before and after the LSTM (0 for none).

    Returns:
        (batch, T, 2 units), masked on padding.
    """
    layers = keras.layers
    x = layers.Multiply(name="zero_padding_features")([features, mask])
    x = layers.Concatenate(name="features_and_mask")([x, mask])
    x = layers.Masking(0.0, name="padding_mask")(x)
    if dropout:
        x = layers.Dropout(dropout, name="feature_dropout")(x)
    x = Bidirectional(LSTM(units, return_sequences=True, name="lstm"), name="bidirectional_lstm")(x)
    if dropout:
        x = layers.Dropout(dropout, name="lstm_dropout")(x)
    return x
