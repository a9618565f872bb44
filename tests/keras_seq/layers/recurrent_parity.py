"""What the recurrent layers' tests compare with Keras's layers: outputs, and gradients of one scalar loss."""

import numpy as np
import tensorflow as tf


def as_list(y):
    """A layer's output (a tensor, or a list of output and states) as a list of arrays."""
    return [np.asarray(v) for v in (y if isinstance(y, (list, tuple)) else [y])]


def assert_all_close(ours, theirs, atol=1e-5):
    ours, theirs = as_list(ours), as_list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=atol)


def gradients(layer, x, mask=None, training=False):
    """d loss / d (x, trainable weights) for loss = sum_i sum sin(3 y_i + i) over the layer's outputs y_i."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = layer(x, mask=mask, training=training)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        loss = sum(tf.reduce_sum(tf.sin(3.0 * y + i)) for i, y in enumerate(outputs))
    return tape.gradient(loss, [x] + layer.trainable_weights)


def assert_keras_weights_load(ours, theirs, x, shapes):
    """``ours`` and Keras's ``theirs`` built on ``x`` hold weights of ``shapes`` (kernel, recurrent kernel,
    bias, Keras's names), and ``ours`` loaded with Keras's weights computes Keras's output."""
    ours(x), theirs(x)
    assert [w.shape for w in ours.get_weights()] == shapes
    assert [w.path.split("/")[-1] for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    ours.set_weights(theirs.get_weights())  # Keras -> ours
    np.testing.assert_allclose(ours(x), theirs(x), atol=1e-5)
