"""Vanilla saliency (Simonyan et al. 2014): the gradient of the class score."""

import numpy as np

from keras_seq.saliency.image_batch import check_images_and_classes
from keras_seq.saliency.logits import logits_model
from keras_seq.saliency.tf_keras_vis_calls import class_score, quiet


class VanillaSaliency:
    """Vanilla saliency (Simonyan et al. 2014): ``M(x) = max_channel |dS_c/dx|``.

    Args:
        model: a Keras image classifier ending in a softmax.

    Call arguments:
        images: (N, H, W, C) float32 batch (or one image).
        classes: N class indices to explain.

    Returns:
        (N, H, W) maps in [0, 1].
    """

    name = "vanilla"

    def __init__(self, model):
        from tf_keras_vis.saliency import Saliency

        self.model = model
        self._saliency = Saliency(logits_model(model), clone=False)

    def __call__(self, images, classes):
        images, classes = check_images_and_classes(self.model, images, classes)
        with quiet():
            return np.asarray(self._saliency(class_score(classes), images), dtype=np.float32)
