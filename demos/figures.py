"""Readable PNG figures for the demos, written atomically.

Every figure is drawn with matplotlib's non-interactive ``Agg`` backend on a
``Figure`` object (never ``pyplot``'s global figure list), has a title, axis
labels or colour bars, and is saved to a temporary file in the target folder
before ``os.replace`` moves it into place, so an interrupted demo never
leaves half a PNG behind. Sizes are fixed (``figsize * dpi`` pixels, no tight
bounding box), so a caller knows the PNG's size in advance.
"""

import pathlib

import numpy as np

DPI = 100
MAP_COLORMAP = "inferno"
DIVERGING_COLORMAP = "RdBu_r"


def new_figure(width_in, height_in):
    """Return a fresh Agg-backed ``matplotlib.figure.Figure`` of the given inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def figure_pixels(figure):
    """The ``(width, height)`` in pixels the PNG of ``figure`` will have."""
    width_in, height_in = figure.get_size_inches()
    return int(round(width_in * DPI)), int(round(height_in * DPI))


def save_png(figure, path):
    """Write ``figure`` to ``path`` as a PNG atomically; return the path.

    The parent folder must exist and be writable; otherwise ``OSError`` names it.
    """
    from keras_seq.atomic_files import replacing

    with replacing(path) as temporary:
        with open(temporary, "wb") as stream:
            figure.savefig(stream, format="png", dpi=DPI)
    return pathlib.Path(path)


def show_image(axes, image, title=None, cmap="gray", vmin=None, vmax=None):
    """Draw a 2-D image without ticks; return the ``AxesImage``."""
    drawn = axes.imshow(np.asarray(image), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    if title:
        axes.set_title(title, fontsize=9)
    return drawn


def show_map_over_image(axes, image, heat, title=None, alpha=0.55):
    """Draw ``image`` in grey with the map ``heat`` (values 0-1) over it."""
    show_image(axes, image, cmap="gray", vmin=0.0, vmax=1.0)
    drawn = show_image(axes, heat, title=title, cmap=MAP_COLORMAP, vmin=0.0, vmax=1.0)
    drawn.set_alpha(alpha)
    return drawn


def show_matrix(axes, matrix, title=None, fmt="{:g}", cmap=DIVERGING_COLORMAP):
    """Draw a small matrix with each value written in its cell."""
    matrix = np.asarray(matrix, dtype=float)
    limit = float(np.max(np.abs(matrix))) or 1.0
    drawn = show_image(axes, matrix, title=title, cmap=cmap, vmin=-limit, vmax=limit)
    fontsize = 9 if max(matrix.shape) <= 8 else 6
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if abs(value) > 0.6 * limit else "black"
        axes.text(col, row, fmt.format(round(value, 2)), ha="center", va="center",
                  fontsize=fontsize, color=colour)
    return drawn


def png_size(path):
    """Read ``(width, height)`` from a PNG header; raise ``ValueError`` if not a PNG."""
    with open(path, "rb") as stream:
        header = stream.read(24)
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise ValueError(f"{str(path)!r} is not a PNG file")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
