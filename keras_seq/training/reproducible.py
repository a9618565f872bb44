"""Fix the result of a training run on one machine (``--seed``)."""

import keras
import tensorflow as tf

from keras_seq import arguments


def set_seed(seed):
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic.

    ``keras.utils.set_random_seed`` fixes weight initialisation, dropout masks
    and the data order; ``tf.config.experimental.enable_op_determinism`` makes
    every op pick a deterministic kernel (reductions in a fixed order), so two
    runs with the same seed on the same machine give identical weights.

    Args:
        seed: an int in [0, 2**32 - 1].
    """
    seed = arguments.integer(seed, "seed", minimum=0, maximum=2**32 - 1)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
