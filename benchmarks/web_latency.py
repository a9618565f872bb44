"""The web demo in headless chromium: page-load time and per-inference latency with LiteRT.js.

Builds the demo's site (``keras_seq.demos.web_site``) in a temporary folder,
serves it on 127.0.0.1 and drives Debian's chromium with Playwright:

- page load: from navigation until LiteRT.js and every model are compiled,
  and until the first word is read and explained (``kerasSeqDemo.ready``),
  in a fresh browser context each time;
- per inference: ``runs`` calls of one model on one input inside the page
  (tensor in, run, probabilities out): the median single run and the median
  of batches of ten, for the digit
  model (float32, int8), the word model in its current form (letters
  folded into the batch, Conv2D) and in the old per-letter Conv3D form with
  the same weights, and the CTC word reader (256 columns with a mask, on a
  held-out word's strip); LiteRT's Python interpreter runs the same files in
  the same process as the peer;
- one read of a word written on the "write a word" canvas with mouse
  events: the page's own pixels to its strip, the reader's file, greedy CTC
  decoding (``kerasSeqDemo.write.read()``), against Python on the same
  pixels (the canvas PNG decoded once): ``normalise_strip``,
  ``model_input``, ``EdgeModel.predict`` on the same file, ``decode_ctc``.

Medians of ``--rounds`` rounds.

    python benchmarks/web_latency.py --handwriting keras-seq-out/handwriting.keras --reader keras-seq-out/words.keras
"""

import argparse
import base64
import os
import shutil
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_seq import export  # noqa: E402
from keras_seq.datasets import mnist, ocr_words, word_strips  # noqa: E402
from keras_seq.demos.web_server import SiteServer  # noqa: E402
from keras_seq.export import word_image  # noqa: E402
from keras_seq.demos.web_site import WORD_COUNT, build_site, shipped_words  # noqa: E402
from keras_seq.models import ctc, handwriting, lenet5, word_reader  # noqa: E402
from keras_seq.models.handwriting import letters_in_batch  # noqa: E402
from keras_seq.models.masked_bilstm import masked_bilstm  # noqa: E402

# A word written on the "write a word" canvas: polylines in fractions of the canvas.
WRITTEN_WORD = [[(0.08, 0.35), (0.1, 0.7)], [(0.1, 0.45), (0.16, 0.35), (0.2, 0.7)],
                [(0.2, 0.45), (0.26, 0.35), (0.3, 0.7)],
                [(0.42, 0.4), (0.36, 0.45), (0.35, 0.65), (0.41, 0.7), (0.45, 0.6), (0.43, 0.4), (0.46, 0.7)],
                [(0.52, 0.35), (0.58, 0.7), (0.64, 0.35)],
                [(0.7, 0.55), (0.8, 0.52), (0.76, 0.38), (0.7, 0.45), (0.71, 0.66), (0.8, 0.7)]]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def conv3d_form(model):
    """The same word model built the old way (a (1, 3, 3) Conv3D per letter), with the same weights."""
    names = {layer.name: layer for layer in model.layers}
    words = keras.Input(shape=(None, 16, 8, 1), name="letters")
    x = words
    for block in (1, 2):
        for suffix, strides in (("", (1, 1, 1)), ("_stride2", (1, 2, 2))):
            source = names[f"conv{block}{suffix}"]
            x = keras.layers.Conv3D(source.filters, (1, 3, 3), strides=strides, padding="same",
                                    activation="relu", name=f"conv{block}{suffix}")(x)
    x = keras.layers.Reshape((-1, x.shape[-3] * x.shape[-2] * x.shape[-1]), name="flatten_letters")(x)
    x = keras.layers.Dense(names["letter_features"].units, activation="relu", name="letter_features")(x)
    pixels = keras.layers.Reshape((-1, 16 * 8))(words)
    ink = keras.layers.GlobalMaxPooling1D(data_format="channels_first", keepdims=True)(pixels)  # (B, T, 1)
    x = masked_bilstm(x, ink, names["bidirectional_lstm"].forward_layer.units,
                      names["feature_dropout"].rate if "feature_dropout" in names else 0.0)
    x = keras.layers.Dense(ocr_words.NUM_CLASSES, activation="softmax", name="letter_probabilities")(x)
    old = keras.Model(words, x, name="handwriting")
    for layer in old.layers:
        if layer.weights:
            weights = names[layer.name].get_weights()
            if isinstance(layer, keras.layers.Conv3D):
                weights = [weights[0][None]] + weights[1:]
            layer.set_weights(weights)
    return old


def python_ms(data, x, runs):
    """LiteRT's Python interpreter on the same file: the median of batches of ten runs, per run."""
    edge = export.EdgeModel(data, verify=False)
    edge.predict(x)
    batches = []
    for _ in range(max(1, runs // 10)):
        start = time.perf_counter()
        for _ in range(10):
            edge.predict(x)
        batches.append((time.perf_counter() - start) / 10)
    return 1000 * statistics.median(batches)


def write_word(page, strokes, steps=8):
    """Draw ``strokes`` on the page's word canvas with mouse events (``steps`` moves per segment);
    the page's own reading of the whole drawing."""
    page.get_by_test_id("write-clear").click()
    box = page.get_by_test_id("write-canvas").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y, steps=steps)
        page.mouse.up()
    # every stroke queues a read: the queue's end is the reading of the whole drawing
    return page.evaluate("window.kerasSeqDemo.write.queue.then(() => window.kerasSeqDemo.write.last)")


def python_read_ms(edge, gray, runs):
    """Python on the same pixels and file: normalise_strip + model_input, predict, greedy CTC.

    Returns the medians (ms) of the whole read, of the preprocessing and of the run.
    """
    width = edge.input_shape[2]
    total, preprocess, run = [], [], []
    for _ in range(runs + 5):
        start = time.perf_counter()
        strip = word_strips.normalise_strip(gray, max_width=width)
        x = word_strips.model_input([strip], width)
        prepared = time.perf_counter()
        y = edge.predict(x)[0, : strip.shape[1] // 2]
        ran = time.perf_counter()
        ctc.decode_ctc(y[None], method="greedy")
        total.append(time.perf_counter() - start)
        preprocess.append(prepared - start)
        run.append(ran - prepared)
    return [1000 * statistics.median(times[5:]) for times in (total, preprocess, run)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handwriting", default=None,
                        help="a trained handwriting .keras (default: untrained, full size)")
    parser.add_argument("--digits", default=None, help="a trained digit .keras (default: untrained LeNet-5 modern)")
    parser.add_argument("--reader", default=None,
                        help="a trained CTC word reader .keras, e.g. keras-seq-out/words.keras (default: untrained)")
    parser.add_argument("--runs", type=int, default=200, help="inferences per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loads", type=int, default=5, help="fresh page loads")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--screenshot", default=None, help="also save a screenshot of the page here (PNG)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    digits = keras.saving.load_model(args.digits) if args.digits else lenet5("modern")
    words = letters_in_batch(keras.saving.load_model(args.handwriting)) if args.handwriting else handwriting()
    reader = keras.saving.load_model(args.reader) if args.reader else word_reader()
    (x_train, _), (x_test, _) = mnist.load_data()
    representative = mnist.as_images(x_train[:500])
    _, test = ocr_words.load_words().split(0)
    folder = tempfile.mkdtemp(prefix="web-latency-")
    paths = build_site(os.path.join(folder, "web"), digits, words, representative, test, reader)
    length = int(shipped_words(test, WORD_COUNT).lengths.max())
    old = export.to_tflite(conv3d_form(words), batch_size=1, max_length=length)
    old_path = os.path.join(folder, "web", "models", "handwriting_conv3d.tflite")
    with open(old_path, "wb") as stream:
        stream.write(old)
    digit = mnist.as_images(x_test[:1])
    word, _, _ = test.subset(np.arange(1)).padded(maxlen=length)
    strip = word_strips.model_input(word_strips.real_strips(test.subset(np.arange(1))).images, word_strips.MAX_WIDTH)
    cases = {
        "digits float32": ("./models/digits_float32.tflite", digit, paths["digits_float32"].read_bytes()),
        "digits int8": ("./models/digits_int8.tflite", digit, paths["digits_int8"].read_bytes()),
        "word, Conv2D (now)": ("./models/handwriting.tflite", word, paths["handwriting"].read_bytes()),
        "word, Conv3D (old)": ("./models/handwriting_conv3d.tflite", word, old),
        "word reader, 256 cols": ("./models/word_reader.tflite", strip, paths["word_reader"].read_bytes()),
    }
    with SiteServer(os.path.join(folder, "web")) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        loads, models = [], []
        for _ in range(args.loads):
            context = browser.new_context()
            page = context.new_page()
            page.goto(server.url)
            page.evaluate("window.kerasSeqDemo.ready.then(() => null)")
            loads.append(page.evaluate("window.kerasSeqDemo.readyMs"))
            models.append(page.evaluate("window.kerasSeqDemo.modelsMs"))
            context.close()
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(server.url)
        page.evaluate("window.kerasSeqDemo.ready.then(() => null)")
        # The page's clock ticks in 0.1 ms steps. Two figures per model: the
        # median single run, and the median of batches of ten runs (which
        # also counts the occasional slow run a shared machine causes).
        timing = """async ([url, values, runs]) => {
            for (let i = 0; i < 10; i++) await window.kerasSeqDemo.runModel(url, values);
            const single = [], batches = [];
            for (let b = 0; b < runs / 10; b++) {
                const start = performance.now();
                for (let i = 0; i < 10; i++) {
                    const one = performance.now();
                    await window.kerasSeqDemo.runModel(url, values);
                    single.push(performance.now() - one);
                }
                batches.push((performance.now() - start) / 10);
            }
            const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
            return [median(single), median(batches)];
        }"""
        print(f"page load over {len(loads)} fresh loads (median, min-max), ms since navigation: "
              f"LiteRT.js and the 4 models compiled {statistics.median(models):.0f} "
              f"({min(models):.0f}-{max(models):.0f}); first word read and explained "
              f"{statistics.median(loads):.0f} ({min(loads):.0f}-{max(loads):.0f})")
        print(f"{'model':<22}{'browser ms (single run)':>24}{'(ten-run batch)':>17}{'python ms':>11}"
              f"{'browser/python':>16}")
        results = {}
        for name, (url, x, data) in cases.items():
            rounds = [page.evaluate(timing, [url, x.ravel().tolist(), args.runs]) for _ in range(args.rounds)]
            single = statistics.median(r[0] for r in rounds)
            batch = statistics.median(r[1] for r in rounds)
            peer = statistics.median(python_ms(data, x, args.runs) for _ in range(args.rounds))
            results[name] = single
            print(f"{name:<22}{single:>24.2f}{batch:>17.2f}{peer:>11.3f}{single / peer:>16.2f}", flush=True)
        print(f"word model in the browser (single runs): Conv3D / Conv2D = "
              f"{results['word, Conv3D (old)'] / results['word, Conv2D (now)']:.1f}x; "
              f"target under 2 ms per word: {'met' if results['word, Conv2D (now)'] < 2 else 'NOT met'}")
        written = write_word(page, WRITTEN_WORD)
        if "refused" in written:
            raise SystemExit(f"the written word was refused: {written['message']}")
        png = base64.b64decode(page.evaluate("window.kerasSeqDemo.write.canvasPNG()").split(",", 1)[1])
        with open(os.path.join(folder, "written.png"), "wb") as stream:
            stream.write(png)
        gray = word_image.load_word_gray(os.path.join(folder, "written.png"))
        reads = """async (runs) => {
            for (let i = 0; i < 5; i++) await window.kerasSeqDemo.write.read();
            const total = [], pre = [], run = [];
            for (let i = 0; i < runs; i++) {
                const start = performance.now();
                const r = await window.kerasSeqDemo.write.read();
                total.push(performance.now() - start);
                pre.push(r.preprocessMs);
                run.push(r.runMs);
            }
            const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
            return [median(total), median(pre), median(run)];
        }"""
        read_runs = max(5, args.runs // 10)
        rounds = [page.evaluate(reads, read_runs) for _ in range(args.rounds)]
        browser_read = statistics.median(r[0] for r in rounds)
        reader_edge = export.EdgeModel(paths["word_reader"], verify=False)
        peers = [python_read_ms(reader_edge, gray, read_runs) for _ in range(args.rounds)]
        peer, peer_pre, peer_run = (statistics.median(p[i] for p in peers) for i in range(3))
        print(f"one read of a written word ({written['columns']} columns, read {written['text']!r}): canvas pixels "
              f"to strip, the reader's file, greedy CTC: browser {browser_read:.2f} ms (preprocess "
              f"{statistics.median(r[1] for r in rounds):.2f}, run {statistics.median(r[2] for r in rounds):.2f}); "
              f"python {peer:.2f} ms (preprocess {peer_pre:.2f}, run {peer_run:.2f}); "
              f"browser/python {browser_read / peer:.2f}", flush=True)
        if args.screenshot:
            box = page.get_by_test_id("digit-canvas").bounding_box()
            page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.22 * box["height"])
            page.mouse.down()
            for fx, fy in ((0.7, 0.22), (0.45, 0.5), (0.72, 0.68), (0.5, 0.86), (0.27, 0.78)):
                page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=8)
            page.mouse.up()
            page.wait_for_function("document.querySelector('[data-testid=digit-canvas]').dataset.state === 'done'")
            page.get_by_test_id("word-select").select_option("3")
            page.wait_for_function("window.kerasSeqDemo.word.last.index === 3")
            page.screenshot(path=args.screenshot, full_page=True)
            print(f"wrote {args.screenshot}")
        browser.close()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
