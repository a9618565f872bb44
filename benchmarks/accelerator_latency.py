"""Per model, ms per inference on LiteRT.js's wasm (CPU) and webgpu (GPU) in Chromium, and in Python's CompiledModel.

Each model the project builds (untrained weights: latency does not depend
on them) is exported with ``to_tflite(model, batch_size=1)`` (sequence models
at a fixed length or width; the digits RNN and the word reader also with
their recurrence looped and unrolled), and its op report's GPU verdict
printed. Then:

- wasm / webgpu: :class:`keras_seq.demos.browser_runner.BrowserRunner`, the
  web page's own runtime.js in headless Chromium: the median of ``--runs``
  runs of one input after a first run, and whether every op ran on the GPU;
- compiled-model: :class:`keras_seq.export.EdgeModel` with
  ``runtime="compiled-model"`` (LiteRT's CompiledModel, CPU), the median of
  ``--runs`` ``predict`` calls on the same input.

Where the machine has no GPU (this one), Chromium's WebGPU is SwiftShader, a
software adapter: its figures say what the delegate accepts and how the
file runs on it, not how fast a real GPU is (``--hardware-webgpu`` uses the
machine's GPU). Medians of ``--rounds`` rounds of those medians.

    python benchmarks/accelerator_latency.py --runs 30 --rounds 3
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq import export  # noqa: E402
from keras_seq.demos.browser_runner import BrowserRunner  # noqa: E402
from keras_seq.models import digits_rnn, handwriting, lenet5, word_reader  # noqa: E402
from keras_seq.models.handwriting import letters_in_batch  # noqa: E402
from keras_seq.models.word_reader import fixed_width_copy  # noqa: E402

WORD_LENGTH = 10      # the handwriting model's fixed length
READER_WIDTH = 256    # the word reader's fixed width (word_strips.MAX_WIDTH, as the web page runs it)


def files():
    """``{name: bytes}``: every model family, exported as the web page and the phone would run them."""
    keras.utils.set_random_seed(0)
    return {
        "lenet5 modern": export.to_tflite(lenet5("modern"), batch_size=1),
        "lenet5 faithful": export.to_tflite(lenet5("faithful"), batch_size=1),
        "digits_rnn (default lowering)": export.to_tflite(digits_rnn(), batch_size=1),
        "digits_rnn recurrent='loop'": export.to_tflite(digits_rnn(), batch_size=1, recurrent="loop"),
        "digits_rnn recurrent='unroll'": export.to_tflite(digits_rnn(), batch_size=1, recurrent="unroll"),
        f"handwriting L={WORD_LENGTH}": export.to_tflite(letters_in_batch(handwriting()), batch_size=1,
                                                         max_length=WORD_LENGTH),
        f"word_reader W={READER_WIDTH}": export.to_tflite(fixed_width_copy(word_reader(), READER_WIDTH),
                                                          batch_size=1),
        f"word_reader W={READER_WIDTH} unroll": export.to_tflite(fixed_width_copy(word_reader(), READER_WIDTH),
                                                                 batch_size=1, recurrent="unroll"),
    }


def python_ms(data, x, runs):
    edge = export.EdgeModel(data, verify=False, runtime="compiled-model")
    edge.predict(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        edge.predict(x)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def browser_ms(browser, data, x, accelerator, runs):
    """(median ms, note): the note says where it ran when not wholly on ``accelerator``."""
    try:
        run = browser.run(data, x, accelerator=accelerator, repeats=runs)
    except RuntimeError as error:
        return None, "fails: " + str(error).splitlines()[0][-90:]
    if run.ran_on != accelerator:
        return run.median_ms, f"ran on {run.ran_on}"
    if not run.fully_accelerated:
        return run.median_ms, f"{len(run.cpu_ops)} op kind(s) on the CPU"
    return run.median_ms, ""


def _median_cell(values):
    values = [v for v in values if v is not None]
    return f"{statistics.median(values):8.2f}" if values else f"{'-':>8s}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per measurement (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported (default 3)")
    parser.add_argument("--hardware-webgpu", action="store_true",
                        help="use the machine's GPU for WebGPU instead of Chromium's software adapter")
    args = parser.parse_args()
    models = files()
    rng = np.random.default_rng(0)
    inputs = {}
    for name, data in models.items():
        shape = export.EdgeModel(data, verify=False).input_shape
        inputs[name] = rng.random(shape, dtype=np.float32)
    results = {name: {"wasm": [], "webgpu": [], "compiled-model": []} for name in models}
    notes = {name: {} for name in models}
    with BrowserRunner(software_webgpu=not args.hardware_webgpu) as browser:
        print(f"WebGPU: {browser.webgpu}")
        for _ in range(args.rounds):
            for name, data in models.items():
                for accelerator in ("wasm", "webgpu"):
                    ms, note = browser_ms(browser, data, inputs[name], accelerator, args.runs)
                    results[name][accelerator].append(ms)
                    notes[name][accelerator] = note
                results[name]["compiled-model"].append(python_ms(data, inputs[name], args.runs))
    print(f"\nms per inference, batch 1, median of {args.rounds} rounds x {args.runs} runs")
    print(f"{'model':32s} {'gpu verdict':12s} {'wasm':>8s} {'webgpu':>8s} {'compiled-model':>15s}  notes")
    for name, data in models.items():
        report = export.op_report(data)
        cell = {a: _median_cell(values) for a, values in results[name].items()}
        verdict = "delegated" if report.gpu_delegated else "not"
        note = "; ".join(f"{a}: {n}" for a, n in notes[name].items() if n)
        print(f"{name:32s} {verdict:12s} {cell['wasm']} {cell['webgpu']} {cell['compiled-model']:>15s}  {note}")
        if not report.gpu_delegated:
            print(f"{'':32s} report: {'; '.join(report.gpu)[:160]}")


if __name__ == "__main__":
    main()
