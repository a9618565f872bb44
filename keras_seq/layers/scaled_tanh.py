"""LeCun's scaled hyperbolic tangent, the squashing function of LeNet-5."""

import keras
from keras import ops

AMPLITUDE = 1.7159
SLOPE = 2.0 / 3.0


@keras.saving.register_keras_serializable(package="keras_seq")
def scaled_tanh(x):
    """``f(a) = A tanh(S a)`` with ``A = 1.7159`` and ``S = 2/3`` (LeCun et al., 1998, appendix A).

    The constants make ``f(1) = 1`` and ``f(-1) = -1``, with the largest
    second derivative at +-1, so targets of +-1 sit in the non-saturated range.

    Example:
        >>> keras.layers.Dense(84, activation=scaled_tanh)
    """
    return AMPLITUDE * ops.tanh(SLOPE * x)
