"""Handwriting recogniser: a small CNN per letter, a bidirectional LSTM, a softmax per step."""

import keras

from keras_seq.layers.bidirectional import Bidirectional
from keras_seq.layers.lstm import LSTM

from keras_seq.datasets.ocr_words import IMAGE_SHAPE, NUM_CLASSES

HEIGHT, WIDTH = IMAGE_SHAPE


def handwriting(units=128, filters=(32, 64), features=128, dropout=0.3):
    """Build the word reader for (batch, T, 16, 8, 1) float32 0/1 letter images.

    Each letter image x_t goes through the same small CNN (two blocks of a
    3x3 convolution and a stride-2 3x3 convolution, then a dense layer),
    giving features z_t. A bidirectional LSTM (:class:`keras_seq.layers.Bidirectional`
    around :class:`keras_seq.layers.LSTM`) reads z_1..z_T both ways,

        h_t^(f) = LSTM_f(z_t, h_{t-1}^(f)),   h_t^(b) = LSTM_b(z_t, h_{t+1}^(b)),

    and every step gets its own softmax over a-z:
    y_hat_t = softmax(W_f^(2) h_t^(f) + W_b^(2) h_t^(b) + b).

    T may vary between batches. An all-zero letter image is padding: it is
    masked, so the backward LSTM starts at each word's last real letter and
    padding never changes the outputs at real letters (the outputs at padded
    steps carry the mask and are ignored by Keras losses).

    The CNN is written with plain layers that TFLite converts as builtins:
    ``Conv3D`` with a (1, 3, 3) kernel is exactly a 2-D convolution applied to
    every letter with shared weights (``TimeDistributed`` would lower to a
    vectorised map), and stride-2 convolutions stand in for pooling (TFLite
    has no builtin 3-D max pooling). The padding mask comes from each
    letter's largest pixel ("ink"): the CNN features are multiplied by it and
    it is appended to them, so a ``Masking`` layer sees an all-zero vector at
    exactly the padding letters.

    Args:
        units: LSTM state size per direction (int >= 1).
        filters: channels of the two convolution blocks, a pair of ints >= 1.
        features: size of the per-letter feature vector z_t (int >= 1).
        dropout: dropout rate on z_t and on the LSTM outputs, in [0, 1).

    Returns:
        An uncompiled ``keras.Model`` named ``handwriting``:
        (batch, T, 16, 8, 1) -> (batch, T, 26).

    Example:
        >>> from keras_seq.datasets import ocr_words
        >>> x, y, mask = ocr_words.load_words().padded()
        >>> model = handwriting()
        >>> model.compile("adam", "sparse_categorical_crossentropy")
        >>> model.fit(x, y, epochs=1)   # padded steps are masked out of the loss
    """
    _check_int("units", units, 1)
    _check_int("features", features, 1)
    if (
        not isinstance(filters, (tuple, list))
        or len(filters) != 2
        or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in filters)
    ):
        raise ValueError(f"filters={filters!r} is not allowed; expected a pair of ints >= 1")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout={dropout!r} is not allowed; expected a number in [0, 1)")
    layers = keras.layers
    letters = keras.Input(shape=(None, HEIGHT, WIDTH, 1), name="letters")

    x = letters
    for block, channels in enumerate(filters, start=1):
        x = layers.Conv3D(channels, (1, 3, 3), padding="same", activation="relu",
                          name=f"conv{block}")(x)
        x = layers.Conv3D(channels, (1, 3, 3), strides=(1, 2, 2), padding="same",
                          activation="relu", name=f"conv{block}_stride2")(x)
    x = layers.Reshape((-1, (HEIGHT // 4) * (WIDTH // 4) * filters[1]), name="flatten_letters")(x)
    x = layers.Dense(features, activation="relu", name="letter_features")(x)

    pixels = layers.Reshape((-1, HEIGHT * WIDTH), name="letter_pixels")(letters)
    pixels = layers.Permute((2, 1), name="pixels_first")(pixels)
    ink = layers.GlobalMaxPooling1D(name="letter_ink")(pixels)  # (batch, T): 0 on padding
    ink = layers.Reshape((-1, 1), name="ink_per_step")(ink)
    x = layers.Multiply(name="zero_padding_features")([x, ink])
    x = layers.Concatenate(name="features_and_ink")([x, ink])
    x = layers.Masking(0.0, name="padding_mask")(x)

    if dropout:
        x = layers.Dropout(dropout, name="feature_dropout")(x)
    x = Bidirectional(LSTM(units, return_sequences=True, name="lstm"), name="bidirectional_lstm")(x)
    if dropout:
        x = layers.Dropout(dropout, name="lstm_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="letter_probabilities")(x)
    return keras.Model(letters, outputs, name="handwriting")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is not allowed; expected an int >= {minimum}")
