"""Handwriting recogniser: a small CNN per letter, a bidirectional LSTM, a softmax per step."""

import keras

from keras_seq.arguments import fraction, positive_int, refuse
from keras_seq.datasets.ocr_words import IMAGE_SHAPE, NUM_CLASSES
from keras_seq.models.masked_bilstm import masked_bilstm

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
    mask comes from each letter's largest pixel ("ink"): the CNN features
    are multiplied by it and it is appended to them, so a ``Masking`` layer
    sees an all-zero vector at exactly the padding letters.

    Models saved before this form (``Conv3D`` layers) still load as they
    were; :func:`letters_in_batch` rebuilds one in this form with the same
    weights.

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

    x = LettersToBatch(name="letters_to_batch")(words)
    for block, channels in enumerate(filters, start=1):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        x = layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu",
                          name=f"conv{block}_stride2")(x)
    x = layers.Flatten(name="flatten_letters")(x)
    x = layers.Dense(features, activation="relu", name="letter_features")(x)
    x = LettersFromBatch(name="letters_from_batch")([x, words])
    return _reader(words, x, units, dropout)


def _reader(words, letter_features, units, dropout):
    """The ink mask, the bidirectional LSTM and the per-letter softmax on top of the CNN features."""
    layers = keras.layers
    pixels = layers.Reshape((-1, HEIGHT * WIDTH), name="letter_pixels")(words)
    pixels = layers.Permute((2, 1), name="pixels_first")(pixels)
    ink = layers.GlobalMaxPooling1D(name="letter_ink")(pixels)  # (batch, T): 0 on padding
    ink = layers.Reshape((-1, 1), name="ink_per_step")(ink)
    x = masked_bilstm(letter_features, ink, units, dropout)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="letter_probabilities")(x)
    return keras.Model(words, outputs, name="handwriting")


def letters_in_batch(model):
    """The same handwriting model with its CNN on letters folded into the batch.

    Models built before :func:`handwriting` folded letters into the batch ran
    the CNN as ``Conv3D`` layers with (1, 3, 3) kernels; such a model loads as
    it was saved, and this rebuilds it in the current form with the same
    weights (a (1, 3, 3, C_in, C_out) kernel is the (3, 3, C_in, C_out)
    ``Conv2D`` kernel), so it gives the same outputs and runs fast where
    LiteRT accelerates ``Conv2D``. A model already in the current form is
    returned as it is.

    Raises:
        ValueError: ``model`` is not a handwriting model of either form.

    Example:
        >>> model = letters_in_batch(keras.saving.load_model("old_handwriting.keras"))
    """
    names = {layer.name: layer for layer in model.layers}
    if isinstance(names.get("letters_to_batch"), LettersToBatch):
        return model
    convolutions = [names.get(name) for name in ("conv1", "conv1_stride2", "conv2", "conv2_stride2")]
    if model.name != "handwriting" or not all(isinstance(c, keras.layers.Conv3D) for c in convolutions):
        raise ValueError(
            f"model {model.name!r} is not a keras_seq handwriting model: expected the layers conv1, "
            "conv1_stride2, conv2, conv2_stride2 (Conv3D in the old form, Conv2D after "
            "letters_to_batch in the current one)"
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
        if isinstance(layer, keras.layers.Conv2D):
            weights = [weights[0][0]] + weights[1:]  # (1, 3, 3, in, out) -> (3, 3, in, out)
        layer.set_weights(weights)
    return rebuilt
