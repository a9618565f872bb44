"""The occlusion demo: a digit model's int8 ``.tflite`` explained by occlusion beside the Keras model's gradients.

Occlusion itself is :class:`keras_seq.saliency.OcclusionSensitivity`. Run
``python -m keras_seq.demos.occlusion --model MODEL.keras`` to convert a digit
model to int8 ``.tflite`` and draw its occlusion maps beside the Keras
model's gradient maps for the same digits.
"""

import numpy as np

from keras_seq.saliency import OcclusionSensitivity


def map_correlation(first, second):
    """Pearson correlation of two maps per image, (N,); how alike two explanations are."""
    first = np.asarray(first, dtype=np.float64).reshape(len(first), -1)
    second = np.asarray(second, dtype=np.float64).reshape(len(second), -1)
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    return (first * second).sum(axis=1) / np.maximum(norms, 1e-12)


def occlusion_vs_gradient(keras_model, edge_predict, images, labels, out=None, patch=6, stride=2,
                          edge_name="int8 .tflite", smoothgrad_samples=10):
    """Occlusion maps of the deployed model beside the Keras model's gradient maps.

    The gradient map is SmoothGrad (vanilla gradients averaged over noisy
    copies), which is far less speckled than one gradient. Occlusion needs a
    class probability that can still move: for a digit the model is 99.99%
    sure of, no single patch changes it (and an int8 output has steps of
    1/256), so pick uncertain or misclassified digits (see
    :func:`keras_seq.demos.digits.pick_uncertain`).

    Args:
        keras_model: the Keras digit classifier.
        edge_predict: the deployed model's predict function (``EdgeModel.predict``).
        images: (N, 28, 28, 1) float32 digits in [0, 1].
        labels: N true classes.
        out: a folder; when given, writes ``occlusion_vs_gradient.png``.
        patch, stride: occlusion square and step.
        edge_name: how figures name the deployed model.
        smoothgrad_samples: noisy copies for the gradient map.

    Returns:
        A dict: ``predicted`` (N,) classes of the deployed model, ``occlusion``
        (N, 28, 28) probability drops, ``gradient`` (N, 28, 28) SmoothGrad
        saliency of the Keras model for the same classes, ``correlation`` (N,)
        Pearson r between the positive occlusion map (pixels whose hiding
        lowers the class probability) and the gradient map, ``path`` the
        figure (or None).
    """
    import pathlib

    from keras_seq.saliency import SmoothGrad

    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    probabilities = np.asarray(edge_predict(images))
    predicted = np.argmax(probabilities, axis=-1)
    occlusion = OcclusionSensitivity(edge_predict, patch=patch, stride=stride)(images, predicted)
    gradient = SmoothGrad(keras_model, samples=smoothgrad_samples)(images, predicted)
    result = {"predicted": predicted, "probability": probabilities.max(axis=-1),
              "occlusion": occlusion, "gradient": gradient,
              "correlation": map_correlation(np.maximum(occlusion, 0), gradient), "path": None}
    if out is not None:
        result["path"] = draw_occlusion_figure(images, labels, result,
                                               pathlib.Path(out) / "occlusion_vs_gradient.png",
                                               edge_name=edge_name, patch=patch, stride=stride)
    return result


def draw_occlusion_figure(images, labels, result, path, edge_name, patch, stride):
    """Rows: input, Keras gradient map, deployed-model occlusion map; a column per digit."""
    from keras_seq.demos import figures

    count = len(images)
    figure = figures.new_figure(1.6 * count + 1.6, 5.9)
    grid = figure.add_gridspec(3, count, left=0.13, right=0.88, top=0.84, bottom=0.03,
                               wspace=0.08, hspace=0.45)
    occlusion = result["occlusion"]
    peaks = np.maximum(np.abs(occlusion).reshape(count, -1).max(axis=1), 1e-12)
    row_names = ["input", "Keras SmoothGrad\n|dS_c/dx|", f"{edge_name}\nocclusion"]
    drawn_gradient = drawn_occlusion = None
    for i in range(count):
        image = images[i].squeeze()
        axes = [figure.add_subplot(grid[row, i]) for row in range(3)]
        figures.show_image(axes[0], image, title=f"true {labels[i]}, pred {result['predicted'][i]}\n"
                           f"p = {result['probability'][i]:.2f}", vmin=0.0, vmax=1.0)
        drawn_gradient = figures.show_map_over_image(axes[1], image, result["gradient"][i])
        drawn_occlusion = figures.show_image(axes[2], occlusion[i] / peaks[i],
                                             cmap=figures.DIVERGING_COLORMAP, vmin=-1.0, vmax=1.0,
                                             title=f"max drop {peaks[i]:.2f}\n"
                                                   f"r = {result['correlation'][i]:.2f}")
        axes[2].contour(image, levels=[0.5], colors="black", linewidths=0.5)
        if i == 0:
            for row, name in enumerate(row_names):
                axes[row].set_ylabel(name, fontsize=8)
    bar = figure.colorbar(drawn_gradient, cax=figure.add_axes([0.9, 0.38, 0.015, 0.22]))
    bar.set_label("saliency (0-1)", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    bar = figure.colorbar(drawn_occlusion, cax=figure.add_axes([0.9, 0.05, 0.015, 0.22]))
    bar.set_label("drop of p(class) / max drop", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    figure.suptitle(f"Does the phone model look at the same strokes?\n"
                    f"{edge_name} occlusion ({patch}x{patch} patch, stride {stride}) vs Keras "
                    "SmoothGrad; r = pixel correlation of the red part with SmoothGrad", fontsize=9)
    return figures.save_png(figure, path)


def main(argv=None):
    """``python -m keras_seq.demos.occlusion --model FILE [--out DIR] [--count N] [--verbose]``."""
    from keras_seq.demos.model_files import digit_model_main
    from keras_seq.quiet_output import quiet_unless_verbose_in

    with quiet_unless_verbose_in(argv):
        return digit_model_main(argv, "python -m keras_seq.demos.occlusion", main.__doc__, 4, _explain)


def _explain(model, out, count, model_path):
    from keras_seq import export
    from keras_seq.datasets import mnist

    (x_train, _), (x_test, y_test) = mnist.load_data()
    representative = mnist.as_images(x_train[:200])
    edge = export.EdgeModel(export.to_tflite(model, quantization="int8",
                                             representative_data=representative), verify=False)
    images = mnist.as_images(x_test[:count])
    result = occlusion_vs_gradient(model, edge.predict, images, y_test[:count], out=out)
    print(f"pixel correlation occlusion vs gradient: {np.round(result['correlation'], 2).tolist()}")
    print(f"wrote {result['path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
