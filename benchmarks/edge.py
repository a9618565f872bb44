"""Edge export benchmark: our recurrent lowering against the stock converter's, int8 against float32, sizes, parity.

Measured side by side in one process, alternating, medians of several rounds
(latency as CPU time of the calling thread, with wall time alongside):

1. Recurrent layers, the same weights exported three ways: our default
   (``to_tflite``: our lean ``WHILE`` loop, loads in every LiteRT runtime),
   our fused file (``recurrent="fused-lstm"``, classic interpreter only) and
   the stock converter's (``tf.lite.TFLiteConverter.from_keras_model`` on
   ``keras.layers.LSTM``). Cases: a 100-step, 128-unit LSTM returning its
   last output, the same returning every output at T=100 and T=400.
   Timed in the classic interpreter with XNNPACK (LiteRT's default) and with
   builtin kernels, one thread (thread CPU time), and in wall time at
   LiteRT's default thread count. Targets (XNNPACK, 1 thread): ours at
   least 1.1x the stock file's speed for the last output, 1.6x for every
   output at T=100 and 2.5x at T=400; never slower with builtin kernels or
   in wall time. Then the same LSTM quantized (int8 weights for the loop;
   full int8 needs the fused op). With the ``bench`` extra
   (``pip install -e ".[bench]"``) tf-keras's fused export is timed too.
2. The CNN+BiLSTM handwriting model, one word: ours at a fixed length
   (``max_length``, what a phone or LiteRT.js runs), ours at the word's own
   length, fused, and the stock converter's loop; parity at each word's length.
3. LeNet-5 (modern and faithful) trained on MNIST: int8 against float32
   latency, file sizes, and MNIST test accuracy of Keras, float32 and int8
   (``int8-pcd``: with per-channel weight scales for the dense layers too).

Run: ``python benchmarks/edge.py`` (about 10 minutes on 2 idle cores; ``--quick``
trains less and times fewer rounds).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_seq.export import EdgeModel, op_report, parity, to_tflite  # noqa: E402
from keras_seq.export.bundled_inputs import digits, words  # noqa: E402
from keras_seq.models import handwriting, lenet5  # noqa: E402

STEPS, FEATURES, UNITS, CLASSES = 100, 32, 128, 10
WALL = {}  # wall-clock medians of the last time_side_by_side call

TF_KERAS_EXPORT = textwrap.dedent(
    """
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import tensorflow as tf
    import tf_keras
    weights_file, out_file, steps, features, units, classes = sys.argv[1:7]
    steps, features, units, classes = int(steps), int(features), int(units), int(classes)
    model = tf_keras.Sequential([
        tf_keras.Input((steps, features), batch_size=1),
        tf_keras.layers.LSTM(units),
        tf_keras.layers.Dense(classes, activation="softmax"),
    ])
    with np.load(weights_file) as archive:
        model.set_weights([archive[f"w{i}"] for i in range(len(archive.files))])
    run = tf.function(lambda x: model(x))
    concrete = run.get_concrete_function(tf.TensorSpec([1, steps, features], tf.float32))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)
    open(out_file, "wb").write(converter.convert())
    """
)


def time_side_by_side(runners, rounds, repeats):
    """Median seconds per call of each runner, alternating the order every round.

    Timed as CPU seconds of the calling thread (the interpreters run with
    ``num_threads=1``, on this thread): unlike wall time this does not count
    the time other processes hold the cores, so figures from a busy shared
    machine stay comparable. The wall-clock medians are kept too.
    """
    names = list(runners)
    cpu = {name: [] for name in names}
    wall = {name: [] for name in names}
    for name in names:  # warm up
        runners[name]()
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            start_cpu, start_wall = time.thread_time(), time.perf_counter()
            for _ in range(repeats):
                runners[name]()
            cpu[name].append((time.thread_time() - start_cpu) / repeats)
            wall[name].append((time.perf_counter() - start_wall) / repeats)
    WALL.update({name: statistics.median(s) for name, s in wall.items()})
    return {name: statistics.median(s) for name, s in cpu.items()}


def tf_keras_export(model, folder):
    """Export ``model``'s weights through tf-keras's own LSTM in a child process, or None."""
    weights = folder / "lstm_weights.npz"
    np.savez(weights, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    out = folder / "tf_keras.tflite"
    done = subprocess.run(
        [sys.executable, "-c", TF_KERAS_EXPORT, str(weights), str(out), str(STEPS), str(FEATURES),
         str(UNITS), str(CLASSES)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        print("  tf-keras export unavailable:", (done.stderr.strip().splitlines() or ["?"])[-1])
        return None
    return out.read_bytes()


def stock_file(model, shape):
    """The stock converter's file for ``model`` (its layers traced as they are, weights
    frozen as constants) at a fixed input ``shape``, batch included."""
    values = [(v, tf.constant(keras.ops.convert_to_numpy(v.value))) for v in model.variables]

    def call(x):
        with keras.StatelessScope(state_mapping=values):
            return model(x, training=False)

    serve = tf.function(call)
    concrete = serve.get_concrete_function(tf.TensorSpec(shape, tf.float32))
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], model).convert()


def time_files(files, sample, rounds, repeats, **edge_options):
    """Median thread-CPU seconds per ``predict(sample)`` of each file, alternating."""
    edges = {n: EdgeModel(d, verify=False, **edge_options) for n, d in files.items()}
    return time_side_by_side({n: (lambda e=e: e.predict(sample)) for n, e in edges.items()}, rounds, repeats)


def print_latency(label, latency, ours, peer, target=None):
    print(f"  -- {label}:")
    for name, seconds in latency.items():
        print(f"     {name:18s} {1000 * seconds:7.3f} ms   (wall {1000 * WALL[name]:7.3f} ms)")
    speedup = latency[peer] / latency[ours]
    wall = WALL[peer] / WALL[ours]
    goal = f" (target >= {target}x)" if target else " (target >= 1.0x)"
    print(f"     {ours} vs {peer}: {speedup:.2f}x as fast in CPU time{goal}, {wall:.2f}x in wall time")
    return {"latency_ms": {n: 1000 * s for n, s in latency.items()}, "speedup": speedup, "wall_speedup": wall}


LSTM_CASES = (("last output", STEPS, False, 1.1), ("every output", STEPS, True, 1.6), ("every output", 400, True, 2.5))


def lstm_section(rounds, folder, results):
    results["lstm"] = {}
    for label, steps, sequences, target in LSTM_CASES:
        print(f"\n== 1. LSTM, {label}: {steps} steps x {FEATURES} features, {UNITS} units + Dense, batch 1 ==")
        x_in = keras.Input((steps, FEATURES), batch_size=1)
        h = keras.layers.LSTM(UNITS, return_sequences=sequences)(x_in)
        model = keras.Model(x_in, keras.layers.Dense(CLASSES)(h))
        files = {
            "ours (loop)": to_tflite(model),
            "ours (fused)": to_tflite(model, recurrent="fused-lstm"),
            "stock converter": tf.lite.TFLiteConverter.from_keras_model(model).convert(),
        }
        if not sequences and steps == STEPS:
            legacy = tf_keras_export(model, folder)
            if legacy is not None:
                files["tf-keras (fused)"] = legacy
        x = np.random.default_rng(0).standard_normal((4, steps, FEATURES)).astype(np.float32)
        for name, data in files.items():
            report = op_report(data)
            print(f"  {name:18s} {len(data):8d} bytes  WHILE {report.loops}  fused {report.fused_recurrent}  "
                  f"loads in {', '.join(report.loads_in)}  parity: {parity(model, EdgeModel(data, verify=False), x)}")
        sample, row = x[:1], {}
        row["xnnpack"] = print_latency(
            "XNNPACK, 1 thread (thread CPU time)",
            time_files(files, sample, rounds, 10, num_threads=1, runtime="interpreter"),
            "ours (loop)", "stock converter", target)
        row["builtin"] = print_latency(
            "builtin kernels, 1 thread",
            time_files(files, sample, rounds, 10, num_threads=1, runtime="interpreter", xnnpack=False),
            "ours (loop)", "stock converter")
        row["default_threads"] = print_latency(
            "XNNPACK, LiteRT's default thread count",
            time_files(files, sample, rounds, 10, runtime="interpreter"),
            "ours (loop)", "stock converter")
        loadable = {n: d for n, d in files.items() if "compiled-model" in op_report(d).loads_in}
        row["compiled_model"] = print_latency(
            "CompiledModel (CPU), 1 thread", time_files(loadable, sample, rounds, 10, num_threads=1,
                                                         runtime="compiled-model"),
            "ours (loop)", "stock converter")
        results["lstm"][f"{label} T={steps}"] = row
        if not sequences:
            quantized_lstm_rows(model, x, rounds, results)


def quantized_lstm_rows(model, x, rounds, results):
    """int8 weights (dynamic range) for our loop and the fused op, and the
    fused op fully int8 (calibrated on ``x``): the one recurrent lowering
    TensorFlow's int8 calibrator handles (it crashes on loops, and
    ``to_tflite`` refuses that)."""
    files = {
        "loop float32": to_tflite(model),
        "loop dynamic": to_tflite(model, quantization="dynamic"),
        "fused dynamic": to_tflite(model, quantization="dynamic", recurrent="fused-lstm"),
        "fused int8": to_tflite(model, quantization="int8", representative_data=x),
    }
    latency = time_files(files, x[:1], rounds, 10, num_threads=1, runtime="interpreter")
    print(f"  -- quantized, XNNPACK, 1 thread, median of {rounds} rounds:")
    for name, seconds in latency.items():
        print(f"     {name:18s} {1000 * seconds:7.3f} ms  {len(files[name]):8d} bytes  "
              f"parity: {parity(model, EdgeModel(files[name], verify=False), x)}")
    results["lstm"]["quantized"] = {
        "latency_ms": {n: 1000 * s for n, s in latency.items()},
        "bytes": {n: len(d) for n, d in files.items()},
    }


def handwriting_section(rounds, results):
    print("\n== 2. Handwriting CNN+BiLSTM (untrained weights), one word ==")
    model = handwriting()
    chosen = words("test", 200)
    x, _, mask = chosen.padded()
    lengths = mask.sum(axis=1)
    word_index = int(np.argmax(lengths))
    length = int(lengths[word_index])
    files = {
        "ours (loop, fixed)": to_tflite(model, max_length=x.shape[1]),
        "ours (loop)": to_tflite(model),
        "ours (fused)": to_tflite(model, recurrent="fused-lstm"),
        "stock converter": stock_file(model, (1, length) + x.shape[2:]),
    }
    for name, data in files.items():
        report = op_report(data)
        edge = EdgeModel(data, verify=False)
        agreement = parity(model, edge, x, lengths=lengths) if name != "stock converter" else "(fixed length)"
        print(f"  {name:18s} {len(data):8d} bytes  WHILE {report.loops}  fused {report.fused_recurrent}  "
              f"loads in {', '.join(report.loads_in)}  parity on {len(chosen)} words: {agreement}")
    word = [x[word_index, :length]]
    row = {}
    row["xnnpack"] = print_latency(
        f"one {length}-letter word, XNNPACK, 1 thread",
        time_files(files, word, rounds, 10, num_threads=1, runtime="interpreter"),
        "ours (loop)", "stock converter")
    row["builtin"] = print_latency(
        f"one {length}-letter word, builtin kernels, 1 thread",
        time_files(files, word, rounds, 10, num_threads=1, runtime="interpreter", xnnpack=False),
        "ours (loop)", "stock converter")
    results["handwriting"] = row


def lenet_section(rounds, train_samples, epochs, results):
    print(f"\n== 3. LeNet-5 on MNIST ({train_samples} training images, {epochs} epochs): int8 vs float32 ==")
    (x_train, y_train), (x_test, y_test) = digits("train", train_samples), digits("test", 10000)
    results["lenet5"] = {}
    for variant in ("modern", "faithful"):
        keras.utils.set_random_seed(1)
        model = lenet5(variant)
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
        keras_accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), -1) == y_test))
        files = {
            "float32": to_tflite(model),
            "float16": to_tflite(model, quantization="float16"),
            "dynamic": to_tflite(model, quantization="dynamic"),
            "int8": to_tflite(model, quantization="int8", representative_data=x_train[:200]),
            "int8-pcd": to_tflite(model, quantization="int8", representative_data=x_train[:200],
                                  dense_per_channel=True),
        }
        edges = {q: EdgeModel(d, num_threads=1) for q, d in files.items()}
        row = {"keras_accuracy": keras_accuracy}
        print(f"  {variant}: Keras test accuracy {100 * keras_accuracy:.2f}%")
        for q, edge in edges.items():
            accuracy = float(np.mean(np.argmax(edge.predict(x_test), -1) == y_test))
            fraction = len(files[q]) / len(files["float32"])
            print(f"    {q:8s} {len(files[q]):7d} bytes ({100 * fraction:5.1f}% of float32)  "
                  f"accuracy {100 * accuracy:.2f}% ({100 * (accuracy - keras_accuracy):+.2f} points)  "
                  f"parity on 1000: {parity(model, edge, x_test[:1000])}")
            row[q] = {"bytes": len(files[q]), "fraction_of_float32": fraction, "accuracy": accuracy}
        for xnnpack in (True, False):
            timed = ("float32", "int8")
            for batch in (1, 64):
                latency = time_files(files={q: files[q] for q in timed}, sample=x_test[:batch], rounds=rounds,
                                     repeats=20, num_threads=1, xnnpack=xnnpack)
                label = "XNNPACK" if xnnpack else "builtin"
                print(f"    latency (thread CPU, {label:7s}) batch {batch:2d}: "
                      f"float32 {1000 * latency['float32']:.3f} ms, int8 {1000 * latency['int8']:.3f} ms "
                      f"(int8 {latency['float32'] / latency['int8']:.2f}x as fast)")
                row[f"latency_ms_{label}_batch{batch}"] = {q: 1000 * s for q, s in latency.items()}
        results["lenet5"][variant] = row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train less, time fewer rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds per model")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    train_samples, epochs = (5000, 1) if args.quick else (20000, 2)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        lstm_section(rounds, pathlib.Path(folder), results)
    handwriting_section(rounds, results)
    lenet_section(rounds, train_samples, epochs, results)
    if args.json:
        from keras_seq.atomic_files import write_bytes

        write_bytes(json.dumps(results, indent=2).encode(), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
