"""MNIST handwritten digits from the bundled ``mnist.npz``."""

import numpy as np

from keras_seq.datasets import bundled

FILE = "mnist.npz"
NUM_CLASSES = 10


def load_data(path=None, verify=True):
    """Load MNIST exactly like ``keras.datasets.mnist.load_data()``.

    Args:
        path: another copy of ``mnist.npz`` (a file, or a folder holding it).
            Defaults to ``$KERAS_SEQ_DATA_DIR/mnist.npz``, else the bundled file.
        verify: check the file's sha256 (once per process) when it carries
            the bundled name.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
    """
    arrays = bundled.load_npz(
        FILE, ("x_train", "y_train", "x_test", "y_test"), path=path, verify=verify
    )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise bundled.DatasetFileError(
                f"{FILE}: x_{split} has shape {x.shape} and y_{split} {y.shape};"
                " expected (N, 28, 28) and (N,)"
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def as_images(x):
    """MNIST digits as a model's input: uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1].

    x' = x / 255, computed in float32, with a channel axis added.

    Args:
        x: uint8 array of shape (N, 28, 28), as :func:`load_data` returns.

    Example:
        >>> (x_train, _), _ = load_data()
        >>> as_images(x_train[:32]).shape
        (32, 28, 28, 1)
    """
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"x must be uint8 digits of shape (N, 28, 28), got {x.dtype} of shape {x.shape}")
    return (x / np.float32(255))[..., None]
