"""keras-seq: hand-written convolutional and recurrent Keras 3 layers.

Subpackages: ``layers``, ``models``, ``training``, ``datasets``.
"""

__version__ = "0.1.0"
