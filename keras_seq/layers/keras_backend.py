"""The one Keras backend our layers run on: TensorFlow.

The recurrent layers write their loops and their backpropagation through time
with ``tf.while_loop``, ``TensorArray`` and ``tf.custom_gradient``, which only
the TensorFlow backend of Keras runs. Building one under another backend
(``KERAS_BACKEND=jax``, ``torch``, ``numpy``) would fail later with an obscure
error, so construction fails at once with one that says why.
"""

import keras


def require_tensorflow_backend(what):
    """Raise ``RuntimeError`` unless Keras runs on TensorFlow; ``what`` names the caller."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"{what} needs the TensorFlow backend of Keras (its loop and hand-written "
            "backpropagation through time are TensorFlow code), but Keras runs on the "
            f"{backend!r} backend; set KERAS_BACKEND=tensorflow before importing keras"
        )
