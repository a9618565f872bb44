"""The saliency demo: the four digit maps and the letter maps drawn as figures.

The methods are the library's, :mod:`keras_seq.saliency`. Run
``python -m keras_seq.demos.saliency --model MODEL.keras`` to draw the four
digit maps for a saved digit model on MNIST test digits.
"""

from keras_seq.demos.saliency.figures import METHOD_TITLES, draw_letter_saliency, draw_method_figure
from keras_seq.demos.saliency.pipeline import FILE_NAMES, METHODS, explain_digits, main

__all__ = ["FILE_NAMES", "METHODS", "METHOD_TITLES", "draw_letter_saliency", "draw_method_figure",
           "explain_digits", "main"]
