"""LeNet's trainable subsampling (layers S2 and S4)."""

import keras
from keras import ops

from keras_seq.layers import conv_arguments


@keras.saving.register_keras_serializable(package="keras_seq")
class Subsampling2D(keras.layers.Layer):
    """Average each block, scale by a trainable coefficient, add a trainable bias, squash.

    For map ``k`` and a ``p x p`` block ``B(r, c)`` (non-overlapping by default):

        y(r, c, k) = act(a_k * mean_{(u, v) in B(r, c)} x(u, v, k) + b_k)

    LeNet-5's S2 and S4 (LeCun et al., 1998): two trainable parameters per
    map, 12 for S2 and 32 for S4. Rows or columns left over when the size is
    not a multiple of the stride are dropped, as in ``AveragePooling2D``.

    Args:
        pool_size: int or pair >= 1: the block's rows and columns (LeNet: 2).
        strides: int or pair >= 1, default ``pool_size``.
        activation: any Keras activation applied last (default none; LeNet-5
            uses ``scaled_tanh``).
        coefficient_initializer: for ``a_k`` (default ones).
        bias_initializer: for ``b_k`` (default zeros).

    Call arguments:
        inputs: ``(batch, rows, cols, maps)``, channels last.

    Example:
        >>> s2 = Subsampling2D(2, activation=scaled_tanh)
        >>> s2(np.zeros((1, 28, 28, 6), "float32")).shape, s2.count_params()
        ((1, 14, 14, 6), 12)
    """

    def __init__(
        self,
        pool_size=2,
        strides=None,
        activation=None,
        coefficient_initializer="ones",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.pool_size = conv_arguments.pair(pool_size, "pool_size", 1)
        self.strides = self.pool_size if strides is None else conv_arguments.pair(strides, "strides", 1)
        self.activation = keras.activations.get(activation)
        self.coefficient_initializer = keras.initializers.get(coefficient_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        rows, cols = self.pool_size
        maps = conv_arguments.image_channels(self, input_shape, f"the {rows}x{cols} block")
        self.coefficient = self.add_weight(name="coefficient", shape=(maps,), initializer=self.coefficient_initializer)
        self.bias = self.add_weight(name="bias", shape=(maps,), initializer=self.bias_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: maps})

    def call(self, inputs):
        means = ops.average_pool(inputs, pool_size=self.pool_size, strides=self.strides, padding="valid")
        coefficient = ops.cast(self.coefficient, means.dtype)
        return self.activation(means * coefficient + ops.cast(self.bias, means.dtype))

    def compute_output_shape(self, input_shape):
        return conv_arguments.output_shape(input_shape, self.pool_size, self.strides, "valid", input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            pool_size=list(self.pool_size),
            strides=list(self.strides),
            activation=keras.activations.serialize(self.activation),
            coefficient_initializer=keras.initializers.serialize(self.coefficient_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config
