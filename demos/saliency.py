"""Saliency maps: which input pixels a classifier's decision depends on.

Small classes in the tf-keras-vis style (one ``__call__``, options as keyword
arguments, no global state) over a Keras image classifier whose output is a
softmax over classes. Vanilla saliency and SmoothGrad run tf-keras-vis's
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

Run ``python -m keras_seq.demos.saliency --model MODEL.keras`` to draw the four digit
maps for a saved digit model on MNIST test digits.

Example:
    >>> maps = SmoothGrad(model, samples=20)(images, classes)   # (N, 28, 28)
"""

import contextlib
import io
import warnings

import numpy as np

FILE_NAMES = {
    "vanilla": "saliency_vanilla.png",
    "smoothgrad": "saliency_smoothgrad.png",
    "gradcam++": "saliency_gradcam_plus_plus.png",
    "scorecam": "saliency_scorecam.png",
}

METHOD_TITLES = {
    "vanilla": "Vanilla saliency |dS_c/dx|",
    "smoothgrad": "SmoothGrad (mean |dS_c/dx| over noisy copies)",
    "gradcam++": "Grad-CAM++ (weighted conv feature maps)",
    "scorecam": "Score-CAM (feature maps as masks, gradient free)",
}


def logits_model(model):
    """Return a model computing ``model``'s class scores before its final softmax.

    A last layer with ``activation=softmax`` (Dense, TimeDistributed Dense) is
    cloned with a linear activation and the trained weights; a last
    ``Softmax``/``Activation("softmax")`` layer is cut off. A model without a
    final softmax is returned as is.
    """
    import keras

    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)
    ):
        return keras.Model(model.inputs, last.input)
    inner = getattr(last, "layer", last)  # TimeDistributed(Dense(..., softmax))
    if not _is_softmax(getattr(inner, "activation", None)):
        return model
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    getattr(clone.layers[-1], "layer", clone.layers[-1]).activation = keras.activations.linear
    return clone


def _is_softmax(activation):
    import keras

    return activation is not None and (
        activation is keras.activations.softmax or getattr(activation, "__name__", "") == "softmax"
    )


def field_padding(model):
    """``((top, bottom), (left, right))`` zeros a leading ``ZeroPadding2D`` adds to the input.

    LeNet-5 pads the 28x28 digit to 32x32 inside the model, so its feature
    maps cover the padded field, not the input: class activation maps are
    upsampled to that field and then cropped, so they line up with the digit.
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.ZeroPadding2D) and layer.input is model.inputs[0]:
            return tuple(tuple(int(v) for v in side) for side in layer.padding)
    return (0, 0), (0, 0)


def upsample_to_input(maps, padding, input_size):
    """Bilinearly resize (N, h, w) maps over the padded field; crop back to ``input_size``."""
    import tensorflow as tf

    (top, bottom), (left, right) = padding
    height, width = input_size
    field = (height + top + bottom, width + left + right)
    resized = tf.image.resize(np.asarray(maps, np.float32)[..., None], field, method="bilinear").numpy()
    return resized[:, top:top + height, left:left + width, 0]


class _FeatureMapsAndScores:
    """``images -> (A, S)``: a layer's feature maps and the class scores (logits)."""

    def __init__(self, model, layer):
        import keras

        _check_layer_name(model, layer)
        logits = logits_model(model)
        self.padding = field_padding(model)
        self.model = keras.Model(logits.inputs, [logits.get_layer(layer).output, logits.outputs[0]])

    def __call__(self, x):
        with _quiet():
            return self.model(x, training=False)


def last_feature_map_layer(model):
    """Name of the last layer whose output is a (batch, H, W, C) map with H, W > 1.

    This is the layer Grad-CAM++ and Score-CAM weight. Raises ``ValueError``
    when the model has none (e.g. a dense or recurrent model).
    """
    for layer in reversed(model.layers):
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and shape[1] is not None and shape[1] > 1 and shape[2] > 1:
            return layer.name
    raise ValueError(
        f"model {model.name!r} has no convolutional feature-map layer "
        "(output of shape (batch, H, W, C) with H, W > 1); CAM methods need one"
    )


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


def _score(classes):
    from tf_keras_vis.utils.scores import CategoricalScore

    return CategoricalScore(classes.tolist())


@contextlib.contextmanager
def _quiet():
    """Hide tf-keras-vis's Keras progress bars and input-structure warnings."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        yield


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
        with _quiet():
            return np.asarray(self._saliency(_score(classes), images), dtype=np.float32)


class SmoothGrad:
    """SmoothGrad (Smilkov et al. 2017): vanilla saliency averaged over noisy copies.

    ``M(x) = 1/n sum_k |dS_c/dx (x + eps_k)|``, ``eps_k ~ N(0, sigma^2)``,
    ``sigma = noise * (max x - min x)``.

    Args:
        model: a Keras image classifier ending in a softmax.
        samples: number of noisy copies ``n`` (>= 1).
        noise: noise level relative to the image's value range (> 0).
        seed: seed of the noise, so maps are reproducible.
    """

    name = "smoothgrad"

    def __init__(self, model, samples=20, noise=0.2, seed=0):
        from tf_keras_vis.saliency import Saliency

        if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
        if not np.isfinite(noise) or noise <= 0:
            raise ValueError(f"noise must be a positive number, got {noise!r}")
        self.model, self.samples, self.noise, self.seed = model, int(samples), float(noise), seed
        self._saliency = Saliency(logits_model(model), clone=False)

    def __call__(self, images, classes):
        images, classes = check_images_and_classes(self.model, images, classes)
        # tf-keras-vis draws SmoothGrad's noise from numpy's global generator;
        # save and restore it so this call leaves no trace on the caller's state.
        saved = np.random.get_state()
        np.random.seed(self.seed)
        try:
            with _quiet():
                maps = self._saliency(_score(classes), images, smooth_samples=self.samples,
                                      smooth_noise=self.noise)
        finally:
            np.random.set_state(saved)
        return np.asarray(maps, dtype=np.float32)


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
    """

    name = "gradcam++"

    def __init__(self, model, layer=None):
        self.model = model
        self.layer = layer if layer is not None else last_feature_map_layer(model)
        self._features_and_scores = _FeatureMapsAndScores(model, self.layer)

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
        return _min_max(upsample_to_input(cam, self._features_and_scores.padding, images.shape[1:3]))


def _min_max(maps):
    """Scale each map to [0, 1] (an all-equal map becomes zeros)."""
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return ((maps - low) / np.where(span > 0, span, 1.0)).astype(np.float32)


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
        batch_size: masked inputs per forward pass.
    """

    name = "scorecam"

    def __init__(self, model, layer=None, batch_size=64):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.model, self.batch_size = model, int(batch_size)
        self.layer = layer if layer is not None else last_feature_map_layer(model)
        self._features_and_scores = _FeatureMapsAndScores(model, self.layer)

    def __call__(self, images, classes):
        images, classes = check_images_and_classes(self.model, images, classes)
        features = np.asarray(self._features_and_scores(images)[0], dtype=np.float32)  # (N, h, w, K)
        count, channels = len(images), features.shape[-1]
        padding, size = self._features_and_scores.padding, images.shape[1:3]
        masks = upsample_to_input(np.moveaxis(features, -1, 1).reshape((-1,) + features.shape[1:3]),
                                  padding, size).reshape((count, channels) + tuple(size))
        low = masks.min(axis=(2, 3), keepdims=True)
        span = masks.max(axis=(2, 3), keepdims=True) - low
        masks = (masks - low) / np.where(span > 0, span, 1.0)
        masked = (images[:, None] * masks[..., None]).reshape((-1,) + images.shape[1:])
        scores = np.concatenate([np.asarray(self._features_and_scores(masked[i:i + self.batch_size])[1])
                                 for i in range(0, len(masked), self.batch_size)])
        scores = scores - scores.max(axis=-1, keepdims=True)
        probabilities = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
        weights = probabilities.reshape(count, channels, -1)[np.arange(count), :, classes]  # (N, K)
        cam = np.maximum(np.einsum("nhwk,nk->nhw", features, weights), 0)
        return _min_max(upsample_to_input(cam, padding, size))


METHODS = {cls.name: cls for cls in (VanillaSaliency, SmoothGrad, GradCAMPlusPlus, ScoreCAM)}


def _check_layer_name(model, layer):
    names = [each.name for each in model.layers]
    if layer not in names:
        raise ValueError(f"layer={layer!r} is not a layer of model {model.name!r}; layers: {names}")


class LetterSaliency:
    """Per-letter saliency over a whole word for a sequence labeller.

    For output position ``t`` with letter ``y_t`` the map is
    ``M_t(x) = |dS_{t, y_t}/dx|`` over every pixel of every letter of the word:
    a bidirectional RNN's decision at ``t`` may use the letters before *and*
    after ``t`` (``o_t = theta(W_f h_t^(f) + W_b h_t^(b))``).

    Args:
        model: a Keras model (batch, T, H, W, 1) -> (batch, T, classes) softmax.

    Call arguments:
        word: (T, H, W) or (T, H, W, 1) letter images of one word (no padding).
        letters: T letter indices to explain; defaults to the model's own
            predictions.

    Returns:
        A dict: ``maps`` (T, T, H, W), row ``t`` scaled to [0, 1] by its
        maximum; ``letter_share`` (T, T), the fraction of row ``t``'s total
        saliency that falls on letter ``s``; ``letters`` (T,) the explained
        letters; ``predicted`` (T,) the model's letters.
    """

    def __init__(self, model):
        self.model = model
        self._logits = logits_model(model)

    def __call__(self, word, letters=None):
        import tensorflow as tf

        word = np.asarray(word, dtype=np.float32)
        if word.ndim == 3:
            word = word[..., None]
        expected = tuple(self.model.inputs[0].shape[2:])
        if word.ndim != 4 or word.shape[1:] != expected or len(word) == 0:
            raise ValueError(f"word has shape {word.shape}; expected (T, ...) letters of shape {expected}, T >= 1")
        if not np.all(np.isfinite(word)):
            raise ValueError("word contains NaN or infinite values")
        steps = len(word)
        x = tf.constant(word[None])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            scores = self._logits(x, training=False)[0]  # (T, classes)
            predicted = np.argmax(scores.numpy(), axis=-1)
            chosen = predicted if letters is None else np.asarray(letters)
            if chosen.shape != (steps,) or not np.issubdtype(chosen.dtype, np.integer):
                raise ValueError(f"letters must be {steps} integers (one per letter), got {letters!r}")
            if chosen.min() < 0 or chosen.max() >= scores.shape[-1]:
                raise ValueError(f"letters must lie in [0, {scores.shape[-1]}), got {chosen.tolist()}")
            targets = [scores[t, int(chosen[t])] for t in range(steps)]
        maps = np.stack([np.abs(tape.gradient(target, x).numpy()[0, ..., 0]) for target in targets])
        del tape
        totals = maps.reshape(steps, -1).sum(axis=1, keepdims=True)
        share = maps.reshape(steps, steps, -1).sum(axis=2) / np.maximum(totals, 1e-12)
        peaks = maps.reshape(steps, -1).max(axis=1)
        scaled = maps / np.maximum(peaks, 1e-12)[:, None, None, None]
        return {"maps": scaled, "letter_share": share, "letters": chosen, "predicted": predicted}


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


def draw_method_figure(method_name, images, maps, labels, predicted, path, model_name="model"):
    """One figure for one method: each column an input digit, its map, true and predicted class."""
    from keras_seq.demos import figures

    count = len(images)
    figure = figures.new_figure(1.55 * count + 1.0, 4.0)
    grid = figure.add_gridspec(2, count, left=0.04, right=0.9, top=0.74, bottom=0.04,
                               wspace=0.1, hspace=0.3)
    drawn = None
    for i in range(count):
        image = np.asarray(images[i]).squeeze()
        correct = labels[i] == predicted[i]
        top = figure.add_subplot(grid[0, i])
        figures.show_image(top, image, title=f"true {labels[i]}, pred {predicted[i]}\n"
                           + ("(correct)" if correct else "(MISCLASSIFIED)"), vmin=0.0, vmax=1.0)
        top.title.set_color("black" if correct else "firebrick")
        bottom = figure.add_subplot(grid[1, i])
        drawn = figures.show_map_over_image(bottom, image, maps[i])
    bar_axes = figure.add_axes([0.92, 0.08, 0.015, 0.32])
    bar = figure.colorbar(drawn, cax=bar_axes)
    bar.set_label("saliency (0-1)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    figure.suptitle(f"{METHOD_TITLES.get(method_name, method_name)}\n{model_name}: "
                    "top row input with true/predicted class, bottom row map over the input",
                    fontsize=10)
    return figures.save_png(figure, path)


def draw_letter_saliency(word, result, truth, path, title="Per-letter saliency"):
    """The word strip once per output letter ``t``, with ``M_t`` over it and letter ``t`` boxed.

    On the right of each row: the share of that row's saliency lying on
    *other* letters (the context the model used).
    """
    from matplotlib.patches import Rectangle

    from keras_seq.demos import figures
    from keras_seq.datasets.ocr_words import LETTERS

    word = np.asarray(word, dtype=np.float32).reshape(result["maps"].shape[1:])
    steps, height, width = word.shape
    strip = np.concatenate(list(word), axis=1)  # (H, T*W)
    row_in = 0.62
    strip_in = row_in * steps * width / height
    left_in, right_in, top_in, bottom_in = 1.5, 2.2, 0.9, 0.15
    fig_w, fig_h = left_in + strip_in + right_in, top_in + bottom_in + steps * row_in * 1.12
    figure = figures.new_figure(fig_w, fig_h)
    drawn = None
    for t in range(steps):
        bottom = (bottom_in + (steps - 1 - t) * row_in * 1.12) / fig_h
        axes = figure.add_axes([left_in / fig_w, bottom, strip_in / fig_w, row_in / fig_h])
        heat = np.concatenate(list(result["maps"][t]), axis=1)
        drawn = figures.show_map_over_image(axes, strip, heat, alpha=0.6)
        axes.add_patch(Rectangle((t * width - 0.5, -0.5), width, height, fill=False,
                                 edgecolor="cyan", linewidth=1.5))
        predicted = LETTERS[int(result["predicted"][t])]
        axes.set_ylabel(f"t={t}: '{truth[t]}' read '{predicted}'", rotation=0, ha="right",
                        va="center", fontsize=8, color="black" if predicted == truth[t] else "firebrick")
        outside = 1.0 - float(result["letter_share"][t, t])
        axes.text(1.02, 0.5, f"{100 * outside:.0f}% on\nother letters", transform=axes.transAxes,
                  fontsize=7, va="center")
    bar_axes = figure.add_axes([(fig_w - 0.75) / fig_w, 0.15, 0.12 / fig_w, 0.6])
    bar = figure.colorbar(drawn, cax=bar_axes)
    bar.set_label("|dS_t/dx|, each row scaled to max 1", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    figure.suptitle(f"{title}: word '{truth}'\nrow t: which pixels of the whole word decided "
                    "letter t (boxed)", fontsize=9, y=1 - 0.12 / fig_h)
    return figures.save_png(figure, path)


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
    import pathlib

    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise ValueError(f"methods {unknown} are unknown; choose from {list(METHODS)}")
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
    """``python -m keras_seq.demos.saliency --model FILE [--out DIR] [--count N]``."""
    from keras_seq.demos.model_files import digit_model_main

    return digit_model_main(argv, "python -m keras_seq.demos.saliency", main.__doc__, 8, _explain)


def _explain(model, out, count, model_path):
    from keras_seq.datasets import mnist

    (_, _), (x_test, y_test) = mnist.load_data()
    images = (x_test[:count, ..., None] / 255.0).astype(np.float32)
    result = explain_digits(model, images, y_test[:count], out=out, model_name=model_path)
    for path in result["paths"]:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
