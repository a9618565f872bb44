"""Train the handwriting recogniser on the OCR words and print letter and word accuracy per fold.

Two protocols:

- ``nine``: train on nine folds, test on the held-out one (as
  ``keras-seq train handwriting --test-fold K``). Target from the issue: mean
  letter accuracy at or above 95 %.
- ``one``: the dataset paper's harder protocol (Taskar, Guestrin and Koller
  2003): train on one fold (~690 words), test on the other nine.

Letter accuracy counts real letters only (padding excluded); a word is right
when all its letters are.

    nice python benchmarks/handwriting.py --folds 0 1 2 --protocol nine --epochs 15
    nice python benchmarks/handwriting.py --folds 0 1 2 --protocol one --epochs 40
"""

import argparse
import json
import math
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq.datasets import ocr_words  # noqa: E402
from keras_seq.models import handwriting  # noqa: E402
from keras_seq.training import reproducible, tasks, train  # noqa: E402


def split(words, fold, protocol):
    """``(train, test)`` words for ``fold`` under ``protocol`` ("nine" or "one")."""
    others, held_out = words.split(fold)
    return (others, held_out) if protocol == "nine" else (held_out, others)


def run_fold(words, fold, protocol, args):
    train_words, test_words = split(words, fold, protocol)
    maxlen = int(max(train_words.lengths.max(), test_words.lengths.max()))
    x, y, mask = train_words.padded(maxlen=maxlen)
    x_test, y_test, mask_test = test_words.padded(maxlen=maxlen)
    steps = args.epochs * math.ceil(len(x) / args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps, alpha=0.01)
    out = os.path.join(args.out or tempfile.mkdtemp(prefix="handwriting-"), f"{protocol}-fold{fold}")
    started = time.perf_counter()
    result = train(lambda: handwriting(units=args.units), x, y, mask, out_dir=out, epochs=args.epochs,
                   batch_size=args.batch_size, learning_rate=schedule, data_seed=args.seed + fold,
                   run={"benchmark": "handwriting", "protocol": protocol, "fold": fold, "units": args.units},
                   log=lambda line: print(f"{protocol} fold {fold}: {line}", flush=True))
    metrics = tasks.handwriting_metrics(result.model, x_test, y_test, mask_test)
    metrics.update(fold=fold, protocol=protocol, train_words=len(x), seconds=round(time.perf_counter() - started, 1))
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--protocol", choices=("nine", "one", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the run folders (default: temporary)")
    args = parser.parse_args(argv)
    for fold in args.folds:
        ocr_words.check_fold(fold)

    reproducible.set_seed(args.seed)
    words = ocr_words.load_words()
    protocols = ("nine", "one") if args.protocol == "both" else (args.protocol,)
    for protocol in protocols:
        rows = []
        for fold in args.folds:
            rows.append(run_fold(words, fold, protocol, args))
            print(json.dumps(rows[-1]), flush=True)
        letters = np.mean([r["letter_accuracy"] for r in rows])
        words_right = np.mean([r["word_accuracy"] for r in rows])
        what = "train on 9 folds, test on 1" if protocol == "nine" else "train on 1 fold, test on 9"
        print(f"\n{what} ({args.epochs} epochs)")
        print("fold  letter acc  word acc  train words  minutes")
        for r in rows:
            print(f"{r['fold']:>4}  {100 * r['letter_accuracy']:9.2f}%  {100 * r['word_accuracy']:7.2f}%"
                  f"  {r['train_words']:>11}  {r['seconds'] / 60:7.1f}")
        print(f"mean  {100 * letters:9.2f}%  {100 * words_right:7.2f}%", flush=True)
        if protocol == "nine":
            print(f"target: mean letter accuracy >= 95 %: {'met' if letters >= 0.95 else 'NOT met'}")


if __name__ == "__main__":
    main()
