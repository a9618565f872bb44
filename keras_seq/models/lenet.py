"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998) for 28x28 MNIST digits."""

import keras

from keras_seq import arguments
from keras_seq.layers.connection_table import LENET_C3_TABLE, ConnectionTableConv2D
from keras_seq.layers.scaled_tanh import scaled_tanh
from keras_seq.layers.subsampling import Subsampling2D

VARIANTS = ("faithful", "modern")

# The paper's input scaling: white background -> -0.1, black ink -> 1.175,
# which makes the mean roughly 0 and the variance roughly 1.
_BACKGROUND, _FOREGROUND = -0.1, 1.175


def lenet5(variant="faithful", num_classes=10):
    """Build LeNet-5 for (28, 28, 1) float32 images in [0, 1]; softmax over ``num_classes``.

    The image is zero-padded to 32x32 inside the model (the paper centres the
    28x28 digit in a 32x32 field), then:

    - ``"faithful"``: the paper's network. Pixels rescaled to [-0.1, 1.175];
      C1 6@28x28 (5x5 conv) - S2 6@14x14 (``Subsampling2D``) - C3 16@10x10
      (``ConnectionTableConv2D`` with Table I, 1,516 parameters) - S4 16@5x5 -
      C5 120@1x1 (5x5 conv) - F6 84 - output, every layer squashed by
      ``scaled_tanh`` (1.7159 tanh(2a/3)). The output is a softmax dense
      layer in place of the paper's Euclidean RBF units, so the model trains
      with ordinary cross-entropy. 60,850 parameters.
    - ``"modern"``: the same layer sizes with today's choices: each
      convolution (C1, C3, C5) followed by batch normalisation (running
      statistics with momentum 0.9, as PyTorch's default) and ReLU, 2x2
      max pooling (S2, S4) in place of trainable subsampling, a fully
      connected C3 (plain ``Conv2D``; the connection table was a 1998 cost
      and symmetry-breaking device), ReLU F6 and dropout 0.25 before the
      output. Input kept in [0, 1].

    Args:
        variant: ``"faithful"`` or ``"modern"``.
        num_classes: number of softmax outputs (int >= 2).

    Returns:
        An uncompiled ``keras.Model`` named ``lenet5_<variant>``.

    Example:
        >>> model = lenet5("faithful")
        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    arguments.choice(variant, "variant", VARIANTS)
    num_classes = arguments.integer(num_classes, "num_classes", minimum=2)
    layers = keras.layers
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.ZeroPadding2D(2, name="pad_to_32x32")(inputs)
    if variant == "faithful":
        # Padding first, so the added border gets the background value too.
        x = layers.Rescaling(_FOREGROUND - _BACKGROUND, offset=_BACKGROUND, name="input_scaling")(x)
        x = layers.Conv2D(6, 5, activation=scaled_tanh, name="C1")(x)
        x = Subsampling2D(2, activation=scaled_tanh, name="S2")(x)
        x = ConnectionTableConv2D(16, 5, LENET_C3_TABLE, activation=scaled_tanh, name="C3")(x)
        x = Subsampling2D(2, activation=scaled_tanh, name="S4")(x)
        x = layers.Conv2D(120, 5, activation=scaled_tanh, name="C5")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(84, activation=scaled_tanh, name="F6")(x)
    else:
        for name, filters in (("C1", 6), ("C3", 16), ("C5", 120)):
            x = layers.Conv2D(filters, 5, use_bias=False, name=name)(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_norm")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
            if name != "C5":
                x = layers.MaxPooling2D(2, name=f"S{int(name[1]) + 1}")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(84, activation="relu", name="F6")(x)
        x = layers.Dropout(0.25, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=f"lenet5_{variant}")
