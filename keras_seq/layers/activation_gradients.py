"""Gradients through the cells' activations from their outputs, for the
hand-written backpropagation through time (Elman and LSTM cells share them).

``y = sigmoid(z)`` has ``dy/dz = y (1 - y)`` and ``y = tanh(z)`` has
``dy/dz = 1 - y^2``: both need only the output ``y`` saved by the forward pass.
"""

import tensorflow as tf


def sigmoid_gradient(y, d_y):
    """``d_y * y * (1 - y)``, the gradient through ``y = sigmoid(z)``, as one
    fused TensorFlow kernel."""
    return tf.raw_ops.SigmoidGrad(y=y, dy=d_y)


def tanh_gradient(y, d_y):
    """``d_y * (1 - y^2)``, the gradient through ``y = tanh(z)``, as one fused
    TensorFlow kernel."""
    return tf.raw_ops.TanhGrad(y=y, dy=d_y)
