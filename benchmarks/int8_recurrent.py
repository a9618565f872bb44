"""int8 recurrent files: accuracy against float32, and where each file runs.

For a trained digits RNN (``keras-seq train digits --model rnn``) and, with
``--handwriting``, a trained handwriting BiLSTM (``keras-seq train
handwriting``), exports at batch 1:

- float32 with the default lowering (the reference);
- int8 with ``recurrent="unroll"`` (no control flow: TensorFlow's int8
  calibrator quantizes every step; the file every runtime loads);
- int8 with the default for int8, ``recurrent="fused-lstm"`` (TFLite's fused
  LSTM kernel: the classic interpreter only);
- ``quantization="dynamic"`` (int8 weights, float activations), with the
  default lowering and unrolled.

Each is run by :class:`keras_seq.export.EdgeModel` on the whole test split
(10,000 digits; the held-out fold's words), and its size, the runtimes that
load it and the GPU verdict of its op report are printed beside the accuracy
and its difference from float32 in points. ``--browser`` also runs the
unrolled int8 and int8-weight digits files in Chromium's LiteRT.js (wasm and
WebGPU on the software adapter) on ``--browser-digits`` test digits (and
the handwriting files on ``--browser-words`` test words, padded to the
file's length) and prints how many read the same as Python and the largest
probability difference.

    python benchmarks/int8_recurrent.py --digits runs/digits_rnn/model.keras \
        --handwriting runs/handwriting/model.keras --browser

Measured (2026-12-07; a 12-epoch digits RNN, 98.37 % in Keras; a 10-epoch
fold-0 handwriting model, 99.31 % letters / 96.17 % words):

| file | digits | handwriting letters / words | runs in | GPU |
|---|---|---|---|---|
| float32 (default lowering) | 98.37 % | 99.31 / 96.17 % | all four | no (digits: loop; handwriting: rank 5) |
| int8 unroll | 98.36 % (-0.01), 165 KiB | 99.31 / 96.17 % (+0.00), 535 KiB | all four | digits: whole file |
| int8 fused-lstm | 98.37 % (+0.00), 87 KiB | 99.26 / 96.01 % (-0.04 / -0.16) | interpreter only | no |
| dynamic | 98.36 % (-0.01) | 99.31 / 96.17 % | all four | as float32 |
| dynamic unroll | 98.36 % (-0.01), 153 KiB | 99.31 / 96.17 % | all four | digits: whole file |

The handwriting GPU cells above predate ``to_tflite`` dropping the
letters' last axis (rank 5 -> 4). Re-measured after it (2026-12-07, a
12-epoch digits RNN at 98.76 %, a 10-epoch fold-0 handwriting model at
99.20 % letters / 95.69 % words): digits int8 unroll 98.69 %, dynamic
unroll 98.74 %, both whole on WebGPU with 50/50 digits as Python;
handwriting float32 and every unrolled file pass the GPU check (int8
unroll 99.18 / 95.69 %, dynamic 99.18 / 95.53 %, fused int8 99.13 /
95.37 %). In LiteRT.js on 30 test words: int8 unroll 30/30 as Python on
wasm but 0/30 on WebGPU (every op there; largest probability difference
0.96: the int8 ops joining the letter features to the ink mask), dynamic
unroll 30/30 on both (4.2e-3 on WebGPU). With the mask applied while the
letters are folded into the batch (same weights, ``letters_in_batch``),
int8 unroll is 30/30 on WebGPU too, largest difference 0.0 (digits:
int8 unroll 50/50 on both, 5.9e-2 on WebGPU; dynamic unroll 3.4e-3).

With ai-edge-quantizer 0.10.0 installed (``pip install ai-edge-quantizer``;
not a dependency) it also quantizes our float32 unrolled file (2026-12-07,
the 12-epoch digits RNN, 98.76 % float32): ``static_wi8_ai8`` 98.71 %
(-0.05), 173 KiB, loads in all four runtimes but takes and gives int8
tensors, so the GPU check refuses it and the page cannot feed it;
``dynamic_wi8_afp32`` 98.74 % (-0.02), 151 KiB, whole on WebGPU, 50/50
digits as Python on wasm and WebGPU (3.4e-3), the same as our own dynamic
unroll. Our int8 unroll (98.69 %, float32 in and out, whole on WebGPU) stays
the default.

In LiteRT.js (50 test digits): int8 unroll 50/50 same digit on wasm and on
WebGPU, every op there, probabilities equal to Python's; dynamic unroll
50/50 on both, largest difference 1.2e-7 (wasm) and 3.6e-3 (WebGPU).
"""

import argparse
import contextlib
import io
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_seq import export, saving  # noqa: E402
from keras_seq.export import bundled_inputs  # noqa: E402
from keras_seq.training import tasks  # noqa: E402

CALIBRATION = 200
VARIANTS = {
    "float32": {},
    "int8 unroll": {"quantization": "int8", "recurrent": "unroll"},
    "int8 fused-lstm": {"quantization": "int8", "recurrent": "fused-lstm"},
    "dynamic (int8 weights)": {"quantization": "dynamic"},
    "dynamic unroll": {"quantization": "dynamic", "recurrent": "unroll"},
}


# Google's ai-edge-quantizer (``pip install ai-edge-quantizer``; not a dependency of keras-seq) on our
# float32 unrolled file: its recipe per row.
AI_EDGE_RECIPES = {
    "ai-edge-quantizer int8": "static_wi8_ai8",
    "ai-edge-quantizer int8 weights": "dynamic_wi8_afp32",
}


def exported(model, calibration, **options):
    """``{variant: bytes}`` (a variant the converter refuses maps to its error message), with the
    ``AI_EDGE_RECIPES`` rows when ai-edge-quantizer is installed."""
    files = {}
    for name, variant in VARIANTS.items():
        data = calibration if variant.get("quantization") == "int8" else None
        try:
            files[name] = export.to_tflite(model, batch_size=1, representative_data=data, **options, **variant)
        except export.ConversionError as error:
            files[name] = str(error).splitlines()[0]
    try:
        import ai_edge_quantizer  # noqa: F401
    except ImportError:
        print("  (ai-edge-quantizer is not installed: pip install ai-edge-quantizer for its rows)")
        return files
    unrolled = export.to_tflite(model, batch_size=1, recurrent="unroll", **options)
    for name, recipe_name in AI_EDGE_RECIPES.items():
        files[name] = ai_edge_quantized(unrolled, calibration, recipe_name)
    return files


def ai_edge_quantized(data, calibration, recipe_name):
    """The .tflite ``data`` quantized by ai-edge-quantizer's recipe ``recipe_name``, calibrated on the
    samples ``calibration`` (each zero-padded to the file's input shape), restamped with its digest."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    from keras_seq.export import integrity

    interpreter = Interpreter(model_content=data)
    ((signature, names),) = interpreter.get_signature_list().items()
    (shape,) = [d["shape"] for d in interpreter.get_input_details()]
    tool = quantizer.Quantizer(data)
    tool.load_quantization_recipe(getattr(recipe, recipe_name)())
    ranges = None
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():  # its progress bars and
        warnings.simplefilter("ignore")                                        # debug-mode warning
        if tool.need_calibration:
            ranges = tool.calibrate({signature: _padded(calibration, shape, names["inputs"][0])})
        result = tool.quantize(ranges, enable_progress_report=False, enable_progress_bar=False)
    return integrity.stamp(bytes(result.quantized_model))


def _padded(calibration, shape, name):
    """ai-edge-quantizer's calibration samples: ``{name: sample}``, each zero-padded to ``shape``."""
    samples = []
    for sample in calibration:
        padded = np.zeros(shape[1:], np.float32)
        sample = sample.reshape(sample.shape[:padded.ndim])  # the file drops a letter's channel axis
        padded[tuple(slice(0, n) for n in sample.shape)] = sample
        samples.append({name: padded[None]})
    return samples


def describe(data):
    report = export.op_report(data)
    gpu = "GPU: whole file" if report.gpu_delegated else "GPU: no (" + "; ".join(report.gpu)[:60] + ")"
    return f"{len(data) / 1024:7.1f} KiB  runs in {', '.join(report.loads_in)}  {gpu}"


def digits(path, browser, browser_digits):
    (x_train, _), (x_test, y_test) = tasks.digits_data()
    model = saving.load_keras_model(path)
    files = exported(model, x_train[:CALIBRATION])
    keras_accuracy = float((tasks.predict(model, x_test).argmax(-1) == y_test).mean())
    print(f"digits RNN {path}: Keras {100 * keras_accuracy:.2f} % on {len(y_test)} test digits")
    results = {}
    for name, data in files.items():
        if isinstance(data, str):
            print(f"  {name:<24} not converted: {data}")
            continue
        probabilities = export.EdgeModel(data, verify=False).predict(x_test)
        results[name] = probabilities
        accuracy = float((probabilities.argmax(-1) == y_test).mean())
        reference = float((results["float32"].argmax(-1) == y_test).mean())
        print(f"  {name:<24} {100 * accuracy:6.2f} % ({100 * (accuracy - reference):+.2f} points)  {describe(data)}")
    if browser:
        in_browser(files, results, x_test[:browser_digits])


def in_browser(files, results, x, what="digit"):
    """Each quantized file in LiteRT.js on wasm and WebGPU on the samples ``x`` (batch 1 each): how many
    give Python's answer (every argmax of the last axis) and the largest probability difference."""
    from keras_seq.demos.browser_runner import BrowserRunner

    with BrowserRunner() as runner:
        for name in ("int8 unroll", "dynamic unroll", *AI_EDGE_RECIPES):
            if name not in results:
                continue
            dtype = export.EdgeModel(files[name], verify=False).signature["inputs"][0]["dtype"]
            if dtype != "float32":
                print(f"  {name} in LiteRT.js: not run: it takes {dtype} input, which the page "
                      "(float32 in, float32 out) does not give")
                continue
            for accelerator in ("wasm", "webgpu"):
                worst, agree = 0.0, 0
                try:
                    for i in range(len(x)):
                        python = results[name][i:i + 1]
                        run = runner.run(files[name], x[i:i + 1], accelerator=accelerator)
                        page = np.reshape(run.output, python.shape)
                        worst = max(worst, float(np.abs(page - python).max()))
                        agree += int(np.array_equal(page.argmax(-1), python.argmax(-1)))
                except RuntimeError as error:
                    print(f"  {name} in LiteRT.js {accelerator}: fails: {str(error).splitlines()[0][-90:]}")
                    continue
                print(f"  {name} in LiteRT.js {accelerator} (ran on {run.ran_on}, every op there: "
                      f"{run.fully_accelerated}): {agree}/{len(x)} same {what} as Python, "
                      f"largest probability difference {worst:.1e}")


def handwriting(path, test_fold, browser=False, browser_words=0):
    from keras_seq.datasets import ocr_words
    from keras_seq.demos.handwriting import letter_and_word_accuracy
    from keras_seq.models.handwriting import letters_in_batch

    _, (x_test, y_test, mask) = tasks.handwriting_data(test_fold)
    model = saving.load_keras_model(path)
    _, test = ocr_words.load_words().split(test_fold)
    words = bundled_inputs.word_samples(test)
    # keras-seq export's calibration: training words spread over the set (which is grouped by length),
    # so every length up to max_length is reached (the first 200 words are all 7 or 9 letters long)
    calibration = bundled_inputs.word_samples(bundled_inputs.words("train", CALIBRATION, test_fold))
    files = exported(letters_in_batch(model), calibration, max_length=x_test.shape[1])
    keras_scores = letter_and_word_accuracy(np.asarray(model.predict(x_test, verbose=0)), y_test, mask)
    print(f"handwriting {path} (fold {test_fold}, {len(words)} words): Keras letters "
          f"{100 * keras_scores['letter_accuracy']:.2f} %, words {100 * keras_scores['word_accuracy']:.2f} %")
    reference, results = None, {}
    for name, data in files.items():
        if isinstance(data, str):
            print(f"  {name:<24} not converted: {data}")
            continue
        try:
            edge = export.EdgeModel(data, verify=False)
        except export.ModelFileError as error:
            print(f"  {name:<24} does not load: {str(error).splitlines()[0][:120]}")
            continue
        probabilities = np.zeros(x_test.shape[:2] + (ocr_words.NUM_CLASSES,), np.float32)
        for i, letters in enumerate(edge.predict(words)):
            probabilities[i, :len(letters)] = letters
        scores = letter_and_word_accuracy(probabilities, y_test, mask)
        reference = reference or scores
        results[name] = edge.predict(x_test[:browser_words]) if browser else None
        print(f"  {name:<24} letters {100 * scores['letter_accuracy']:6.2f} % "
              f"({100 * (scores['letter_accuracy'] - reference['letter_accuracy']):+.2f}), words "
              f"{100 * scores['word_accuracy']:6.2f} % "
              f"({100 * (scores['word_accuracy'] - reference['word_accuracy']):+.2f})  {describe(data)}")
    if browser:
        in_browser(files, results, x_test[:browser_words], what="letters of the word")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", required=True, help="a trained digits RNN .keras")
    parser.add_argument("--handwriting", default=None, help="a trained handwriting .keras")
    parser.add_argument("--test-fold", type=int, default=0, help="the handwriting model's held-out fold")
    parser.add_argument("--browser", action="store_true",
                        help="also run the int8 unrolled and int8-weight unrolled files in Chromium")
    parser.add_argument("--browser-digits", type=int, default=50, help="test digits run in the browser")
    parser.add_argument("--browser-words", type=int, default=30, help="test words run in the browser")
    args = parser.parse_args(argv)
    digits(args.digits, args.browser, args.browser_digits)
    if args.handwriting:
        handwriting(args.handwriting, args.test_fold, args.browser, args.browser_words)


if __name__ == "__main__":
    main()
