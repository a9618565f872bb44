"""Occlusion sensitivity through any predict function, e.g. a ``.tflite`` model.

Occlusion needs only forward passes, so it explains the *deployed* model as
the LiteRT runtime runs it (int8 weights and all), where gradients are not
available. A ``patch x patch`` square of the image is set to ``fill`` at every
position on a ``stride`` grid; the map at pixel ``(i, j)`` is the mean drop of
the class probability over the patches covering it:

    M_c(i, j) = mean_{patches P containing (i, j)} [ p_c(x) - p_c(x with P := fill) ]

Example:
    >>> edge = keras_seq.export.EdgeModel("digits_int8.tflite")
    >>> maps = OcclusionSensitivity(edge.predict, patch=6, stride=2)(images, classes)
"""

import numpy as np

from keras_seq import arguments


class OcclusionSensitivity:
    """Occlusion-sensitivity maps for an image classifier given as a function.

    Args:
        predict: callable mapping (N, H, W, C) float32 to (N, classes)
            probabilities (``EdgeModel.predict``, ``model.predict``, ...).
        patch: side of the occluding square in pixels (>= 1).
        stride: step between patch positions (1 <= stride <= patch, so every
            pixel is covered).
        fill: value written into the occluded square (0 is MNIST's paper).
        batch_size: occluded copies per ``predict`` call.

    Call arguments:
        images: (N, H, W, C) float32 batch.
        classes: N class indices to explain.

    Returns:
        (N, H, W) float32 probability drops (positive where hiding the pixel
        lowers the class probability).
    """

    def __init__(self, predict, patch=4, stride=2, fill=0.0, batch_size=256):
        if not callable(predict):
            raise ValueError(f"predict must be callable (e.g. EdgeModel.predict), got {predict!r}")
        self.predict = predict
        self.patch = arguments.positive_int(patch, "patch")
        self.stride = arguments.positive_int(stride, "stride")
        self.batch_size = arguments.positive_int(batch_size, "batch_size")
        self.fill = arguments.real(fill, "fill")
        if self.stride > self.patch:
            raise ValueError(f"stride={stride} is larger than patch={patch}; pixels would be skipped")

    def positions(self, height, width):
        """Top-left corners of the patches; the last row/column touches the border."""
        if self.patch > min(height, width):
            raise ValueError(f"patch={self.patch} is larger than the {height}x{width} image")
        rows = sorted(set(range(0, height - self.patch + 1, self.stride)) | {height - self.patch})
        cols = sorted(set(range(0, width - self.patch + 1, self.stride)) | {width - self.patch})
        return [(r, c) for r in rows for c in cols]

    def __call__(self, images, classes):
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or len(images) == 0:
            raise ValueError(f"images must be a non-empty (N, H, W, C) batch, got shape {images.shape}")
        if not np.all(np.isfinite(images)):
            raise ValueError("images contains NaN or infinite values")
        classes = np.atleast_1d(np.asarray(classes))
        if classes.shape != (len(images),) or not np.issubdtype(classes.dtype, np.integer):
            raise ValueError(f"classes must be {len(images)} integers (one per image), got {classes!r}")
        height, width = images.shape[1:3]
        corners = self.positions(height, width)
        maps = np.zeros((len(images), height, width), dtype=np.float64)
        for n, (image, target) in enumerate(zip(images, classes)):
            base = self._probabilities(image[None])[0]
            if not 0 <= target < len(base):
                raise ValueError(f"classes[{n}]={target} is outside [0, {len(base)})")
            occluded = np.repeat(image[None], len(corners), axis=0)
            for k, (r, c) in enumerate(corners):
                occluded[k, r:r + self.patch, c:c + self.patch, :] = self.fill
            drops = base[target] - self._probabilities(occluded)[:, target]
            total = np.zeros((height, width))
            count = np.zeros((height, width))
            for drop, (r, c) in zip(drops, corners):
                total[r:r + self.patch, c:c + self.patch] += drop
                count[r:r + self.patch, c:c + self.patch] += 1
            maps[n] = total / count
        return maps.astype(np.float32)

    def _probabilities(self, batch):
        parts = [np.asarray(self.predict(batch[i:i + self.batch_size]), dtype=np.float64)
                 for i in range(0, len(batch), self.batch_size)]
        probabilities = np.concatenate(parts)
        if probabilities.ndim != 2 or len(probabilities) != len(batch):
            raise ValueError(
                f"predict returned shape {probabilities.shape} for {len(batch)} images; "
                "expected (N, classes)"
            )
        return probabilities
