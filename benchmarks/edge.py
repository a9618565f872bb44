"""Edge export benchmark: fused-LSTM latency against its peers, int8 against float32, sizes, parity.

Measured side by side in one process, alternating, medians of several rounds
(latency as CPU time of the calling thread, with wall time alongside):

1. A 100-step, 128-unit LSTM classifier, the same weights exported three ways:
   our fused export (``keras_seq.export.to_tflite``), the stock Keras 3 export (the
   converter's ``WHILE`` loop, ``fuse_lstm=False``), and tf-keras's fused
   export (built in a child process with ``TF_USE_LEGACY_KERAS=1``; needs the
   ``bench`` extra, ``pip install tf-keras``). Targets: >= 1.8x faster than
   Keras 3's, within 10% of tf-keras's. Timed with XNNPACK (LiteRT's
   default), with the builtin kernels only, and (``invoke()`` alone) with
   LiteRT's reference kernels: the fused op taking as long with the
   reference kernels as with the optimized ones shows that this LiteRT build
   has no faster float code for it, while XNNPACK speeds up the loop's
   ``FULLY_CONNECTED`` ops. Then the same LSTM quantized: ours against Keras
   3's with int8 weights (dynamic range), ours fully int8 against float32.
2. The CNN+BiLSTM handwriting model: fused against the Keras 3 loop, parity
   at each word's length.
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
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

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


def median_ms(samples):
    return 1000 * statistics.median(samples)


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


def lstm_section(rounds, folder, results):
    print(f"\n== 1. LSTM classifier: {STEPS} steps x {FEATURES} features, {UNITS} units, batch 1 ==")
    x_in = keras.Input((STEPS, FEATURES))
    model = keras.Model(x_in, keras.layers.Dense(CLASSES, activation="softmax")(keras.layers.LSTM(UNITS)(x_in)))
    x = np.random.default_rng(0).standard_normal((8, STEPS, FEATURES)).astype(np.float32)
    files = {"ours (fused)": to_tflite(model), "keras 3 (WHILE)": to_tflite(model, fuse_lstm=False)}
    legacy = tf_keras_export(model, folder)
    if legacy is not None:
        files["tf-keras (fused)"] = legacy
    edges = {name: EdgeModel(data, num_threads=1) for name, data in files.items()}
    for name, edge in edges.items():
        report = op_report(edge)
        print(f"  {name:18s} {len(files[name]):8d} bytes  fused LSTM ops {report.fused_recurrent}  "
              f"WHILE {report.loops}  parity: {parity(model, edge, x)}")
    sample = x[:1]
    results["lstm"] = {"sizes": {n: len(d) for n, d in files.items()}}
    for xnnpack in (True, False):
        label = "with XNNPACK (LiteRT default)" if xnnpack else "builtin kernels only (no XNNPACK)"
        timed = {n: EdgeModel(d, num_threads=1, xnnpack=xnnpack) for n, d in files.items()}
        latency = time_side_by_side({n: (lambda e=e: e.predict(sample)) for n, e in timed.items()}, rounds, 20)
        print(f"  -- latency (thread CPU time), {label}, median of {rounds} alternating rounds:")
        for name, seconds in latency.items():
            print(f"     {name:18s} {1000 * seconds:7.3f} ms   (wall {1000 * WALL[name]:7.3f} ms)")
        ours = latency["ours (fused)"]
        row = {"latency_ms": {n: 1000 * s for n, s in latency.items()},
               "speedup_vs_keras3": latency["keras 3 (WHILE)"] / ours}
        print(f"     ours vs keras 3: {row['speedup_vs_keras3']:.2f}x faster (target >= 1.8x)")
        if "tf-keras (fused)" in latency:
            row["ratio_vs_tf_keras"] = ours / latency["tf-keras (fused)"]
            print(f"     ours / tf-keras latency: {row['ratio_vs_tf_keras']:.3f} (target 0.90-1.10)")
        results["lstm"]["xnnpack" if xnnpack else "builtin"] = row
    reference_kernels_row(files, sample, rounds, results)
    quantized_lstm_rows(model, x, rounds, results)


def reference_kernels_row(files, sample, rounds, results):
    """The same files with LiteRT's reference (unoptimized) kernels, timing
    ``invoke()`` alone. If a kernel takes as long here as with the optimized
    kernels, the build has no faster code for it."""
    interpreters = {}
    for name, data in files.items():
        interpreter = Interpreter(
            model_content=data, num_threads=1,
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        )
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
        interpreters[name] = interpreter
    latency = time_side_by_side({n: i.invoke for n, i in interpreters.items()}, rounds, 5)
    print(f"  -- invoke() with LiteRT's reference kernels (BUILTIN_REF), median of {rounds} rounds:")
    for name, seconds in latency.items():
        print(f"     {name:18s} {1000 * seconds:7.3f} ms")
    results["lstm"]["reference_kernels_ms"] = {n: 1000 * s for n, s in latency.items()}


def quantized_lstm_rows(model, x, rounds, results):
    """Ours (fused) against the Keras 3 loop with int8 weights (dynamic
    range), and ours fully int8 (calibrated on ``x``) against ours float32;
    LiteRT's default kernels. (A fully int8 Keras 3 loop cannot be made:
    TensorFlow's calibrator crashes on loops, and ``to_tflite`` refuses it.)"""
    sample = x[:1]
    files = {
        "ours float32": to_tflite(model),
        "ours dynamic": to_tflite(model, quantization="dynamic"),
        "keras 3 dynamic": to_tflite(model, quantization="dynamic", fuse_lstm=False),
        "ours int8": to_tflite(model, quantization="int8", representative_data=x),
    }
    edges = {n: EdgeModel(d, num_threads=1) for n, d in files.items()}
    latency = time_side_by_side({n: (lambda e=e: e.predict(sample)) for n, e in edges.items()}, rounds, 20)
    print(f"  -- quantized, latency (thread CPU time, XNNPACK), median of {rounds} rounds:")
    for name, seconds in latency.items():
        print(f"     {name:18s} {1000 * seconds:7.3f} ms  {len(files[name]):8d} bytes  "
              f"parity: {parity(model, edges[name], x)}")
    print(f"     dynamic: ours vs keras 3: {latency['keras 3 dynamic'] / latency['ours dynamic']:.2f}x faster;"
          f" int8 vs float32 (ours): {latency['ours float32'] / latency['ours int8']:.2f}x as fast")
    results["lstm"]["quantized"] = {
        "latency_ms": {n: 1000 * s for n, s in latency.items()},
        "bytes": {n: len(d) for n, d in files.items()},
    }


def handwriting_section(rounds, results):
    print("\n== 2. Handwriting CNN+BiLSTM (untrained weights), one word at its own length ==")
    model = handwriting()
    chosen = words("test", 200)
    x, _, mask = chosen.padded()
    lengths = mask.sum(axis=1)
    fused, loop = to_tflite(model), to_tflite(model, fuse_lstm=False)
    edges = {"ours (fused)": EdgeModel(fused, num_threads=1), "keras 3 (WHILE)": EdgeModel(loop, num_threads=1)}
    for name, edge in edges.items():
        report = op_report(edge)
        print(f"  {name:18s} {len(fused if 'fused' in name else loop):8d} bytes  fused LSTM ops "
              f"{report.fused_recurrent}  WHILE {report.loops}  parity on {len(chosen)} words: "
              f"{parity(model, edge, x, lengths=lengths)}")
    word = [x[0, :lengths[0]]]
    latency = time_side_by_side({n: (lambda e=e: e.predict(word)) for n, e in edges.items()}, rounds, 10)
    for name, seconds in latency.items():
        print(f"  latency (thread CPU) per {lengths[0]}-letter word {name:18s} median {1000 * seconds:7.3f} ms"
              f"   (wall {1000 * WALL[name]:7.3f} ms)")
    speedup = latency["keras 3 (WHILE)"] / latency["ours (fused)"]
    print(f"  ours vs keras 3: {speedup:.2f}x faster")
    results["handwriting"] = {"latency_ms": {n: 1000 * s for n, s in latency.items()}, "speedup_vs_keras3": speedup}


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
            timed = {q: EdgeModel(files[q], num_threads=1, xnnpack=xnnpack) for q in ("float32", "int8")}
            for batch in (1, 64):
                sample = x_test[:batch]
                latency = time_side_by_side(
                    {q: (lambda e=e: e.predict(sample)) for q, e in timed.items()}, rounds, 20
                )
                label = "XNNPACK" if xnnpack else "builtin"
                print(f"    latency (thread CPU, {label:7s}) batch {batch:2d}: float32 {1000 * latency['float32']:.3f} ms, "
                      f"int8 {1000 * latency['int8']:.3f} ms (int8 {latency['float32'] / latency['int8']:.2f}x "
                      "as fast)")
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
