"""SmoothGrad (Smilkov et al. 2017): vanilla saliency averaged over noisy copies of the input."""

import numpy as np

from keras_seq import arguments
from keras_seq.saliency.image_batch import check_images_and_classes
from keras_seq.saliency.logits import logits_model
from keras_seq.saliency.tf_keras_vis_calls import class_score, quiet


class SmoothGrad:
    """SmoothGrad (Smilkov et al. 2017): vanilla saliency averaged over noisy copies.

    ``M(x) = 1/n sum_k |dS_c/dx (x + eps_k)|``, ``eps_k ~ N(0, sigma^2)``,
    ``sigma = noise * (max x - min x)``.

    Args:
        model: a Keras image classifier ending in a softmax.
        samples: number of noisy copies ``n`` (>= 1).
        noise: noise level relative to the image's value range (> 0).
        seed: seed of the noise, so maps are reproducible.

    Called like :class:`VanillaSaliency`: ``(images, classes) -> (N, H, W)`` maps in [0, 1].
    """

    name = "smoothgrad"

    def __init__(self, model, samples=20, noise=0.2, seed=0):
        from tf_keras_vis.saliency import Saliency

        self.model = model
        self.samples = arguments.positive_int(samples, "samples")
        self.noise = arguments.positive_real(noise, "noise")
        self.seed = seed
        self._saliency = Saliency(logits_model(model), clone=False)

    def __call__(self, images, classes):
        images, classes = check_images_and_classes(self.model, images, classes)
        # tf-keras-vis draws SmoothGrad's noise from numpy's global generator;
        # save and restore it so this call leaves no trace on the caller's state.
        saved = np.random.get_state()
        np.random.seed(self.seed)
        try:
            with quiet():
                maps = self._saliency(class_score(classes), images, smooth_samples=self.samples,
                                      smooth_noise=self.noise)
        finally:
            np.random.set_state(saved)
        return np.asarray(maps, dtype=np.float32)
