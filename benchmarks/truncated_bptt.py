"""Truncated BPTT cannot learn dependencies longer than its chunk: a delayed-recall task.

Each sequence is white noise x_t ~ N(0, 1); the target is the input ``delay``
steps back, y_t = x_{t-delay} (0 for t < delay). A model that remembers
reaches a mean squared error near 0; one that cannot reach ~1 (the variance).

Trained with :class:`keras_seq.training.TruncatedBPTT` at several chunk
lengths k, same model, optimizer and steps. The gradient of the loss at t
reaches back only to its chunk's start, so with k <= delay it never connects
y_t to x_{t-delay}, and the error stays near 1; with k > delay it can.

Run: ``python benchmarks/truncated_bptt.py [--delay 4] [--epochs 30]``. Prints
per k the last epoch's training MSE (over all steps, the first ``delay``
of which have zero targets) and the MSE on fresh sequences after step
``delay``.
"""

import argparse

import keras
import numpy as np

from keras_seq import layers
from keras_seq.training import TruncatedBPTT

BATCH = 16


def delayed_recall(n, steps, delay, rng):
    x = rng.normal(size=(n, steps, 1)).astype("float32")
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


def train(k, x, y, x_test, y_test, epochs, seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(batch_shape=(BATCH, None, 1)),
            layers.LSTM(32, return_sequences=True, stateful=True),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01, global_clipnorm=1.0), loss="mse")
    tbptt = TruncatedBPTT(model, k)
    history = tbptt.fit(x, y, epochs=epochs)
    # scored after the first `delay` steps, whose targets are zeros
    delay = int(np.argmax(np.any(y_test != 0, axis=(0, 2))))
    test_mse = float(np.mean((tbptt.predict(x_test)[:, delay:] - y_test[:, delay:]) ** 2))
    return history.history["loss"][-1], test_mse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=int, default=4)
    parser.add_argument("--steps", type=int, default=48, help="sequence length T")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    x, y = delayed_recall(4 * BATCH, args.steps, args.delay, rng)
    x_test, y_test = delayed_recall(BATCH, args.steps, args.delay, rng)
    ks = sorted({max(1, args.delay // 2), args.delay, args.delay + 2, 2 * args.delay + 4, args.steps})
    print(f"delayed recall y_t = x_(t-{args.delay}), T={args.steps}, LSTM(32), {args.epochs} epochs")
    print(f"{'k':>4} {'train MSE':>10} {'test MSE':>9}")
    for k in ks:
        train_mse, test_mse = train(k, x, y, x_test, y_test, args.epochs, args.seed)
        note = "  (k <= delay: gradient never spans the delay)" if k <= args.delay else ""
        print(f"{k:>4} {train_mse:>10.3f} {test_mse:>9.3f}{note}")


if __name__ == "__main__":
    main()
