"""Score-CAM (Wang et al. 2020): feature maps as input masks, weighted by the masked input's score."""

import numpy as np

from keras_seq import arguments
from keras_seq.saliency.feature_maps import (
    FeatureMapsAndScores,
    last_feature_map_layer,
    min_max,
    upsample_to_input,
)
from keras_seq.saliency.image_batch import check_images_and_classes


class ScoreCAM:
    """Score-CAM (Wang et al. 2020): gradient-free class activation maps.

        M_k = norm(up(A^k))  (upsampled to the input, min-max scaled to [0, 1])
        s_k^c = softmax(S(x * M_k))_c
        L^c = ReLU(sum_k s_k^c A^k), upsampled to the input size.

    Each feature map masks the input and the class probability of the masked
    input is its weight. Written here (as tf-keras-vis's Scorecam computes
    it) so that the masks line up with the digit for models that pad their
    input inside (see :func:`field_padding`).

    Args:
        model: a Keras image classifier ending in a softmax.
        layer: name of the feature-map layer (default: as :class:`GradCAMPlusPlus`).
        batch_size: masked inputs per forward pass (>= 1).

    Called like :class:`VanillaSaliency`: ``(images, classes) -> (N, H, W)`` maps in [0, 1].
    """

    name = "scorecam"

    def __init__(self, model, layer=None, batch_size=64):
        self.model = model
        self.batch_size = arguments.positive_int(batch_size, "batch_size")
        self.layer = layer if layer is not None else last_feature_map_layer(model)
        self._features_and_scores = FeatureMapsAndScores(model, self.layer)

    def __call__(self, images, classes):
        images, classes = check_images_and_classes(self.model, images, classes)
        features = np.asarray(self._features_and_scores(images)[0], dtype=np.float32)  # (N, h, w, K)
        masks = self._masks(features, images.shape[1:3])  # (N, K, H, W)
        probabilities = self._masked_probabilities(images, masks)  # (N, K, classes)
        weights = probabilities[np.arange(len(images)), :, classes]  # (N, K)
        cam = np.maximum(np.einsum("nhwk,nk->nhw", features, weights), 0)
        return min_max(upsample_to_input(cam, self._features_and_scores.padding, images.shape[1:3]))

    def _masks(self, features, size):
        """``M_k``: every feature map upsampled to the input and min-max scaled, (N, K, H, W)."""
        count, channels = len(features), features.shape[-1]
        masks = upsample_to_input(np.moveaxis(features, -1, 1).reshape((-1,) + features.shape[1:3]),
                                  self._features_and_scores.padding, size)
        return min_max(masks).reshape((count, channels) + tuple(size))

    def _masked_probabilities(self, images, masks):
        """``softmax(S(x * M_k))`` for every image and mask, (N, K, classes)."""
        masked = (images[:, None] * masks[..., None]).reshape((-1,) + images.shape[1:])
        scores = np.concatenate([np.asarray(self._features_and_scores(masked[i:i + self.batch_size])[1])
                                 for i in range(0, len(masked), self.batch_size)])
        scores = scores - scores.max(axis=-1, keepdims=True)
        probabilities = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
        return probabilities.reshape(masks.shape[:2] + (-1,))
