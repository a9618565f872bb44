"""The 1x1 convolution that condenses channels, followed by a nonlinearity."""

import keras
from keras import ops

from keras_seq import arguments
from keras_seq.layers import conv_arguments
from keras_seq.layers.base_conv import BaseConv


@keras.saving.register_keras_serializable(package="keras_seq")
class Bottleneck1x1(BaseConv):
    """A ``c_o x c_i x 1 x 1`` convolution followed by a nonlinear activation.

    At every pixel it mixes the ``c_i`` input channels into ``c_o`` outputs:

        y(r, c, o) = act(b_o + sum_i W(i, o) x(r, c, i))

    with ``c_i * c_o + c_o`` parameters; ``c_o < c_i`` condenses the channels.
    The 1x1 convolution of Lin et al. (2014) and Szegedy et al. (2015); without
    a nonlinearity the layer is linear and could simply be folded into the
    next convolution, so
    ``activation=None`` / ``"linear"`` is refused unless ``allow_linear=True``.
    The kernel is stored as (1, 1, c_i, c_o), so weights move to and from a
    ``keras.layers.Conv2D(filters, 1)``.

    Args:
        filters: ``c_o``, the number of output channels (int >= 1).
        activation: a Keras activation (default ``"relu"``).
        allow_linear: set True to accept a linear activation on purpose.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as in
            ``keras.layers.Conv2D`` (see :class:`BaseConv`).

    Call arguments:
        inputs: ``(batch, rows, cols, c_i)``, channels last.

    Example:
        >>> squeeze = Bottleneck1x1(16)
        >>> squeeze(np.zeros((1, 8, 8, 64), "float32")).shape
        (1, 8, 8, 16)
    """

    def __init__(self, filters, activation="relu", allow_linear=False, **kwargs):
        super().__init__(filters, activation=activation, **kwargs)
        self.allow_linear = arguments.boolean(allow_linear, "allow_linear")
        if self.activation is keras.activations.linear and not self.allow_linear:
            raise ValueError(
                f"activation={activation!r} makes the 1x1 convolution linear, so it could"
                " simply be folded into the next convolution; give a nonlinear activation"
                " (e.g. 'relu') or pass allow_linear=True to keep it linear on purpose"
            )

    def build(self, input_shape):
        channels = conv_arguments.image_channels(self, input_shape, "a 1x1 window")
        self.add_kernel((1, 1, channels, self.filters))
        self.add_bias()
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        outputs = ops.conv(inputs, ops.cast(self.kernel, inputs.dtype), padding="valid")
        return self.bias_and_activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "allow_linear": self.allow_linear}
