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
busy cores); ``--steps 8 28`` for fewer lengths, ``--units 32`` for narrower
cells.

Measured (2 shared AMD EPYC cores, XNNPACK, batch 1, 1 thread, medians of 7
rounds of 20 calls; LiteRT 2.3 / TF 2.21)::

    | model     | T   | loop KiB | unroll KiB | loop s | unroll s | loop ms | unroll ms | unroll/loop |
    | lstm(128) | 8   | 334.7    | 344.4      | 0.63   | 0.89     | 0.043   | 0.037     | 0.86 |
    | lstm(128) | 16  | 334.9    | 361.1      | 0.47   | 1.01     | 0.081   | 0.083     | 1.03 |
    | lstm(128) | 28  | 334.9    | 385.5      | 0.52   | 1.88     | 0.148   | 0.161     | 1.09 |
    | lstm(128) | 64  | 334.9    | 458.9      | 0.52   | 3.87     | 0.274   | 0.517     | 1.89 |
    | lstm(128) | 128 | 334.9    | 590.7      | 0.52   | 6.77     | 0.546   | 2.674     | 4.90 |
    | lstm(128) | 256 | 334.9    | 853.2      | 0.45   | 19.79    | 1.081   | 4.436     | 4.10 |
    | bilstm(128) | 8   | 1092.0 | 1103.1     | 1.77   | 2.01     | 0.147   | 0.100     | 0.68 |
    | bilstm(128) | 16  | 1097.4 | 1154.9     | 1.76   | 4.42     | 0.313   | 0.316     | 1.01 |
    | bilstm(128) | 28  | 1105.5 | 1230.8     | 1.14   | 4.37     | 0.424   | 0.638     | 1.50 |
    | bilstm(128) | 64  | 1125.2 | 1458.9     | 1.17   | 9.18     | 1.004   | 2.687     | 2.68 |
    | bilstm(128) | 128 | 1161.7 | 1869.0     | 1.39   | 14.35    | 1.885   | 5.269     | 2.80 |
    | bilstm(128) | 256 | 1226.3 | 2685.1     | 0.87   | 38.27    | 3.949   | 11.151    | 2.82 |
    | lstm(32)  | 16  | 40.8     | 66.8       | 0.46   | 1.12     | 0.042   | 0.023     | 0.54 |
    | lstm(32)  | 64  | 40.9     | 165.2      | 0.30   | 3.78     | 0.157   | 0.114     | 0.73 |
    | lstm(32)  | 128 | 40.9     | 297.1      | 0.41   | 11.94    | 0.307   | 0.329     | 1.07 |

The weights are stored once (the file grows about 2 KiB a step: ops and their
tensors). Under XNNPACK an unrolled step costs less than a loop step for short
sequences and more as T x units grows (the loop reuses its few tensors); with
builtin kernels the unrolled file is as fast or faster at every T measured.
Hence the default's limits in ``keras_seq.export.recurrent_unrolled``: at
most 64 steps and T x gates x units <= 16 x 512 (an LSTM(128) up to T=16, an
LSTM(32) up to 64); ``recurrent="unroll"`` unrolls beyond, for the GPU.
Measured here, an LSTM(128) unrolled at T=28 is 1.09-1.5x the loop's time on
XNNPACK (1.03x in a quieter run), so the default loops it.
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


def model_for(kind, steps, units):
    if kind == "lstm":
        x = keras.Input((steps, 28))
        h = LSTM(units)(x)
    else:
        x = keras.Input((steps, 128))
        h = Bidirectional(LSTM(units, return_sequences=True))(keras.layers.Masking(0.0)(x))
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
    parser.add_argument("--units", type=int, default=128, help="LSTM units (per direction)")
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
            model = model_for(kind, steps, args.units)
            loop, loop_s = convert(model, "loop", args.conversions)
            unrolled, unroll_s = convert(model, "unroll", args.conversions)
            x = np.random.default_rng(0).standard_normal((1,) + tuple(model.inputs[0].shape[1:]))
            x = x.astype(np.float32)
            ms = ms_per_inference({"loop": loop, "unroll": unrolled}, x, args.rounds, args.repeats)
            print(f"| {kind}({args.units}) | {steps} | {len(loop) / 1024:.1f} | {len(unrolled) / 1024:.1f} |"
                  f" {loop_s:.2f} | {unroll_s:.2f} | {ms['loop']:.3f} | {ms['unroll']:.3f} |"
                  f" {ms['unroll'] / ms['loop']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
