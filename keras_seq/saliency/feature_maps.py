"""A convolutional layer's feature maps ``A^k``, which class activation maps weight and upsample."""

import numpy as np

from keras_seq.saliency.logits import logits_model
from keras_seq.saliency.tf_keras_vis_calls import quiet


def field_padding(model):
    """``((top, bottom), (left, right))`` zeros a leading ``ZeroPadding2D`` adds to the input.

    LeNet-5 pads the 28x28 digit to 32x32 inside the model, so its feature
    maps cover the padded field, not the input: class activation maps are
    upsampled to that field and then cropped, so they line up with the digit.
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.ZeroPadding2D) and layer.input is model.inputs[0]:
            return tuple(tuple(int(v) for v in side) for side in layer.padding)
    return (0, 0), (0, 0)


def upsample_to_input(maps, padding, input_size):
    """Bilinearly resize (N, h, w) maps over the padded field; crop back to ``input_size``."""
    import tensorflow as tf

    (top, bottom), (left, right) = padding
    height, width = input_size
    field = (height + top + bottom, width + left + right)
    resized = tf.image.resize(np.asarray(maps, np.float32)[..., None], field, method="bilinear").numpy()
    return resized[:, top:top + height, left:left + width, 0]


def last_feature_map_layer(model):
    """Name of the last layer whose output is a (batch, H, W, C) map with H, W > 1.

    This is the layer Grad-CAM++ and Score-CAM weight. Raises ``ValueError``
    when the model has none (e.g. a dense or recurrent model).
    """
    for layer in reversed(model.layers):
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and shape[1] is not None and shape[1] > 1 and shape[2] > 1:
            return layer.name
    raise ValueError(
        f"model {model.name!r} has no convolutional feature-map layer "
        "(output of shape (batch, H, W, C) with H, W > 1); CAM methods need one"
    )


class FeatureMapsAndScores:
    """``images -> (A, S)``: a layer's feature maps and the class scores (logits).

    ``padding`` is the model's :func:`field_padding`.
    """

    def __init__(self, model, layer):
        import keras

        names = [each.name for each in model.layers]
        if layer not in names:
            raise ValueError(f"layer={layer!r} is not a layer of model {model.name!r}; layers: {names}")
        logits = logits_model(model)
        self.padding = field_padding(model)
        self.model = keras.Model(logits.inputs, [logits.get_layer(layer).output, logits.outputs[0]])

    def __call__(self, x):
        with quiet():
            return self.model(x, training=False)


def min_max(maps):
    """Scale each map to [0, 1] (an all-equal map becomes zeros)."""
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return ((maps - low) / np.where(span > 0, span, 1.0)).astype(np.float32)
