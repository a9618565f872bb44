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
- ``RUN_TIME_LIMIT``, ``RUN_MEMORY_LIMIT``: the defaults of the bounds on
  each run of a model's graph and on the load-time probe
  (:mod:`keras_seq.export.sandbox`): seconds per run (a chunk of at most
  ``PROBE_BATCH`` samples), resident bytes of the process running it.
  Measured (``benchmarks/run_limits.py --peak``, 2 shared cores), the
  largest runs of the project's models take: the handwriting model on 256
  words of 512 letters 7.4 s and 3.9 GiB; the word reader on 256 strips 512
  columns wide 2.5 s and 1.3 GiB (2048 wide: over 4 GiB); LeNet-5 on 256
  digits 4 ms and 47 MiB. Hence 60 s, and half this machine's memory
  (at least 4 GiB): a runaway is stopped before it takes the machine.
- ``MIN_ADDRESS_SPACE``: the least address space a run's process is given
  (also never more than this process's own limit, ``ulimit -v``).
"""

import os
import resource

from keras_seq.arguments import integer, positive_real

MAX_NUM_THREADS = 4 * (os.cpu_count() or 1)
PROBE_BATCH = 256
PROBE_LENGTH = 32
MAX_IMAGE_PIXELS = 25_000_000
RUN_TIME_LIMIT = 60.0
RUN_MEMORY_LIMIT = max(4 << 30, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
MIN_MEMORY_LIMIT = 64 << 20
MIN_ADDRESS_SPACE = 8 << 30
POLL_SECONDS = 0.02


def thread_count(num_threads):
    """``None`` (LiteRT's default) or an int in 1..``MAX_NUM_THREADS``; raises ``ValueError`` otherwise."""
    return integer(num_threads, "num_threads", minimum=1, maximum=MAX_NUM_THREADS, allow_none=True)


def time_limit(seconds):
    """A time limit in seconds: a finite number > 0; raises ``ValueError`` otherwise."""
    return positive_real(seconds, "time_limit")


def memory_limit(nbytes):
    """A memory limit in bytes: an int >= ``MIN_MEMORY_LIMIT`` (64 MiB); raises ``ValueError`` otherwise."""
    return integer(nbytes, "memory_limit", minimum=MIN_MEMORY_LIMIT)


def address_space_cap(memory_limit):
    """``(cap, inherited)``: the address space a run's process gets, and whether this process's own
    limit (``ulimit -v``) set it rather than ``max(MIN_ADDRESS_SPACE, 2 * memory_limit)``."""
    wanted = max(MIN_ADDRESS_SPACE, 2 * memory_limit)
    own = [v for v in resource.getrlimit(resource.RLIMIT_AS) if v != resource.RLIM_INFINITY]
    cap = min([wanted] + own)
    return cap, cap < wanted


def describe_bytes(nbytes):
    """``nbytes`` for a message: ``"4 GiB"``, ``"300 MiB"``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes} bytes"
