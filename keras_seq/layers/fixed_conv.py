"""A convolution with a fixed, named or given kernel, applied to each channel."""

import keras
import numpy as np
from keras import ops

from keras_seq.layers import conv_arguments
from keras_seq.layers.filter_bank import named_kernel


@keras.saving.register_keras_serializable(package="keras_seq")
class FixedConv2D(keras.layers.Layer):
    """Filter every channel of an image with one fixed 2-D kernel (no training).

    An image filter (cross-correlation, what deep learning calls
    convolution; Gonzalez & Woods, "Digital Image Processing"), computed for
    each channel ``c`` separately:

        g(i, j, c) = sum_{u=0}^{h-1} sum_{v=0}^{w-1} w(u, v) x(s*i + u, s*j + v, c)

    where ``x`` is the input after ``p`` zeros are added on every side. An
    ``n x n`` input gives ``floor((n + 2p - k) / s) + 1`` rows and columns.
    The kernel is a constant, not a weight: the layer has no parameters.

    Args:
        kernel: a name from ``filter_bank()`` (``"laplacian"``, ``"sharpen"``,
            ...) or a 2-D array of finite numbers.
        strides: int or pair, >= 1: the step between windows (the stride).
        padding: ``"valid"`` (no padding), ``"same"`` (odd kernels only:
            output size = ceil(input size / stride)) or an int / pair >= 0:
            that many zeros on each side.

    Call arguments:
        inputs: ``(batch, rows, cols, channels)`` images (channels last).

    Example:
        >>> edges = FixedConv2D("laplacian", padding=1)
        >>> edges(np.ones((1, 6, 6, 3), "float32")).shape
        (1, 6, 6, 3)
    """

    def __init__(self, kernel, strides=1, padding="valid", **kwargs):
        super().__init__(**kwargs)
        if isinstance(kernel, str):
            self.kernel_name = kernel
            self.kernel = named_kernel(kernel)
        else:
            self.kernel_name = None
            self.kernel = _kernel_array(kernel)
        self.strides = conv_arguments.pair(strides, "strides", 1)
        self.padding = conv_arguments.padding_argument(padding, self.kernel.shape)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        rows, cols = self.kernel.shape
        channels = conv_arguments.image_channels(
            self, input_shape, f"the {rows}x{cols} kernel with padding={self.padding!r}"
        )
        # Depthwise kernel (rows, cols, channels, 1): the same filter for every channel.
        self._depthwise_kernel = np.ascontiguousarray(np.tile(self.kernel[:, :, None, None], (1, 1, channels, 1)))
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        # TensorFlow's half-precision depthwise kernel takes equal strides only: unequal ones run in float32.
        dtype = "float32" if self.strides[0] != self.strides[1] else self.compute_dtype
        inputs, padding = conv_arguments.padded(ops.cast(inputs, dtype), self.padding)
        kernel = ops.convert_to_tensor(self._depthwise_kernel, dtype=dtype)
        outputs = ops.depthwise_conv(inputs, kernel, strides=self.strides, padding=padding)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return conv_arguments.output_shape(input_shape, self.kernel.shape, self.strides, self.padding, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            kernel=self.kernel_name if self.kernel_name else self.kernel.tolist(),
            strides=list(self.strides),
            padding=conv_arguments.padding_config(self.padding),
        )
        return config


def _kernel_array(kernel):
    try:
        array = np.asarray(kernel, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"kernel={kernel!r} is neither a filter name nor a 2-D array of numbers") from None
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("kernel holds NaN or infinite values; every entry must be finite")
    return array.copy()
