"""Grad-CAM++ (Chattopadhay et al. 2018): a convolutional layer's feature maps, weighted by gradients."""

import numpy as np

from keras_seq.saliency.feature_maps import (
    FeatureMapsAndScores,
    last_feature_map_layer,
    min_max,
    upsample_to_input,
)
from keras_seq.saliency.image_batch import check_images_and_classes


class GradCAMPlusPlus:
    """Grad-CAM++ (Chattopadhay et al. 2018) on a convolutional layer.

    With ``g = dS_c/dA^k_ij`` (the exponential-score form of the paper, eq. 19):

        alpha^kc_ij = g^2 / (2 g^2 + sum_ab A^k_ab g^3)
        w^c_k = sum_ij alpha^kc_ij ReLU(g)
        L^c = ReLU(sum_k w^c_k A^k), upsampled bilinearly to the input size.

    Written here rather than wrapped: tf-keras-vis 0.8.7 divides the alphas
    by their spatial sum, which can be negative and then zeroes the whole map
    of a confidently classified digit.

    Args:
        model: a Keras image classifier ending in a softmax.
        layer: name of the feature-map layer; defaults to the last layer with
            a (batch, H, W, C) output with H, W > 1.

    Called like :class:`VanillaSaliency`: ``(images, classes) -> (N, H, W)`` maps in [0, 1].
    """

    name = "gradcam++"

    def __init__(self, model, layer=None):
        self.model = model
        self.layer = layer if layer is not None else last_feature_map_layer(model)
        self._features_and_scores = FeatureMapsAndScores(model, self.layer)

    def __call__(self, images, classes):
        import tensorflow as tf

        images, classes = check_images_and_classes(self.model, images, classes)
        x = tf.constant(images)
        with tf.GradientTape() as tape:
            features, scores = self._features_and_scores(x)
            picked = tf.gather(scores, tf.constant(classes[:, None]), axis=1, batch_dims=1)
        g = tape.gradient(picked, features).numpy().astype(np.float64)  # (N, h, w, K)
        features = features.numpy().astype(np.float64)
        denominator = 2 * g ** 2 + features.sum(axis=(1, 2), keepdims=True) * g ** 3
        alphas = np.where(g > 0, g ** 2 / np.where(denominator > 0, denominator, 1.0), 0.0)
        weights = (alphas * np.maximum(g, 0)).sum(axis=(1, 2))  # (N, K)
        cam = np.maximum(np.einsum("nhwk,nk->nhw", features, weights), 0).astype(np.float32)
        return min_max(upsample_to_input(cam, self._features_and_scores.padding, images.shape[1:3]))
