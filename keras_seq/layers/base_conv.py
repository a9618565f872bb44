"""What our trainable convolutions share, as Keras's ``BaseConv`` shares it
between ``Conv1D``/``Conv2D``/``Conv3D``: the output maps, the activation, the
bias, the kernel's and bias's initializers, regularizers and constraints, and
their config."""

import keras
from keras import ops

from keras_seq import arguments
from keras_seq.layers.weight_options import set_weight_options, weight_options_config


class BaseConv(keras.layers.Layer):
    """A convolution ``y = act(conv(x, W) + b)`` with ``filters`` output maps.

    Subclasses create the kernel in ``build`` with :meth:`add_kernel` (its
    shape is theirs) and :meth:`add_bias`, and finish ``call`` with
    :meth:`bias_and_activation`.

    Args:
        filters: the number of output maps (int >= 1).
        activation: a Keras activation applied last.
        use_bias: whether each output map adds a bias ``b_j`` (True or False).
        kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as in
            ``keras.layers.Conv2D``.
    """

    def __init__(
        self,
        filters,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = arguments.positive_int(filters, "filters")
        self.activation = keras.activations.get(activation)
        self.use_bias = arguments.boolean(use_bias, "use_bias")
        set_weight_options(self, kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                           bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def add_kernel(self, shape, initializer=None):
        """The ``kernel`` weight, with the layer's regularizer and constraint."""
        arguments.weight_count([shape], f"{type(self).__name__}'s kernel of shape {tuple(shape)}")
        self.kernel = self.add_weight(
            name="kernel",
            shape=shape,
            initializer=initializer or self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def add_bias(self):
        """The ``bias`` weight (filters,), or ``None`` without ``use_bias``."""
        if not self.use_bias:
            self.bias = None
            return
        self.bias = self.add_weight(
            name="bias",
            shape=(self.filters,),
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def bias_and_activation(self, outputs):
        """``act(outputs + b)``."""
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            **weight_options_config(self, ("kernel", "bias")),
        )
        return config
