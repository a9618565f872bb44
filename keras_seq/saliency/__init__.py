"""Saliency maps: which input pixels a classifier's decision depends on.

Small classes in the tf-keras-vis style (one ``__call__``, options as keyword
arguments, no global state, one method per module) over a Keras image
classifier whose output is a softmax over classes. Vanilla saliency and SmoothGrad run tf-keras-vis's
``Saliency``; Grad-CAM++ and Score-CAM are computed here (reasons in their
docstrings). Each call returns maps of shape (N, H, W), min-max
scaled to [0, 1] per image. Gradient methods differentiate the class score
``S_c`` *before* the softmax (the logit), as Simonyan et al. do, so the map
is not flattened by a saturated softmax.

- :class:`VanillaSaliency`: ``M(x) = max_channel |dS_c/dx|``.
- :class:`SmoothGrad`: ``M(x) = 1/n sum_k |dS_c/dx (x + N(0, sigma^2))|`` with
  ``sigma = noise * (max x - min x)``.
- :class:`GradCAMPlusPlus`: a ReLU-weighted sum of a convolutional layer's
  feature maps ``A^k``, weights from first, second and third derivatives of
  ``exp(S_c)`` (Chattopadhay et al. 2018), upsampled to the input size.
- :class:`ScoreCAM`: feature maps ``A^k`` used as input masks; weight of map
  ``k`` is the softmax score of class ``c`` on ``x * norm(A^k)`` (Wang et al.
  2020). Gradient free.
- :class:`LetterSaliency`: for a sequence labeller (T letters in, T softmaxes
  out), ``M_t(x) = |dS_{t, y_t}/dx|`` over the *whole* word, one map per
  output position ``t``: which letters' pixels decided letter ``t``.
- :class:`OcclusionSensitivity`: through any predict function (a ``.tflite``
  file's ``EdgeModel.predict``), the mean drop of ``p_c`` over the patches
  hiding each pixel. Forward passes only.

Example:
    >>> maps = SmoothGrad(model, samples=20)(images, classes)   # (N, 28, 28)
"""

from keras_seq.saliency.feature_maps import field_padding, last_feature_map_layer, upsample_to_input
from keras_seq.saliency.gradcam import GradCAMPlusPlus
from keras_seq.saliency.image_batch import check_images_and_classes
from keras_seq.saliency.letter import LetterSaliency
from keras_seq.saliency.logits import logits_model
from keras_seq.saliency.metric import ink_contrast
from keras_seq.saliency.occlusion import OcclusionSensitivity
from keras_seq.saliency.scorecam import ScoreCAM
from keras_seq.saliency.smoothgrad import SmoothGrad
from keras_seq.saliency.vanilla import VanillaSaliency

__all__ = [
    "GradCAMPlusPlus", "LetterSaliency", "OcclusionSensitivity", "ScoreCAM", "SmoothGrad", "VanillaSaliency",
    "check_images_and_classes", "field_padding", "ink_contrast", "last_feature_map_layer", "logits_model",
    "upsample_to_input",
]
