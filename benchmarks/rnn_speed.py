"""Speed of our recurrent layers against Keras's own, in one process.

For each pair (our ``LSTM`` vs ``keras.layers.LSTM``, our ``Elman`` vs
``keras.layers.SimpleRNN``, our ``Bidirectional(LSTM)`` vs
``keras.layers.Bidirectional(keras.layers.LSTM)``), a model
``Input(T, features) -> recurrent layer -> Dense(1)`` with the same weights is
timed on ``train_on_batch`` (one training step, Adam, MSE) and on
``predict_on_batch`` (inference latency of one batch). Each round times the
four (ours/Keras's x training/inference) in a random order; the ratio printed
is the median over rounds of ours/Keras within a round (two runs close in
time), with its quartiles, so drifts of a shared machine's load cancel. At or
under 1.0 means ours is no slower.

    python benchmarks/rnn_speed.py              # batch 64, 32 features, 128 units; T=100, 1000
    python benchmarks/rnn_speed.py --steps 100 --repeats 3   # a quicker look

What ours does differently: Keras's TensorFlow LSTM uses a cuDNN kernel only
on GPU; on CPU it runs its cell once per step and differentiates the loop
automatically (the generic gradient of every op of the step). Ours runs the
same forward steps, but training uses a hand-written BPTT
(``keras_seq.layers.bptt_scan``): only ``h_{t-1} W_h`` (forward) and
``dL/dz_t W_h^T`` (backward) lie on the chain from step to step; ``x_t W``,
the weight and input gradients and the LSTM's gate-derivative factors are
computed beside it, on the second core, so a backward step's chain is three
elementwise operations, a concatenation and the product.
"""

import argparse
import os
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


def measure(name, steps, batch, features, units, repeats, calls, seed=0):
    """Times of ``repeats`` rounds; each round times ours and Keras's, training
    and inference, in a random order, so drifts of the machine's load hit both
    alike. Returns the prediction gap and {mode: {"ours"|"keras": [seconds]}}."""
    make_ours, make_keras = PAIRS[name]
    ours = build(make_ours, steps, features, units)
    theirs = build(make_keras, steps, features, units)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    y = rng.normal(size=(batch, 1)).astype("float32")
    gap = np.abs(ours.predict_on_batch(x) - theirs.predict_on_batch(x)).max()
    models = {"ours": ours, "keras": theirs}
    runs = {
        "train": lambda model: model.train_on_batch(x, y),
        "inference": lambda model: model.predict_on_batch(x),
    }
    for model in models.values():  # trace and warm up
        for run in runs.values():
            run(model)
    times = {mode: {key: [] for key in models} for mode in runs}
    for _ in range(repeats):
        order = [(mode, key) for mode in runs for key in models]
        rng.shuffle(order)
        for mode, key in order:
            times[mode][key].append(timed(lambda mode=mode, key=key: runs[mode](models[key]), calls))
    return gap, times


def report(name, steps, gap, times):
    """Medians, and the median of the per-round ratios ours/Keras (each ratio
    from two runs close in time) with its quartiles."""
    for mode, by_model in times.items():
        ours, theirs = np.array(by_model["ours"]), np.array(by_model["keras"])
        ratios = ours / theirs
        low, middle, high = np.percentile(ratios, [25, 50, 75])
        if mode == "train":
            figures = f"ours {1 / np.median(ours):7.2f}/s  keras {1 / np.median(theirs):7.2f}/s"
        else:
            figures = f"ours {np.median(ours) * 1e3:8.2f} ms  keras {np.median(theirs) * 1e3:8.2f} ms"
        print(
            f"{name:20s} T={steps:<5d} {mode:9s} {figures}  time ratio ours/keras "
            f"{middle:5.2f}  (quartiles {low:.2f}-{high:.2f})"
        )
    print(f"{'':20s} max |ours - keras| prediction gap {gap:.2e}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--layers", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7, help="rounds per figure")
    parser.add_argument("--calls", type=int, default=3, help="calls averaged within a run")
    args = parser.parse_args(argv)
    print(
        f"batch {args.batch}, {args.features} features, {args.units} units, "
        f"{args.repeats} rounds in random order x {args.calls} calls; "
        f"keras {keras.__version__}, backend {keras.backend.backend()}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for steps in args.steps:
        for name in args.layers:
            calls = args.calls if steps <= 200 else 1
            gap, times = measure(
                name, steps, args.batch, args.features, args.units, args.repeats, calls
            )
            report(name, steps, gap, times)
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
