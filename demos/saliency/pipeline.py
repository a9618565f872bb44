"""Every saliency method on a batch of digits, their figures, and ``python -m keras_seq.demos.saliency``."""

import pathlib

import numpy as np

from keras_seq import arguments
from keras_seq.demos.saliency.figures import draw_method_figure
from keras_seq.saliency.gradcam import GradCAMPlusPlus
from keras_seq.saliency.image_batch import check_images_and_classes
from keras_seq.saliency.scorecam import ScoreCAM
from keras_seq.saliency.smoothgrad import SmoothGrad
from keras_seq.saliency.vanilla import VanillaSaliency
from keras_seq.quiet_output import quiet_unless_verbose_in

METHODS = {cls.name: cls for cls in (VanillaSaliency, SmoothGrad, GradCAMPlusPlus, ScoreCAM)}

FILE_NAMES = {
    "vanilla": "saliency_vanilla.png",
    "smoothgrad": "saliency_smoothgrad.png",
    "gradcam++": "saliency_gradcam_plus_plus.png",
    "scorecam": "saliency_scorecam.png",
}


def explain_digits(model, images, labels, out=None, methods=tuple(METHODS), model_name="model",
                   smoothgrad_samples=20):
    """Saliency maps of every method for digit images, and optionally their figures.

    Args:
        model: a Keras digit classifier (N, 28, 28, 1) -> softmax over 10.
        images: (N, 28, 28, 1) float32 in [0, 1].
        labels: N true classes.
        out: a folder; when given, writes one figure per method there
            (names in ``FILE_NAMES``).
        methods: names among ``vanilla``, ``smoothgrad``, ``gradcam++``, ``scorecam``.
        model_name: shown in figure titles.
        smoothgrad_samples: noisy copies for SmoothGrad.

    Returns:
        A dict: ``predicted`` (N,) classes, and for each method its (N, 28, 28)
        maps of the *predicted* class, ``paths`` the written figures.
    """
    for name in methods:
        arguments.choice(name, "methods", tuple(METHODS))
    labels = np.asarray(labels)
    images, labels = check_images_and_classes(model, images, labels)
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    result = {"predicted": predicted, "paths": []}
    for name in methods:
        method = SmoothGrad(model, samples=smoothgrad_samples) if name == "smoothgrad" else METHODS[name](model)
        result[name] = method(images, predicted)
        if out is not None:
            path = pathlib.Path(out) / FILE_NAMES[name]
            result["paths"].append(draw_method_figure(name, images, result[name], labels, predicted,
                                                      path, model_name=model_name))
    return result


def main(argv=None):
    """``python -m keras_seq.demos.saliency --model FILE [--out DIR] [--count N] [--verbose]``."""
    from keras_seq.demos.model_files import digit_model_main

    with quiet_unless_verbose_in(argv):
        return digit_model_main(argv, "python -m keras_seq.demos.saliency", main.__doc__, 8, _explain)


def _explain(model, out, count, model_path):
    from keras_seq.datasets import mnist

    (_, _), (x_test, y_test) = mnist.load_data()
    images = mnist.as_images(x_test[:count])
    result = explain_digits(model, images, y_test[:count], out=out, model_name=model_path)
    for path in result["paths"]:
        print(f"wrote {path}")
    return 0
