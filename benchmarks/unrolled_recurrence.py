"""Unrolled recurrence against our WHILE loop, by sequence length: the threshold of ``recurrent="unroll"``.

``to_tflite`` unrolls a fixed-length recurrence (straight-line ops, which
LiteRT's GPU accelerator delegates whole) up to
``keras_seq.export.recurrent_unrolled.UNROLL_MAX_STEPS`` steps and loops
beyond. This measures, for one model exported both ways at each T:

* file size (bytes) and conversion time (seconds, median of ``--conversions``);
* ms per inference in the classic interpreter with XNNPACK (LiteRT's CPU
  default), batch 1, one thread, thread CPU time (not counting time other
  processes hold the cores), median of ``--rounds`` rounds of ``--repeats``
  calls, the two files alternating each round.

Models: ``lstm`` is digits_rnn's recurrence (LSTM(128) over 28 features, the
last output), ``bilstm`` the handwriting/word reader's (Bidirectional
LSTM(128) over 128 features, every output, masked).

Run: ``python benchmarks/unrolled_recurrence.py`` (about 10 minutes on 2
busy cores); ``--steps 8 28`` for fewer lengths. The unrolled file must not
be slower than the loop for T <= 28.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq.export import to_tflite  # noqa: E402
from keras_seq.export.runners import InterpreterRunner  # noqa: E402
from keras_seq.layers import LSTM, Bidirectional  # noqa: E402
from keras_seq.quiet_output import quiet_native_output  # noqa: E402

STEPS = (8, 16, 28, 64, 128, 256)


def model_for(kind, steps):
    if kind == "lstm":
        x = keras.Input((steps, 28))
        h = LSTM(128)(x)
    else:
        x = keras.Input((steps, 128))
        h = Bidirectional(LSTM(128, return_sequences=True))(keras.layers.Masking(0.0)(x))
    return keras.Model(x, keras.layers.Dense(27)(h), name=f"{kind}_{steps}")


def convert(model, recurrent, times):
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        with quiet_native_output():
            data = to_tflite(model, recurrent=recurrent)
        seconds.append(time.perf_counter() - start)
    return data, statistics.median(seconds)


def ms_per_inference(files, x, rounds, repeats):
    runners = {name: InterpreterRunner(data, num_threads=1) for name, data in files.items()}
    for runner in runners.values():
        runner.run(x)  # warm up
    times = {name: [] for name in runners}
    names = list(runners)
    for r in range(rounds):
        for name in names[r % 2:] + names[:r % 2]:
            start = time.thread_time()
            for _ in range(repeats):
                runners[name].run(x)
            times[name].append((time.thread_time() - start) / repeats * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    parser.add_argument("--models", nargs="+", choices=("lstm", "bilstm"), default=["lstm", "bilstm"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--conversions", type=int, default=3)
    args = parser.parse_args(argv)
    print("| model | T | loop KiB | unroll KiB | loop convert s | unroll convert s | loop ms | unroll ms |"
          " unroll/loop |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.models:
        for steps in args.steps:
            keras.utils.set_random_seed(0)
            model = model_for(kind, steps)
            loop, loop_s = convert(model, "loop", args.conversions)
            unrolled, unroll_s = convert(model, "unroll", args.conversions)
            x = np.random.default_rng(0).standard_normal((1,) + tuple(model.inputs[0].shape[1:]))
            x = x.astype(np.float32)
            ms = ms_per_inference({"loop": loop, "unroll": unrolled}, x, args.rounds, args.repeats)
            print(f"| {kind} | {steps} | {len(loop) / 1024:.1f} | {len(unrolled) / 1024:.1f} | {loop_s:.2f} |"
                  f" {unroll_s:.2f} | {ms['loop']:.3f} | {ms['unroll']:.3f} | {ms['unroll'] / ms['loop']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
