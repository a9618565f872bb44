"""Word reader: a CNN over the whole word image, a bidirectional LSTM over its columns, CTC outputs."""

import keras

from keras_seq import arguments
from keras_seq.datasets.word_strips import HEIGHT
from keras_seq.layers.bottleneck import Bottleneck1x1
from keras_seq.models.ctc import ALPHABET
from keras_seq.models.masked_bilstm import masked_bilstm

COLUMNS_PER_STEP = 2


def word_reader(width=None, units=128, filters=(32, 64, 96), bottleneck=48, features=128, dropout=0.25,
                batch_norm=True):
    """Build the reader for word strips (batch, 32, width, 2): pixels and a column mask.

    Channel 0 holds the strip's pixels (ink 1, paper 0), channel 1 is 1 on
    the word's columns and 0 on padding (see
    :func:`keras_seq.datasets.word_strips.model_input`); strips have even
    widths. Three 3x3 convolutions, each batch-normalised (Ioffe & Szegedy
    2015; folded into the convolution on export) before its ReLU, the first
    two followed by max pooling ((2, 2), then (2, 1)), give a (4, width / 2)
    feature map; a 1x1
    bottleneck condenses its channels, and each column of it becomes a
    feature vector z_t (t = 1..T, T = width / 2). A bidirectional LSTM
    reads z_1..z_T both ways and every step gets a distribution over the
    CTC alphabet (blank and a-z):

        y_hat_t = softmax(W_f h_t^(f) + W_b h_t^(b) + b)  over 27 symbols.

    The column mask m_c is the largest input value in column c (1 on the
    word, 0 on padding), and step t's mask the larger of m_2t, m_2t+1. Every
    convolution's output is multiplied by the mask at its resolution, so
    padding stays zero and a word reads the same at any padded width. The
    features are multiplied by the step mask and it is appended to them, so
    a ``Masking`` layer sees an all-zero vector exactly at padding, and the
    backward LSTM starts at the word's last step. CTC
    (Graves et al. 2006) trains it without letter positions: the loss is
    ``-log sum_{paths -> text} prod_t y_hat_t(path_t)``; see
    :mod:`keras_seq.models.ctc` for decoding.

    Args:
        width: fixed input width, or ``None`` for any width (the widths of a
            batch may still differ under the mask).
        units: LSTM state size per direction (int >= 1).
        filters: channels of the three convolutions, three ints >= 1.
        bottleneck: channels of the 1x1 bottleneck (int >= 1), or ``None``
            to leave it out.
        features: size of z_t (int >= 1).
        dropout: dropout rate on z_t and on the LSTM outputs, in [0, 1).
        batch_norm: batch-normalise the convolutions (bool); it makes CTC
            training converge in a few epochs instead of dozens.

    Returns:
        An uncompiled ``keras.Model`` named ``word_reader``:
        (batch, 32, width, 2) -> (batch, width / 2, 27) probabilities.
        Its layer ``logits`` gives the scores before the softmax (what the
        CTC loss takes).

    Example:
        >>> from keras_seq.datasets import word_strips
        >>> model = word_reader()
        >>> x = word_strips.model_input(strips)                    # (N, 32, W, 2)
        >>> readings = decode_ctc(model.predict(x), method="beam")
    """
    if width is not None:
        arguments.integer(width, "width", minimum=COLUMNS_PER_STEP)
    units = arguments.positive_int(units, "units")
    if not isinstance(filters, (tuple, list)) or len(filters) != 3:
        arguments.refuse("filters", filters, "three ints >= 1")
    filters = [arguments.positive_int(f, "filters") for f in filters]
    bottleneck = arguments.positive_int(bottleneck, "bottleneck", allow_none=True)
    features = arguments.positive_int(features, "features")
    dropout = arguments.fraction(dropout, "dropout")
    batch_norm = arguments.boolean(batch_norm, "batch_norm")
    layers = keras.layers

    strip = keras.Input(shape=(HEIGHT, width, 2), name="strip")
    # The column mask m (batch, 1, width, 1): the largest input value of each
    # column, over rows and both channels (1 on the word, 0 on padding).
    m = layers.MaxPooling2D((HEIGHT, 1), name="column_max")(strip)  # (batch, 1, width, 2)
    m = layers.Permute((1, 3, 2), name="channels_before_columns")(m)
    m = layers.MaxPooling2D((1, 2), name="channel_max")(m)  # (batch, 1, 1, width)
    columns = layers.Permute((1, 3, 2), name="column_mask")(m)  # (batch, 1, width, 1)
    steps = layers.MaxPooling2D((1, COLUMNS_PER_STEP), name="step_columns")(columns)  # (batch, 1, T, 1)

    # Each convolution's output is multiplied by the mask, so padding stays
    # zero and the word's last columns see zeros beyond it at any padding.
    x = _masked_conv(x=strip, filters=filters[0], mask=columns, batch_norm=batch_norm, name="conv1")
    x = layers.MaxPooling2D((2, COLUMNS_PER_STEP), name="pool1")(x)
    x = _masked_conv(x, filters[1], steps, batch_norm, "conv2")
    x = layers.MaxPooling2D((2, 1), name="pool2")(x)
    x = _masked_conv(x, filters[2], steps, batch_norm, "conv3")
    channels = filters[2]
    if bottleneck is not None:
        x = Bottleneck1x1(bottleneck, name="bottleneck")(x)
        channels = bottleneck
    x = layers.Permute((2, 1, 3), name="columns_first")(x)  # (batch, T, 4, C)
    x = layers.Reshape((-1, (HEIGHT // 4) * channels), name="column_features")(x)
    x = layers.Dense(features, activation="relu", name="features")(x)

    m = layers.Reshape((-1, 1), name="mask_per_step")(steps)  # (batch, T, 1)
    x = masked_bilstm(x, m, units, dropout)
    x = layers.Dense(len(ALPHABET), name="logits")(x)
    outputs = layers.Activation("softmax", name="symbol_probabilities")(x)
    return keras.Model(strip, outputs, name="word_reader")


def _masked_conv(x, filters, mask, batch_norm, name):
    """3x3 convolution, batch normalisation (optional), ReLU, then zero outside the mask."""
    layers = keras.layers
    x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_normalised")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.Multiply(name=f"{name}_masked")([x, mask])


def fixed_width_copy(model, width):
    """The same reader (same weights) with its input fixed at ``width`` columns (``None``: any width)."""
    width = arguments.integer(width, "width", minimum=COLUMNS_PER_STEP, allow_none=True)
    config = model.get_config()
    copy = keras.Model.from_config(_with_width(config, width))
    copy.set_weights(model.get_weights())
    return copy


def _with_width(config, width):
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            shape = list(layer["config"]["batch_shape"])
            shape[2] = width
            layer["config"]["batch_shape"] = shape
    return config


def reads_word_strips(input_shape):
    """True for a word reader's input shape: (batch, 32, width, 2), a strip's pixels and its column mask.

    Any batch and width (``None`` or -1: dynamic); what the export, the
    bundled calibration data and ``keras-seq infer`` go by for a ``.tflite``
    file, which has shapes and no Keras model.
    """
    shape = tuple(-1 if d is None else int(d) for d in input_shape)
    return len(shape) == 4 and shape[1] == HEIGHT and shape[3] == 2


def is_word_reader(model):
    """True for a Keras CTC word reader: one input (batch, 32, width, 2) (:func:`reads_word_strips`) and one
    output (batch, width / 2, 27), a distribution over blank and a-z at each step."""
    return (hasattr(model, "inputs") and len(model.inputs) == 1 and len(model.outputs) == 1
            and reads_word_strips(model.inputs[0].shape) and model.outputs[0].shape[-1] == len(ALPHABET))


def steps_for_width(width):
    """Number of output steps T for an (even) input ``width``: width / 2."""
    return width // COLUMNS_PER_STEP
