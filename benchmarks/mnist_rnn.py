"""Train the row-by-row digit LSTM (``digits_rnn``) on the bundled MNIST and print the test error.

Target from the issue: test error at or under 1.2 %. The model reads each
28x28 image as 28 steps of 28 pixels; Adam with a cosine-decayed step size,
the training loop of ``keras-seq train`` (``keras_seq.training.train``).

    nice python benchmarks/mnist_rnn.py --epochs 15
    python benchmarks/mnist_rnn.py --epochs 1 --limit 2000    # a quick look
"""

import argparse
import json
import math
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_seq.models import digits_rnn  # noqa: E402
from keras_seq.training import reproducible, tasks, train  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--limit", type=int, default=None, help="first N train and test images only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    args = parser.parse_args(argv)

    reproducible.set_seed(args.seed)
    (x, y), (x_test, y_test) = tasks.digits_data(args.limit)
    steps = args.epochs * math.ceil(len(x) / args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps, alpha=0.01)
    out = args.out or tempfile.mkdtemp(prefix="mnist-rnn-")
    started = time.perf_counter()
    result = train(lambda: digits_rnn(units=args.units), x, y, out_dir=out, epochs=args.epochs,
                   batch_size=args.batch_size, learning_rate=schedule, global_clipnorm=5.0,
                   data_seed=args.seed, run={"benchmark": "mnist_rnn", "units": args.units})
    metrics = tasks.digits_metrics(result.model, x_test, y_test)
    seconds = time.perf_counter() - started
    print(json.dumps({"units": args.units, "epochs": args.epochs, "train_examples": len(x),
                      "seconds": round(seconds, 1), **metrics}))
    print(f"row-LSTM({args.units}) MNIST test error: {100 * metrics['test_error']:.2f} % "
          f"(target <= 1.2 %) after {args.epochs} epochs, {seconds / 60:.1f} min; run folder {out}")


if __name__ == "__main__":
    main()
