"""Word reader (CNN + BiLSTM + CTC) per held-out fold: CER and word accuracy for Keras, float32 and int8 .tflite.

For each fold K it uses the run folder ``RUNS/foldK`` of
``keras-seq train words --test-fold K --out RUNS/foldK`` (training it first
when ``model.keras`` is missing), then reads the fold's real word strips and
500 synthetic strings of its letters with:

- Keras (each batch padded, the column mask inside the model);
- the float32 ``.tflite`` at the fixed width of 256 columns with the mask
  (the recurrence as a loop: what every LiteRT runtime loads);
- the int8 ``.tflite`` that ``keras-seq export --quantize int8`` writes
  (weights and activations int8, calibrated on the command's 200 strips of
  the training folds: real, augmented and natural handwriting of training
  writers), whose LSTMs are TFLite's fused LSTM op: it has no mask, so this
  file has a dynamic width, runs each word at its own width and loads in the
  classic interpreter only;
- the int8 file that loads in every runtime (``int8-unroll``:
  ``--quantize int8 --recurrent unroll``, the same calibration padded to the
  fixed 256 columns): the recurrence unrolled, no loop for the calibrator;
- int8 weights with float activations, unrolled (``int8-weights-unroll``:
  ``--quantize dynamic --recurrent unroll``), the small file LiteRT's GPU
  accelerator can take whole.

Each file's size, the runtimes that load it and the GPU verdict of its op
report are printed beside its scores; ``--browser N`` runs the fixed-width
files in LiteRT.js on wasm and WebGPU (Chromium's software adapter) on N
real strips and counts the readings equal to Python's.

It also reads natural handwriting no training run sees
(``keras_seq.datasets.natural_writing.HELD_OUT_SETS``: the held-out Hershey
faces and fonts writing 60 common English words, twice over with two seeds:
joined stroke cursive dark on light and white on black at phone-canvas size,
print fonts, cursive fonts, and the print fonts' words in capitals), and with ``--canvas`` the ten recorded words of
``tests/demos/canvas_words.json`` replayed with real mouse events on the web
page's "write a word" canvas in Chromium (the float32 file in LiteRT.js,
greedy decoding as the page does). ``--figure`` draws what it reads and
misreads. Each natural set of several writers is also read per writer
alone (Keras, beam).

CER = total edit distance / total characters; word accuracy = share read
exactly; greedy and beam (width 8) decoding. Latency per word: the median
over 3 repeats of the median time to read 40 real words one by one
(run + beam decoding); the .tflite files with one interpreter thread, Keras
as a ``tf.function`` traced once for any width. Targets (issue 15): CER <= 4 % and
word accuracy >= 85 % on the real strips, int8 within 0.5 points of float32;
(issue 19): real CER <= 3 % and words >= 85 %; held-out natural writing CER
<= 10 % and words >= 60 %; >= 8/10 canvas words.

    nice python benchmarks/word_reader.py --runs runs --folds 0 --canvas --figure docs/natural_reading.png
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_seq.datasets import natural_writing, word_strips  # noqa: E402
from keras_seq.export import EdgeModel, bundled_inputs, op_report, to_tflite, word_image  # noqa: E402
from keras_seq.export.export_command import BUNDLED_CALIBRATION_INPUTS  # noqa: E402
from keras_seq.models import ctc  # noqa: E402
from keras_seq.models.word_reader import fixed_width_copy  # noqa: E402
from keras_seq.quiet_output import quiet_native_output  # noqa: E402
from keras_seq.training import words  # noqa: E402

CALIBRATION_STRIPS = BUNDLED_CALIBRATION_INPUTS  # what keras-seq export calibrates on
LATENCY_WORDS = 40
REPEATS = 3
NATURAL_SEEDS = (0, 1)
RUNTIMES = ("keras", "float32", "int8", "int8-unroll", "int8-weights-unroll")
CANVAS_WORDS = pathlib.Path(__file__).resolve().parents[1] / "tests" / "demos" / "canvas_words.json"


def natural_sets():
    """Each held-out natural set: EVALUATION_WORDS written with every seed of NATURAL_SEEDS."""
    sets = {}
    for name in natural_writing.HELD_OUT_SETS:
        strips = [natural_writing.held_out_strips(name, seed=seed) for seed in NATURAL_SEEDS]
        sets[f"natural: {name}"] = sum(strips[1:], strips[0])
    return sets


def by_writer(dynamic, limit=None):
    """Keras beam scores of each held-out natural set with several writers, per writer alone:
    {set: {writer: scores}} (the same texts and seeds as :func:`natural_sets`)."""
    scores = {}
    for name in natural_writing.HELD_OUT_SETS:
        writers = natural_writing.held_out_writers(name)
        if len(writers) < 2:
            continue
        scores[name] = {}
        for writer in writers:
            strips = [natural_writing.held_out_strips(name, seed=seed, writer=writer) for seed in NATURAL_SEEDS]
            strips = sum(strips[1:], strips[0])
            if limit:
                strips = word_strips.Strips(strips.images[:limit], strips.texts[:limit])
            scores[name][writer] = scores_of(words.read_strips(dynamic, strips, "beam"), strips)
    return scores


def canvas_readings(fixed, screenshot=None, path=None):
    """The recorded words written with mouse events on the page's canvas: [(text, reading)];
    ``screenshot``: also save the "write a word" panel after the first word (PNG)."""
    import shutil
    import tempfile

    from playwright.sync_api import sync_playwright
    from web_latency import CHROMIUM_ARGS, write_word   # this folder's web benchmark

    from keras_seq.datasets import ocr_words
    from keras_seq.demos import model_files
    from keras_seq.demos.web_server import SiteServer
    from keras_seq.demos.web_site import build_site
    from keras_seq.models import handwriting

    digits = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    letters = handwriting(units=4, filters=(4, 4), features=8)   # the other panels are not measured here
    folder = pathlib.Path(tempfile.mkdtemp(prefix="canvas-words-")) / "web"
    build_site(folder, digits, letters, np.zeros((4, 28, 28, 1), np.float32), ocr_words.load_words().split(0)[1],
               fixed, word_count=2, about_reader=model_files.describe_word_reader(fixed, path))
    recorded = json.loads(CANVAS_WORDS.read_text())["words"]
    results = []
    with SiteServer(folder) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(server.url)
        page.evaluate("window.kerasSeqDemo.ready.then(() => null)")
        for text, strokes in recorded.items():
            last = write_word(page, strokes, steps=1)   # the recorded points, one mouse move each
            results.append((text, last.get("text", f"(refused: {last.get('refused')})")))
            if screenshot and len(results) == 1:
                page.locator("#write-panel").screenshot(path=str(screenshot))
        browser.close()
    return results


def reading_figure(path, dynamic, sets, per_set=6):
    """A figure: for each natural set, ``per_set`` strips with what the reader read (green right, red wrong)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in sets if n.startswith("natural: ")]
    fig, axes = plt.subplots(len(names), per_set, figsize=(2.4 * per_set, 1.25 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        strips = sets[name]
        readings = words.read_strips(dynamic, strips, "beam")
        wrong = [i for i, r in enumerate(readings) if r.text != strips.texts[i]]
        right = [i for i, r in enumerate(readings) if r.text == strips.texts[i]]
        chosen = (right[: per_set - min(2, len(wrong))] + wrong[:2])[:per_set]
        for ax, i in zip(row, chosen):
            ax.imshow(strips.images[i], cmap="gray_r", vmin=0, vmax=1, aspect="equal")
            ok = readings[i].text == strips.texts[i]
            ax.set_title(f"{readings[i].text or '(nothing)'}" + ("" if ok else f" ({strips.texts[i]})"),
                         color="green" if ok else "red", fontsize=9)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name.removeprefix("natural: ").replace(", ", ",\n"), fontsize=7, rotation=0,
                          ha="right", va="center")
    fig.suptitle("What the reader reads in held-out natural writing (red: misread, the truth in brackets)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def trained_model(runs, fold, epochs):
    folder = pathlib.Path(runs) / f"fold{fold}"
    if not (folder / "metrics.json").exists():
        command = [sys.executable, "-m", "keras_seq", "train", "words", "--test-fold", str(fold),
                   "--epochs", str(epochs), "--seed", str(fold), "--out", str(folder)]
        print("training:", " ".join(command), flush=True)
        subprocess.run(command, check=True)
    return keras.saving.load_model(folder / "model.keras"), json.loads((folder / "metrics.json").read_text())


def scores_of(readings, strips):
    return words.reading_scores([r.text for r in readings], strips.texts)


def tflite_scores(edge, strips):
    """Greedy and beam scores of a ``.tflite`` file on :class:`Strips` (one run per strip)."""
    probabilities = word_image.symbol_probabilities(edge, strips.images)
    return {method: scores_of([ctc.decode_ctc(p[None], method=method)[0] for p in probabilities], strips)
            for method in ctc.METHODS}


def latency(read_one, strips):
    """Median over REPEATS of the median seconds to read one word (LATENCY_WORDS words)."""
    medians = []
    for _ in range(REPEATS):
        times = []
        for strip in strips.images[:LATENCY_WORDS]:
            started = time.perf_counter()
            read_one(strip)
            times.append(time.perf_counter() - started)
        medians.append(statistics.median(times))
    return statistics.median(medians)


def int8_file(model, samples, recurrent):
    """``(file bytes, None)`` or ``(None, why not)``: ``model`` as int8 with ``recurrent``, calibrated on
    ``samples`` (what ``keras-seq export --quantize int8`` calibrates on)."""
    try:
        with quiet_native_output():  # the calibrator's "fully_quantize: ..." line
            return to_tflite(model, quantization="int8", representative_data=samples, recurrent=recurrent), None
    except (ValueError, RuntimeError) as error:
        return None, f"{type(error).__name__}: {error}"


def in_browser(files, strips, count):
    """Each portable file (fixed width) run in LiteRT.js on wasm and WebGPU (Chromium's software adapter) on the
    first ``count`` strips: {file: {accelerator: {"same_reading", "largest_difference", "whole", "words"}}},
    readings and probabilities against the same file in Python (greedy, as the page decodes)."""
    from keras_seq.demos.browser_runner import BrowserRunner

    results = {}
    with BrowserRunner() as browser:
        for name, data in files.items():
            edge = EdgeModel(data, verify=False)
            width = edge.input_shape[2]
            if width < 0:
                continue  # a dynamic width: LiteRT.js does not load it
            results[name] = {}
            inputs = [word_strips.model_input([strip], width=width) for strip in strips.images[:count]]
            expected_outputs = [edge.predict(x) for x in inputs]
            for accelerator in ("wasm", "webgpu"):
                same, largest, whole = 0, 0.0, True
                for strip, x, expected in zip(strips.images, inputs, expected_outputs):
                    try:
                        run = browser.run(data, x, accelerator=accelerator)
                    except RuntimeError as error:  # e.g. a loop on WebGPU: LiteRT.js cannot split it
                        results[name][accelerator] = {"error": str(error).splitlines()[0][:200]}
                        break
                    whole = whole and run.ran_on == accelerator and run.fully_accelerated
                    largest = max(largest, float(np.abs(run.output - expected).max()))
                    steps = strip.shape[1] // 2
                    same += (ctc.decode_ctc(run.output[:, :steps], method="greedy")[0].text
                             == ctc.decode_ctc(expected[:, :steps], method="greedy")[0].text)
                else:
                    results[name][accelerator] = {"same_reading": same, "words": min(count, len(strips)),
                                                  "largest_difference": largest, "whole": whole}
    return results


def run_fold(fold, args):
    fixed, trained = trained_model(args.runs, fold, args.epochs)
    dynamic = fixed_width_copy(fixed, None)
    data = words.words_data(fold)
    sets = {"real": data.test_real, "synthetic": data.test_synthetic, **natural_sets()}
    if args.limit:
        sets = {k: word_strips.Strips(v.images[:args.limit], v.texts[:args.limit]) for k, v in sets.items()}
    result = {"fold": fold, "epochs": trained["epochs"], "training_words": trained["training_words"]}
    calibration = bundled_inputs.strip_samples(bundled_inputs.training_word_strips(CALIBRATION_STRIPS, fold))
    files = {"float32": (to_tflite(fixed), None),
             "int8": int8_file(dynamic, calibration, "fused-lstm"),
             "int8-unroll": int8_file(fixed, calibration, "unroll"),
             "int8-weights-unroll": (to_tflite(fixed, quantization="dynamic", recurrent="unroll"), None)}
    edges = {}
    for runtime, (data_bytes, error) in files.items():
        result[f"{runtime}_bytes"], result[f"{runtime}_error"] = len(data_bytes) if data_bytes else None, error
        if data_bytes:
            edges[runtime] = EdgeModel(data_bytes, verify=False, num_threads=1)
            report = op_report(data_bytes)
            result[f"{runtime}_loads_in"] = list(report.loads_in)
            result[f"{runtime}_gpu"] = "whole" if report.gpu_delegated else "; ".join(report.gpu)
    for kind, strips in sets.items():
        for method in ctc.METHODS:
            result[f"keras_{kind}_{method}"] = scores_of(words.read_strips(dynamic, strips, method), strips)
        for runtime, edge in edges.items():
            for method, scores in tflite_scores(edge, strips).items():
                result[f"{runtime}_{kind}_{method}"] = scores

    if args.browser:
        portable = {name: file_bytes for name, (file_bytes, _) in files.items() if file_bytes and name != "int8"}
        result["browser"] = in_browser(portable, data.test_real, args.browser)
    result["by_writer"] = by_writer(dynamic, args.limit)
    forward = tf.function(lambda x: dynamic(x, training=False),
                          input_signature=[tf.TensorSpec((1, word_strips.HEIGHT, None, 2))])

    def keras_one(strip):  # one traced graph for every width
        p = np.asarray(forward(word_strips.model_input([strip])))
        return ctc.decode_ctc(p, method="beam")

    if args.figure:
        reading_figure(args.figure, dynamic, sets)
    if args.canvas:
        model_file = pathlib.Path(args.runs) / f"fold{fold}" / "model.keras"
        result["canvas"] = canvas_readings(fixed, args.canvas_screenshot, model_file)
    result["latency_seconds"] = {"keras": latency(keras_one, data.test_real)}
    for runtime, edge in edges.items():
        result["latency_seconds"][runtime] = latency(lambda s, edge=edge: word_image.read_word(edge, s), data.test_real)
    return result


def percent(scores):
    return f"{100 * scores['cer']:6.2f} {100 * scores['word_accuracy']:6.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help="folder of the run folders fold0, fold1, ...")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30, help="epochs for folds not trained yet")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N strips of each set (quick runs)")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--canvas", action="store_true",
                        help="also write the recorded words on the web page's canvas in Chromium (first fold)")
    parser.add_argument("--browser", type=int, default=0, metavar="N",
                        help="also run the fixed-width files in LiteRT.js on wasm and WebGPU (Chromium's software "
                             "adapter) on the first N real strips")
    parser.add_argument("--figure", default=None, help="draw what the first fold's reader reads here (PNG)")
    parser.add_argument("--canvas-screenshot", default=None, help="with --canvas: the write panel after the first word")
    args = parser.parse_args(argv)
    if len(args.folds) < 1:
        parser.error("give at least one fold")
    results = []
    for fold in args.folds:
        result = run_fold(fold, args)
        results.append(result)
        print(f"fold {fold} ({result['epochs']} epochs): CER % / word accuracy %", flush=True)
        for runtime in RUNTIMES:
            if f"{runtime}_real_greedy" not in result:
                print(f"  {runtime:<19} not available: {result[f'{runtime}_error']}")
                continue
            if runtime != "keras":
                print(f"  {runtime:<19} file: {result[f'{runtime}_bytes'] / 1024:.0f} KiB, loads in "
                      + ", ".join(result[f"{runtime}_loads_in"]) + f"; GPU accelerator: {result[f'{runtime}_gpu']}")
            print(f"  {runtime:<19} real greedy {percent(result[f'{runtime}_real_greedy'])}  beam "
                  f"{percent(result[f'{runtime}_real_beam'])} | synthetic greedy "
                  f"{percent(result[f'{runtime}_synthetic_greedy'])}  beam "
                  f"{percent(result[f'{runtime}_synthetic_beam'])} | "
                  f"{1000 * result['latency_seconds'].get(runtime, float('nan')):.1f} ms/word")
            for kind in (k.removeprefix(f"{runtime}_").removesuffix("_beam") for k in result
                         if k.startswith(f"{runtime}_natural: ") and k.endswith("_beam")):
                print(f"           {kind:<52} greedy {percent(result[f'{runtime}_{kind}_greedy'])}  beam "
                      f"{percent(result[f'{runtime}_{kind}_beam'])}")
        for name, writers in result["by_writer"].items():
            print(f"  keras    {name}, each writer alone (beam): "
                  + "; ".join(f"{writer} {percent(scores)}" for writer, scores in writers.items()))
        for name, accelerators in result.get("browser", {}).items():
            print(f"  {name:<19} in LiteRT.js: " + "; ".join(
                f"{accelerator} failed: {r['error']}" if "error" in r else
                f"{accelerator} {r['same_reading']}/{r['words']} real words read as in Python, largest "
                f"probability difference {r['largest_difference']:.1e}, {'whole' if r['whole'] else 'NOT whole'} "
                f"on {accelerator}" for accelerator, r in accelerators.items()))
        if "canvas" in result:
            right = sum(text == read for text, read in result["canvas"])
            print(f"  canvas (Chromium, LiteRT.js, mouse events, greedy): {right}/{len(result['canvas'])} words: "
                  + ", ".join(f"{t}->{r}" for t, r in result["canvas"]))
        args.canvas, args.figure = False, None   # the first fold's reader only
    print("mean over folds " + " ".join(map(str, args.folds)) + " (beam):")
    kinds = ["real", "synthetic"] + [f"natural: {name}" for name in natural_writing.HELD_OUT_SETS]
    for runtime in RUNTIMES:
        for kind in kinds:
            key = f"{runtime}_{kind}_beam"
            if all(key in r for r in results):
                cer = statistics.mean(r[key]["cer"] for r in results)
                accuracy = statistics.mean(r[key]["word_accuracy"] for r in results)
                print(f"  {runtime:<19} {kind:<52} CER {100 * cer:6.2f} %  word accuracy {100 * accuracy:6.2f} %")
    latencies = {k: statistics.median(r["latency_seconds"][k] for r in results if k in r["latency_seconds"])
                 for k in RUNTIMES if any(k in r["latency_seconds"] for r in results)}
    ratio = (f"; float32 .tflite / Keras = {latencies['float32'] / latencies['keras']:.2f}"
             if "keras" in latencies else "")
    print("latency per word (median): " + ", ".join(f"{k} {1000 * v:.1f} ms" for k, v in latencies.items()) + ratio)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
