"""Speed of our recurrent layers against Keras's own, in one process.

For each pair (our ``LSTM`` vs ``keras.layers.LSTM``, our ``Elman`` vs
``keras.layers.SimpleRNN``, our ``Bidirectional(LSTM)`` vs
``keras.layers.Bidirectional(keras.layers.LSTM)``), a model
``Input(T, features) -> recurrent layer -> Dense(1)`` with the same weights is
timed on ``train_on_batch`` (one training step, Adam, MSE) and on
``predict_on_batch`` (inference latency of one batch). Runs alternate ours,
Keras's, ours, ... and each figure is the median of ``--repeats`` runs; the
ratio ours/Keras at or under 1.0 means ours is no slower.

    python benchmarks/rnn_speed.py              # batch 64, 32 features, 128 units; T=100, 1000
    python benchmarks/rnn_speed.py --steps 100 --repeats 3   # a quicker look

What ours does differently: Keras's TensorFlow LSTM uses a cuDNN kernel only
on GPU; on CPU it runs its cell once per step and differentiates the loop
automatically (the generic gradient of every op of the step). Ours runs the
same forward steps, but training uses a hand-written BPTT
(``keras_seq.layers.bptt_scan``): the forward pass saves the gate
activations, each backward step computes the gates' gradients from them in
closed form, and only ``h_{t-1} W_h`` (forward) and ``dL/dz_t W_h^T``
(backward) lie on the chain from step to step; ``x_t W`` and the weight and
input gradients run beside it, on the second core. A TensorFlow profile of
one LSTM training step (T=300) shows ours and Keras's spending the same time
in matrix products and ours about 10 % more CPU time in elementwise ops (the
per-step sums accumulating the weight gradients, the concatenation of the
four gates' gradients), which is what keeps LSTM training at long T slower.

The machine is shared: runs vary by tens of percent when other processes
compete for the cores; the spread (min-max over the repeats) is printed beside
each median, and the load average before and after is printed.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq import layers  # noqa: E402

PAIRS = {
    "LSTM": (lambda u: layers.LSTM(u), lambda u: keras.layers.LSTM(u)),
    "Elman": (lambda u: layers.Elman(u), lambda u: keras.layers.SimpleRNN(u)),
    "Bidirectional(LSTM)": (
        lambda u: layers.Bidirectional(layers.LSTM(u)),
        lambda u: keras.layers.Bidirectional(keras.layers.LSTM(u)),
    ),
}


def build(make_layer, steps, features, units):
    inputs = keras.Input((steps, features))
    outputs = keras.layers.Dense(1)(make_layer(units)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def timed(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def measure(name, steps, batch, features, units, repeats, calls):
    make_ours, make_keras = PAIRS[name]
    ours = build(make_ours, steps, features, units)
    theirs = build(make_keras, steps, features, units)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    y = rng.normal(size=(batch, 1)).astype("float32")
    gap = np.abs(ours.predict_on_batch(x) - theirs.predict_on_batch(x)).max()
    models = {"ours": ours, "keras": theirs}
    for model in models.values():  # trace and warm up
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    train = {key: [] for key in models}
    infer = {key: [] for key in models}
    for _ in range(repeats):
        for key, model in models.items():
            train[key].append(timed(lambda: model.train_on_batch(x, y), calls))
            infer[key].append(timed(lambda: model.predict_on_batch(x), calls))
    return gap, train, infer


def report(name, steps, gap, train, infer):
    def line(what, times, per_second):
        ours, theirs = statistics.median(times["ours"]), statistics.median(times["keras"])
        spread = {k: (min(v), max(v)) for k, v in times.items()}
        if per_second:
            figures = f"ours {1 / ours:7.2f}/s  keras {1 / theirs:7.2f}/s"
        else:
            figures = f"ours {ours * 1e3:8.2f} ms  keras {theirs * 1e3:8.2f} ms"
        print(
            f"{name:20s} T={steps:<5d} {what:9s} {figures}  time ratio ours/keras "
            f"{ours / theirs:5.2f}  (spread ms: ours {spread['ours'][0] * 1e3:.1f}-"
            f"{spread['ours'][1] * 1e3:.1f}, keras {spread['keras'][0] * 1e3:.1f}-"
            f"{spread['keras'][1] * 1e3:.1f})"
        )

    line("train", train, per_second=True)
    line("inference", infer, per_second=False)
    print(f"{'':20s} max |ours - keras| prediction gap {gap:.2e}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--layers", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7, help="alternating runs per figure")
    parser.add_argument("--calls", type=int, default=3, help="calls averaged within a run")
    args = parser.parse_args(argv)
    print(
        f"batch {args.batch}, {args.features} features, {args.units} units, "
        f"median of {args.repeats} alternating runs x {args.calls} calls; "
        f"keras {keras.__version__}, backend {keras.backend.backend()}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for steps in args.steps:
        for name in args.layers:
            calls = args.calls if steps <= 200 else 1
            gap, train, infer = measure(
                name, steps, args.batch, args.features, args.units, args.repeats, calls
            )
            report(name, steps, gap, train, infer)
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
