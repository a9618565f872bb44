"""The saliency figures: one per method for a batch of digits, and the per-letter strip of a word."""

import numpy as np

METHOD_TITLES = {
    "vanilla": "Vanilla saliency |dS_c/dx|",
    "smoothgrad": "SmoothGrad (mean |dS_c/dx| over noisy copies)",
    "gradcam++": "Grad-CAM++ (weighted conv feature maps)",
    "scorecam": "Score-CAM (feature maps as masks, gradient free)",
}


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
