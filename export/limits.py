"""The documented bounds on what a model file, an image or a caller can make the runtime use.

- ``MAX_NUM_THREADS``: interpreter threads, 4 x the CPU count. More only
  adds contention, and LiteRT misbehaves far beyond it (tens of thousands of
  threads crash it when freed or hang the builtin kernels).
- ``PROBE_BATCH``: the batch the load-time probe runs (besides 1);
  ``EdgeModel.predict`` runs a dynamic batch in chunks no larger, so it
  never runs a shape larger than one that was tried in a child process.
- ``PROBE_LENGTH``: the length other dynamic axes (a time axis) are probed at.
- ``MAX_IMAGE_PIXELS``: width x height of an input image, read from the
  file's header before any pixel is decoded (25 megapixels: a 6000x4000
  photo fits; decoded as float32 it takes 100 MB).
"""

import os

from keras_seq.arguments import integer

MAX_NUM_THREADS = 4 * (os.cpu_count() or 1)
PROBE_BATCH = 256
PROBE_LENGTH = 32
MAX_IMAGE_PIXELS = 25_000_000


def thread_count(num_threads):
    """``None`` (LiteRT's default) or an int in 1..``MAX_NUM_THREADS``; raises ``ValueError`` otherwise."""
    return integer(num_threads, "num_threads", minimum=1, maximum=MAX_NUM_THREADS, allow_none=True)
