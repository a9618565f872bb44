"""The checked ``(images, classes)`` batch every image saliency method takes."""

import numpy as np


def check_images_and_classes(model, images, classes):
    """Validate a batch for an image classifier; return ``(images, classes)`` arrays.

    ``images`` must be (N, *model input shape) or one image of the input
    shape, finite; ``classes`` N integers in ``[0, num_classes)``.
    """
    images = np.asarray(images, dtype=np.float32)
    input_shape = tuple(model.inputs[0].shape[1:])
    if images.shape == input_shape:
        images = images[None]
    if images.ndim != len(input_shape) + 1 or any(
        expected is not None and got != expected
        for got, expected in zip(images.shape[1:], input_shape)
    ):
        raise ValueError(
            f"images has shape {images.shape}; the model takes (N,) + {input_shape}"
        )
    if len(images) == 0:
        raise ValueError("images is empty; give at least one image")
    if not np.all(np.isfinite(images)):
        raise ValueError("images contains NaN or infinite values")
    classes = np.atleast_1d(np.asarray(classes))
    num_classes = model.outputs[0].shape[-1]
    if classes.shape != (len(images),) or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(
            f"classes must be {len(images)} integers (one per image), got {classes!r}"
        )
    if classes.min() < 0 or classes.max() >= num_classes:
        raise ValueError(f"classes must lie in [0, {num_classes}), got {classes.tolist()}")
    return images, classes.astype(np.int64)
