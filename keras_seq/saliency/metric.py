"""How much of a saliency map lies on the ink of a digit rather than on the empty paper."""

import numpy as np


def ink_contrast(maps, images, threshold=0.5):
    """Mean map value on ink pixels divided by the mean on background pixels.

    ``images`` (N, H, W[, 1]) in [0, 1]; ink is ``image > threshold``. Above
    1 means the maps sit on the strokes more than on the empty paper.
    """
    maps = np.asarray(maps, dtype=np.float64)
    images = np.asarray(images).reshape(maps.shape)
    ink = images > threshold
    if not ink.any() or ink.all():
        raise ValueError("images need both ink (> threshold) and background pixels")
    return float(maps[ink].mean() / max(maps[~ink].mean(), 1e-12))
