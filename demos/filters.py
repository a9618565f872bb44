"""Named image filters (edges, Laplacian, sharpen, blur) applied with padding and stride variants.

Every kernel ``w`` of ``keras_seq.layers.filter_bank()`` is run through
``keras_seq.layers.FixedConv2D`` (cross-correlation, which deep-learning
libraries call convolution) on a 6x6 worked example image and on an MNIST
digit:

    g(i, j) = sum_{u, v} w(u, v) x(s*i + u, s*j + v)

with ``p`` zeros added on each side; an ``n x n`` input gives
``floor((n + 2p - k) / s) + 1`` rows. The variants are ``p=0, s=1`` (valid),
``p=1, s=1`` (padding keeps the size for a 3x3 kernel), ``p=0, s=2`` and
``p=1, s=2`` (stride downsamples). The 2x2 kernel ``[[0, 1], [1, -2]]``,
a worked example of stride 2, is included as ``stride_example``.

Run ``keras-seq demo filters --out DIR`` (or ``python -m keras_seq.demos.filters``):
one figure per kernel.

Example:
    >>> results = apply_filters()
    >>> results["laplacian"]["six_by_six"]["p=0, s=1"]   # the worked 4x4 answer
"""

import numpy as np

from keras_seq.layers.filter_bank import LECTURE_IMAGE, STRIDE_EXAMPLE_KERNEL

VARIANTS = {
    "p=0, s=1": {"padding": 0, "strides": 1},
    "p=1, s=1": {"padding": 1, "strides": 1},
    "p=0, s=2": {"padding": 0, "strides": 2},
    "p=1, s=2": {"padding": 1, "strides": 2},
}


def lecture_kernels():
    """The named filter bank plus the 2x2 stride example kernel, ``{name: array}``."""
    from keras_seq.layers import filter_bank

    kernels = filter_bank()
    kernels["stride_example"] = STRIDE_EXAMPLE_KERNEL.copy()
    return kernels


def filter_image(image, kernel, padding, strides):
    """Apply one kernel to one 2-D image with ``FixedConv2D``; return the 2-D result."""
    from keras_seq.layers import FixedConv2D

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be a 2-D array, got shape {image.shape}")
    layer = FixedConv2D(kernel, strides=strides, padding=padding)
    return np.asarray(layer(image[None, :, :, None]))[0, :, :, 0]


def apply_filters(digit=None, kernels=None, out=None):
    """Run every kernel and variant on the 6x6 example and on a digit.

    Args:
        digit: a (28, 28) image in [0, 1]; defaults to the first MNIST test digit.
        kernels: ``{name: 2-D array}``; defaults to :func:`lecture_kernels`.
        out: a folder; when given, writes ``filter_<name>.png`` per kernel.

    Returns:
        ``{name: {"kernel": array, "six_by_six": {variant: array},
        "digit": {variant: array}, "path": figure or None}}``; variants are
        the keys of ``VARIANTS``.
    """
    import pathlib

    if digit is None:
        from keras_seq.datasets import mnist

        (_, _), (x_test, _) = mnist.load_data()
        digit = x_test[0] / 255.0
    digit = np.asarray(digit, dtype=np.float32)
    if digit.ndim != 2:
        raise ValueError(f"digit must be a 2-D image, got shape {digit.shape}")
    kernels = lecture_kernels() if kernels is None else kernels
    results = {}
    for name, kernel in kernels.items():
        kernel = np.asarray(kernel, dtype=np.float32)
        entry = {"kernel": kernel, "six_by_six": {}, "digit": {}, "path": None}
        for variant, options in VARIANTS.items():
            entry["six_by_six"][variant] = filter_image(LECTURE_IMAGE, kernel, **options)
            entry["digit"][variant] = filter_image(digit, kernel, **options)
        if out is not None:
            entry["path"] = draw_kernel_figure(name, entry, digit, pathlib.Path(out) / f"filter_{name}.png")
        results[name] = entry
    return results


def draw_kernel_figure(name, entry, digit, path):
    """Kernel, then the 6x6 example (values written) and the digit under every variant."""
    from keras_seq.demos import figures

    columns = 2 + len(VARIANTS)
    figure = figures.new_figure(2.0 * columns + 0.6, 5.2)
    grid = figure.add_gridspec(2, columns, left=0.02, right=0.93, top=0.82, bottom=0.03,
                               wspace=0.18, hspace=0.3)
    figures.show_matrix(figure.add_subplot(grid[0, 0]), entry["kernel"],
                        title=f"kernel '{name}'", fmt="{:.2g}")
    legend = figure.add_subplot(grid[1, 0])
    legend.axis("off")
    legend.text(0.0, 0.5, "p = zeros added\non each side\ns = stride\n\n"
                "out = floor((n+2p-k)/s)+1", fontsize=8, va="center")
    rows = (("six_by_six", LECTURE_IMAGE, "worked example"), ("digit", digit, "MNIST digit"))
    for row, (key, image, label) in enumerate(rows):
        values = [image] + list(entry[key].values())
        limit = max(float(np.abs(v).max()) for v in values[1:]) or 1.0
        input_axes = figure.add_subplot(grid[row, 1])
        figures.show_image(input_axes, image, cmap="Greys" if key == "six_by_six" else "gray",
                           title=f"{label} input {image.shape[0]}x{image.shape[1]}")
        if key == "six_by_six":
            _write_values(input_axes, image)
        drawn = None
        for column, (variant, result) in enumerate(entry[key].items(), start=2):
            axes = figure.add_subplot(grid[row, column])
            drawn = figures.show_image(axes, result, cmap=figures.DIVERGING_COLORMAP,
                                       vmin=-limit, vmax=limit,
                                       title=f"{variant}: {result.shape[0]}x{result.shape[1]}")
            if key == "six_by_six":
                _write_values(axes, result)
        top, height = (0.47, 0.33) if row == 0 else (0.05, 0.33)
        bar = figure.colorbar(drawn, cax=figure.add_axes([0.945, top, 0.012, height]))
        bar.set_label("filter output", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    figure.suptitle(f"Filter '{name}' by cross-correlation g(i,j) = sum w(u,v) x(s*i+u, s*j+v), "
                    "with padding p and stride s\n(top: the 6x6 worked example with values; "
                    "bottom: an MNIST digit)", fontsize=10)
    return figures.save_png(figure, path)


def _write_values(axes, matrix):
    limit = float(np.abs(matrix).max()) or 1.0
    for (row, col), value in np.ndenumerate(matrix):
        axes.text(col, row, f"{value:.3g}", ha="center", va="center", fontsize=7,
                  color="white" if abs(value) > 0.6 * limit else "black")


def run_demo(out, fast=False, progress=None):
    """``keras-seq demo filters``: every kernel and variant, one figure per kernel.

    ``fast`` changes nothing (the demo takes seconds); it is accepted so all
    demos share one signature. Returns :func:`apply_filters`'s dict.
    """
    from keras_seq.demos.progress import Progress

    progress = progress or Progress(total=2)
    progress.step(f"applying {len(lecture_kernels())} kernels x {len(VARIANTS)} padding/stride "
                  "variants to the 6x6 example image and an MNIST digit")
    results = apply_filters(out=out)
    answer = results["laplacian"]["six_by_six"]["p=0, s=1"]
    progress.step("6x6 example * laplacian (p=0, s=1):\n" + np.array2string(answer, precision=0))
    for entry in results.values():
        progress.say(f"  wrote {entry['path']}")
    return results


if __name__ == "__main__":
    from keras_seq.demos.command import main_for

    raise SystemExit(main_for("filters"))
