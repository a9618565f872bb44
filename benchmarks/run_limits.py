"""What the run limits cost, and how far their defaults are from what real models use.

Two measurements, for ``export/limits.py``'s ``RUN_TIME_LIMIT`` and
``RUN_MEMORY_LIMIT`` and for the README:

- ``--cost``: ``EdgeModel.predict`` (every run in a child process, time
  and memory bounded: :mod:`keras_seq.export.sandbox`) against the same
  ``EdgeModel`` with its runner swapped for an in-process one (what
  ``predict`` was before), interleaved, median of ``--repeats`` calls per
  batch size.
- ``--peak``: for each ``.tflite`` given, the longest single run and the
  child's peak resident memory (``VmHWM``) at batch ``limits.PROBE_BATCH``
  (the largest chunk ``predict`` runs) and, for a dynamic time or width
  axis, at ``--length`` steps.

Run::

    python benchmarks/run_limits.py --cost FILE.tflite [--repeats 50]
    python benchmarks/run_limits.py --peak FILE.tflite ... [--length 512]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np


def _input(edge, batch, length, rng):
    shape = [batch] + [d if d > 0 else length for d in edge.input_shape[1:]]
    return rng.uniform(0, 1, shape).astype(np.float32)


def cost(path, repeats):
    from keras_seq.export import EdgeModel
    from keras_seq.export.runners import CompiledModelRunner, InterpreterRunner

    isolated = EdgeModel(path)
    inline = EdgeModel(path)
    runner = CompiledModelRunner if inline.runtime == "compiled-model" else InterpreterRunner
    inline._runner = runner(inline.data)  # the same runtime in this process: predict without the limits
    rng = np.random.default_rng(0)
    print(f"{path}: runtime {isolated.runtime}, median of {repeats} calls, ms")
    print(f"{'batch':>6s} {'in-process':>11s} {'bounded':>9s} {'cost':>8s}")
    for batch in (1, 32, 256):
        x = _input(isolated, batch, 64, rng)
        times = {"inline": [], "isolated": []}
        for _ in range(repeats):
            for name, edge in (("inline", inline), ("isolated", isolated)):
                started = time.perf_counter()
                edge.predict(x)
                times[name].append(1000 * (time.perf_counter() - started))
        a, b = statistics.median(times["inline"]), statistics.median(times["isolated"])
        print(f"{batch:6d} {a:11.3f} {b:9.3f} {b - a:+8.3f}")


def _peak_probe(data, shape):
    """In the child: run once at ``shape``; return (seconds, peak resident bytes)."""
    from keras_seq.export.runners import InterpreterRunner

    runner = InterpreterRunner(data)
    x = np.random.default_rng(0).uniform(0, 1, shape).astype(runner.input_detail["dtype"])
    runner.run(x)
    started = time.perf_counter()
    runner.run(x, reset=True)
    seconds = time.perf_counter() - started
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
    return seconds, peak


class _Peak:
    """A served object for the sandbox: one measurement."""

    def __init__(self, data, shape):
        self.result = _peak_probe(data, shape)


def peak(paths, length):
    from keras_seq.export import EdgeModel, limits
    from keras_seq.export.sandbox import Sandbox

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import run_limits  # the child process imports _Peak from here (it has no __main__ of ours)

    for path in paths:
        edge = EdgeModel(path)
        shape = [limits.PROBE_BATCH if edge.input_shape[0] < 0 else edge.input_shape[0]]
        shape += [d if d > 0 else length for d in edge.input_shape[1:]]
        sandbox = Sandbox(path)
        seconds, resident = sandbox.start(run_limits._Peak, (edge.data, shape), ("result",))["result"]
        sandbox.close()
        print(f"{path}: input {tuple(shape)}: one run {seconds:.3f} s, peak resident "
              f"{resident / 2**20:.0f} MiB (limits: {limits.RUN_TIME_LIMIT:g} s, "
              f"{limits.describe_bytes(limits.RUN_MEMORY_LIMIT)})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", metavar="FILE")
    parser.add_argument("--peak", nargs="+", metavar="FILE")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--length", type=int, default=512)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.cost:
        cost(args.cost, args.repeats)
    if args.peak:
        peak(args.peak, args.length)
    return 0


if __name__ == "__main__":
    sys.exit(main())
