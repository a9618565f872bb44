"""The main demo: LeNet-5 on MNIST, exported for a phone, run with LiteRT, explained.

``keras-seq demo`` (= ``keras-seq demo digits``) does, printing progress:

1. trains ``keras_seq.models.lenet5`` on the bundled MNIST training set (or
   loads ``--model``);
2. exports it to float32 and full-int8 ``.tflite`` (``keras_seq.export.to_tflite``,
   int8 calibrated on training digits);
3. runs both with the LiteRT runtime (``export.EdgeModel``) on the full
   10,000-image MNIST test set and prints a table: accuracy, file size,
   latency per image (batch 1, median), and parity with Keras (share of
   identical predicted digits, largest probability difference);
4. writes vanilla saliency, SmoothGrad, Grad-CAM++ and Score-CAM figures
   for correctly and wrongly classified test digits, and the int8 model's
   occlusion map (through LiteRT) beside the Keras gradient map, on the
   digits it is least sure of.

Everything lands in ``out``: ``model.keras``, ``digits_float32.tflite``,
``digits_int8.tflite``, ``metrics.json`` and the PNG figures.

Example:
    >>> from keras_seq.demos.digits import run_demo
    >>> result = run_demo("keras-seq-out", epochs=2)
    >>> result["table"][1]["accuracy"]       # int8 model on the MNIST test set
"""

import json
import pathlib
import sys
import time

import numpy as np

from keras_seq import arguments

DEFAULT_EPOCHS = 2
FAST = {"train_images": 1000, "test_images": 300, "latency_runs": 20, "smoothgrad_samples": 5}
FULL = {"train_images": None, "test_images": None, "latency_runs": 200, "smoothgrad_samples": 10}
BATCH_SIZE = 128
REPRESENTATIVE_IMAGES = 500
EXPLAINED_CORRECT, EXPLAINED_WRONG = 4, 4


def train_lenet5(x, y, epochs, variant="modern", verbose=1):
    """Train ``lenet5(variant)`` with Adam and cross-entropy; return the model.

    ``x`` (N, 28, 28, 1) float32 in [0, 1], ``y`` (N,) digits.
    """
    import keras

    from keras_seq.models import lenet5

    model = lenet5(variant)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, verbose=verbose)
    return model


def median_latency_ms(predict, images, runs):
    """Median wall time of ``predict`` on one image (batch 1), in milliseconds.

    The first call is a warm-up and is not counted.
    """
    predict(images[:1])
    times = []
    for i in range(runs):
        one = images[i % len(images)][None]
        start = time.perf_counter()
        predict(one)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def batched(predict, images, batch_size=1000):
    """Run ``predict`` over ``images`` in chunks and concatenate the outputs."""
    return np.concatenate([np.asarray(predict(images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])


def pick_examples(labels, predicted, correct=EXPLAINED_CORRECT, wrong=EXPLAINED_WRONG):
    """Indices of the first ``correct`` right and first ``wrong`` misclassified images."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    right = np.flatnonzero(labels == predicted)[:correct]
    missed = np.flatnonzero(labels != predicted)[:wrong]
    return np.concatenate([right, missed]).astype(int)


def pick_uncertain(labels, probabilities, correct=2, wrong=2):
    """The ``correct`` right answers with the lowest confidence, then the first ``wrong`` misses.

    Occlusion shows most where the class probability can still move.
    """
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    right = np.flatnonzero(predicted == labels)
    right = right[np.argsort(confidence[right], kind="stable")][:correct]
    missed = np.flatnonzero(predicted != labels)[:wrong]
    return np.concatenate([right, missed]).astype(int)


def format_table(rows):
    """The comparison table as text, one row per model."""
    header = (f"{'model':<16}{'accuracy':>10}{'size':>11}{'latency/img':>13}"
              f"{'same digit':>12}{'max |dp|':>10}")
    lines = [header, "-" * len(header)]
    for row in rows:
        same = "-" if row["agreement"] is None else f"{100 * row['agreement']:.2f}%"
        gap = "-" if row["max_abs_diff"] is None else f"{row['max_abs_diff']:.4f}"
        lines.append(f"{row['model']:<16}{100 * row['accuracy']:>9.2f}%{row['size_bytes'] / 1024:>8.1f} KiB"
                     f"{row['latency_ms']:>10.3f} ms{same:>12}{gap:>10}")
    return "\n".join(lines)


def run_demo(out, epochs=None, fast=False, model_path=None, variant="modern", progress=None):
    """Train (or load), export, evaluate on-device and explain a digit model.

    The arguments are every trained demo's (:mod:`keras_seq.demos.command`);
    ``fast`` trains on 1,000 digits and evaluates on 300, and ``variant`` is
    the ``lenet5`` variant to train, ``"modern"`` or ``"faithful"``.

    Returns:
        A dict: ``table`` (rows for keras, float32 and int8: accuracy,
        size_bytes, latency_ms, agreement, max_abs_diff), ``probabilities``
        ``{name: (N, 10)}`` on the test images, ``labels`` (N,),
        ``saliency`` (see :func:`keras_seq.demos.saliency.explain_digits`),
        ``occlusion`` (see :func:`keras_seq.demos.occlusion.occlusion_vs_gradient`),
        ``explained`` and ``occluded`` test indices, ``paths`` of all written files.
    """
    from keras_seq.atomic_files import write_bytes
    from keras_seq.saving import save_model
    from keras_seq.demos import model_files
    from keras_seq.demos.progress import Progress

    settings = FAST if fast else FULL
    epochs = epochs if epochs is not None else (1 if fast else DEFAULT_EPOCHS)
    arguments.positive_int(epochs, "epochs")
    out = pathlib.Path(out)
    progress = progress or Progress(total=6)

    model = None
    if model_path is not None:
        model = model_files.load_digit_model(model_path)  # fail before anything slow
    (x_train, y_train), (x_test, y_test) = mnist_images(settings["train_images"], settings["test_images"])
    if model is None:
        progress.step(f"training LeNet-5 ({variant}) on {len(x_train)} MNIST digits for {epochs} "
                      f"epoch{'s' if epochs > 1 else ''}")
        model = train_lenet5(x_train, y_train, epochs, variant=variant,
                             verbose=1 if sys.stdout.isatty() else 2)
    else:
        progress.step(f"using {model_path} (no training)")
    paths = {"model": save_model(model, out / "model.keras")}

    progress.step("exporting float32 and int8 .tflite (int8 calibrated on "
                  f"{REPRESENTATIVE_IMAGES} training digits)")
    flatbuffers, edge = export_float32_and_int8(model, x_train[:REPRESENTATIVE_IMAGES], out, paths)

    progress.step(f"evaluating Keras and both .tflite models with LiteRT on {len(x_test)} test digits")
    sizes = {"keras": paths["model"].stat().st_size, **{k: len(v) for k, v in flatbuffers.items()}}
    table, probabilities = compare_on_device(model, edge, sizes, x_test, y_test, settings["latency_runs"])
    progress.say(format_table(table))

    progress.step("saliency (vanilla, SmoothGrad, Grad-CAM++, Score-CAM) on right and wrong digits")
    explained = pick_examples(y_test, probabilities["keras"].argmax(axis=1))
    saliency = explain_with_saliency(model, x_test[explained], y_test[explained], out,
                                     settings["smoothgrad_samples"], progress)

    progress.step("occlusion sensitivity of the int8 model through LiteRT vs the Keras gradient, "
                  "on its least sure right answers and first mistakes")
    uncertain = pick_uncertain(y_test, probabilities["int8"])
    occlusion = explain_with_occlusion(model, edge["int8"], x_test[uncertain], y_test[uncertain], out,
                                       settings["smoothgrad_samples"], progress)

    paths.update({f"figure_{i}": p for i, p in enumerate(saliency["paths"])})
    paths["figure_occlusion"] = occlusion["path"]
    metrics = {"epochs": epochs if model_path is None else None, "model": model.name,
               "train_images": int(len(x_train)), "test_images": int(len(x_test)), "table": table,
               "files": {key: str(path) for key, path in paths.items()}}
    paths["metrics"] = write_bytes(json.dumps(metrics, indent=2).encode(), out / "metrics.json")
    progress.step(f"done in {progress.elapsed():.0f} s; wrote {len(paths)} files to {out}")
    return {"table": table, "probabilities": probabilities, "labels": y_test, "saliency": saliency,
            "occlusion": occlusion, "explained": explained, "occluded": uncertain, "paths": paths}


def mnist_images(train_images=None, test_images=None):
    """The first ``train_images`` and ``test_images`` MNIST digits (all when None), as
    :func:`keras_seq.datasets.mnist.as_images` makes them."""
    from keras_seq.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return ((mnist.as_images(x_train[:train_images]), y_train[:train_images]),
            (mnist.as_images(x_test[:test_images]), y_test[:test_images]))


def export_float32_and_int8(model, representative, out, paths):
    """Convert ``model`` to float32 and int8 ``.tflite`` files in ``out``; return the bytes and ``EdgeModel``s.

    ``paths`` gets ``tflite_float32`` and ``tflite_int8``.
    """
    from keras_seq import export
    from keras_seq.atomic_files import write_bytes

    flatbuffers = {
        "float32": export.to_tflite(model),
        "int8": export.to_tflite(model, quantization="int8", representative_data=representative),
    }
    edge = {}
    for name, data in flatbuffers.items():
        paths[f"tflite_{name}"] = write_bytes(data, out / f"digits_{name}.tflite")
        # verify=False: these bytes were converted in this process just now, so
        # the child-process probe that guards against hostile files is not needed.
        edge[name] = export.EdgeModel(data, verify=False)
    return flatbuffers, edge


def compare_on_device(model, edge, sizes, x_test, y_test, latency_runs):
    """The comparison table (see :func:`format_table`) and each model's test probabilities.

    Rows: Keras, then every ``EdgeModel`` of ``edge``; ``sizes`` gives each
    one's file size in bytes.
    """
    probabilities = {"keras": batched(lambda b: model.predict_on_batch(b), x_test)}
    for name, runtime in edge.items():
        probabilities[name] = batched(runtime.predict, x_test)
    keras_digits = probabilities["keras"].argmax(axis=1)
    latency = {"keras": median_latency_ms(model.predict_on_batch, x_test, latency_runs)}
    for name, runtime in edge.items():
        latency[name] = median_latency_ms(runtime.predict, x_test, latency_runs)
    table = []
    for name, probs in probabilities.items():
        is_keras = name == "keras"
        table.append({
            "model": "Keras" if is_keras else f"TFLite {name}",
            "accuracy": float(np.mean(probs.argmax(axis=1) == y_test)),
            "size_bytes": int(sizes[name]),
            "latency_ms": latency[name],
            "agreement": None if is_keras else float(np.mean(probs.argmax(axis=1) == keras_digits)),
            "max_abs_diff": None if is_keras else float(np.abs(probs - probabilities["keras"]).max()),
        })
    return table, probabilities


def explain_with_saliency(model, images, labels, out, smoothgrad_samples, progress):
    """The four saliency figures for ``images``; says how much of each map lies on the ink."""
    from keras_seq.demos.saliency import explain_digits
    from keras_seq.saliency import ink_contrast

    saliency = explain_digits(model, images, labels, out=out, model_name=model.name,
                              smoothgrad_samples=smoothgrad_samples)
    for name in ("vanilla", "smoothgrad", "gradcam++", "scorecam"):
        progress.say(f"  {name:<11} saliency on ink / on background: {ink_contrast(saliency[name], images):.2f}x")
    return saliency


def explain_with_occlusion(model, edge, images, labels, out, smoothgrad_samples, progress):
    """The int8 model's occlusion maps beside Keras's gradient maps; says how alike they are."""
    from keras_seq.demos.occlusion import occlusion_vs_gradient

    occlusion = occlusion_vs_gradient(model, edge.predict, images, labels, out=out, edge_name="int8 .tflite",
                                      smoothgrad_samples=smoothgrad_samples)
    progress.say(f"  pixel correlation, int8 occlusion vs Keras gradient: "
                 f"{np.round(occlusion['correlation'], 2).tolist()}")
    return occlusion


if __name__ == "__main__":
    from keras_seq.demos.command import main_for

    raise SystemExit(main_for("digits"))
