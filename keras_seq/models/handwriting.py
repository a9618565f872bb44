"""Handwriting recogniser: a small CNN per letter, a bidirectional LSTM, a softmax per step."""

import keras

from keras_seq.arguments import fraction, positive_int, refuse
from keras_seq.datasets.ocr_words import IMAGE_SHAPE, NUM_CLASSES
from keras_seq.models.masked_bilstm import bilstm_over_rows, zero_padding

HEIGHT, WIDTH = IMAGE_SHAPE


@keras.saving.register_keras_serializable(package="keras_seq")
class LettersToBatch(keras.layers.Layer):
    """Fold the letters of every word into the batch: (B, T, H, W, C) -> (B*T, H, W, C).

    A 2-D convolution then runs on all letters at once with shared weights,
    which is the same as convolving each letter on its own. Undo it with
    :class:`LettersFromBatch`.

    Example:
        >>> letters = LettersToBatch()(words)        # (B*T, 16, 8, 1)
    """

    def call(self, words):
        shape = keras.ops.shape(words)
        return keras.ops.reshape(words, (-1,) + tuple(shape[2:]))

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[:2]
        folded = None if batch is None or steps is None else batch * steps
        return (folded,) + tuple(input_shape[2:])


@keras.saving.register_keras_serializable(package="keras_seq")
class LettersFromBatch(keras.layers.Layer):
    """Unfold per-letter features back into words: ((B*T, F), (B, T, ...)) -> (B, T, F).

    The second input is the words tensor the letters came from; only its
    batch and time sizes are read.
    """

    def call(self, inputs):
        features, words = inputs
        shape = keras.ops.shape(words)
        return keras.ops.reshape(features, (shape[0], shape[1], features.shape[-1]))

    def compute_output_shape(self, input_shapes):
        features, words = input_shapes
        return (words[0], words[1], features[-1])


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

    The CNN runs on the letters folded into the batch
    (:class:`LettersToBatch`, (B, T, 16, 8, 1) -> (B*T, 16, 8, 1)) as plain
    ``Conv2D`` layers, the form every LiteRT CPU path (XNNPACK in the
    browser's WebAssembly too) accelerates; a per-letter ``Conv3D`` with a
    (1, 3, 3) kernel computes the same thing but runs on slow reference
    kernels there. Stride-2 convolutions stand in for pooling. The padding
    mask comes from each letter's largest pixel ("ink", m_t): the CNN
    features become [z_t * m_t, m_t], so a ``Masking`` layer sees an
    all-zero vector at exactly the padding letters. This is done while the
    letters are still folded into the batch, on (B*T, F) and (B*T, 1): int8
    LiteRT.js on WebGPU multiplies a (T, F) product by a (1, T, 1) mask as
    zeros, and the converter folds the unfolding reshape into that product.

    Models saved in earlier forms (``Conv3D`` layers, or the mask applied
    after unfolding) still load as they were; :func:`letters_in_batch`
    rebuilds one in this form with the same weights.

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
    positive_int(units, "units")
    positive_int(features, "features")
    if not isinstance(filters, (tuple, list)) or len(filters) != 2:
        refuse("filters", filters, "a pair of ints >= 1")
    for channels in filters:
        positive_int(channels, "filters")
    fraction(dropout, "dropout")
    layers = keras.layers
    words = keras.Input(shape=(None, HEIGHT, WIDTH, 1), name="letters")

    letters = LettersToBatch(name="letters_to_batch")(words)
    x = letters
    for block, channels in enumerate(filters, start=1):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        x = layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu",
                          name=f"conv{block}_stride2")(x)
    x = layers.Flatten(name="flatten_letters")(x)
    x = layers.Dense(features, activation="relu", name="letter_features")(x)
    ink = layers.GlobalMaxPooling2D(name="letter_ink")(letters)  # (batch * T, 1): 0 on padding
    x = zero_padding(x, ink)
    x = LettersFromBatch(name="letters_from_batch")([x, words])
    x = bilstm_over_rows(x, units, dropout)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="letter_probabilities")(x)
    return keras.Model(words, outputs, name="handwriting")


def letters_in_batch(model):
    """The same handwriting model in the current form of :func:`handwriting`.

    Earlier forms load as they were saved: the CNN as ``Conv3D`` layers with
    (1, 3, 3) kernels on unfolded letters, or folded ``Conv2D`` layers with
    the padding mask applied after unfolding. This rebuilds either with the
    same weights (a (1, 3, 3, C_in, C_out) kernel is the (3, 3, C_in, C_out)
    ``Conv2D`` kernel), so it gives the same outputs, runs fast where LiteRT
    accelerates ``Conv2D`` and reads right on int8 WebGPU. A model already in
    the current form is returned as it is.

    Raises:
        ValueError: ``model`` is not a handwriting model of any form.

    Example:
        >>> model = letters_in_batch(keras.saving.load_model("old_handwriting.keras"))
    """
    names = {layer.name: layer for layer in model.layers}
    if isinstance(names.get("letter_ink"), keras.layers.GlobalMaxPooling2D):
        return model
    convolutions = [names.get(name) for name in ("conv1", "conv1_stride2", "conv2", "conv2_stride2")]
    if model.name != "handwriting" or not all(isinstance(c, (keras.layers.Conv2D, keras.layers.Conv3D))
                                              for c in convolutions):
        raise ValueError(
            f"model {model.name!r} is not a keras_seq handwriting model: expected the layers conv1, "
            "conv1_stride2, conv2, conv2_stride2 (Conv3D in the oldest form, Conv2D after "
            "letters_to_batch since)"
        )
    lstm = names["bidirectional_lstm"]
    rebuilt = handwriting(units=lstm.forward_layer.units,
                          filters=(convolutions[0].filters, convolutions[2].filters),
                          features=names["letter_features"].units,
                          dropout=names["feature_dropout"].rate if "feature_dropout" in names else 0.0)
    for layer in rebuilt.layers:
        if not layer.weights:
            continue
        weights = names[layer.name].get_weights()
        if isinstance(names[layer.name], keras.layers.Conv3D):
            weights = [weights[0][0]] + weights[1:]  # (1, 3, 3, in, out) -> (3, 3, in, out)
        layer.set_weights(weights)
    return rebuilt


def current_form(model):
    """:func:`letters_in_batch` for a keras_seq handwriting model of any form; any other model as it is."""
    try:
        return letters_in_batch(model)
    except ValueError:  # not a keras_seq handwriting model
        return model
