"""The web page's "write a word" panel in chromium: the drawing read by the exported CTC word reader.

The page's strip, probabilities, greedy reading and column saliency are
checked against Python's own (``word_image``/``normalise_strip``,
``EdgeModel``, ``ctc.decode_ctc``, ``ColumnOcclusion``) on the page's own
canvas pixels. The reader is tiny, with random weights and its output
layer's weights scaled up so each step's distribution is peaked (distinct
letters, real drops under occlusion): parity needs no accuracy.
"""

import base64
import json

import numpy as np
import pytest

from keras_seq.datasets.word_strips import HEIGHT

# Words as polylines in fractions of the canvas (x, y), one list per stroke.
WORDS = {
    "zigzag": [[(0.1, 0.7), (0.15, 0.3), (0.22, 0.7), (0.29, 0.3), (0.36, 0.7), (0.43, 0.3), (0.5, 0.7)]],
    "loop and bar": [[(0.3, 0.35), (0.38, 0.4), (0.4, 0.6), (0.33, 0.75), (0.25, 0.65), (0.24, 0.45), (0.3, 0.35)],
                     [(0.48, 0.15), (0.48, 0.75)], [(0.55, 0.45), (0.62, 0.75), (0.7, 0.42)]],
}
SCRIBBLE = [[(0.03, 0.5), (0.97, 0.5)]]   # one long flat line: far wider than 256 columns with its band at 12 rows
WRITE_SETTLED = "['done', 'refused'].includes(document.querySelector('[data-testid=write-canvas]').dataset.state)"


@pytest.fixture(scope="module")
def reader():
    """A tiny word reader (the words demo's fast size), random weights: pixels, step features and
    logits scaled up 3x, 20x and 8x (sharp, ink-dependent outputs)."""
    import keras

    from keras_seq.demos.words import FAST
    from keras_seq.models import word_reader

    keras.utils.set_random_seed(11)
    model = word_reader(**FAST["model"])
    for name, scale in (("conv1", 3.0), ("features", 20.0), ("logits", 8.0)):
        weights = model.get_layer(name).get_weights()   # the kernel, then any bias
        model.get_layer(name).set_weights([scale * weights[0]] + weights[1:])
    return model


@pytest.fixture(scope="module")
def site(browser, reader, tmp_path_factory):
    """A site with untrained digit and letter models (other tests cover them) and the tiny reader."""
    import keras

    from keras_seq.datasets import ocr_words
    from keras_seq.demos.web_site import build_site
    from keras_seq.models import handwriting

    keras.utils.set_random_seed(5)
    digits = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(10, activation="softmax")])
    letters = handwriting(units=4, filters=(4, 4), features=8)
    words = ocr_words.load_words().split(0)[1]
    folder = tmp_path_factory.mktemp("web-words") / "web"
    representative = np.random.default_rng(0).random((8, 28, 28, 1)).astype(np.float32)
    paths = build_site(folder, digits, letters, representative, words, reader, word_count=2)
    return {"folder": folder, "paths": paths}


@pytest.fixture(scope="module")
def edge(site):
    from keras_seq.export import EdgeModel

    return EdgeModel(site["paths"]["word_reader"], verify=False)


@pytest.fixture(scope="module")
def write(draw_strokes):
    """``write(page, strokes)``: clear, draw with real mouse events, wait for the reading; ``write.last``."""

    def write_word(page, strokes, steps=8):
        page.get_by_test_id("write-clear").click()
        draw_strokes(page, "write-canvas", strokes, steps=steps)
        # each stroke queues a read; the last one in the queue reads the whole drawing
        return page.evaluate("window.kerasSeqDemo.write.queue.then(() => window.kerasSeqDemo.write.last)")

    return write_word


def canvas_gray(page, tmp_path):
    """The page's own canvas as ``keras-seq infer`` reads a PNG of it (grey float32, H x W)."""
    from keras_seq.export import word_image

    png = base64.b64decode(page.evaluate("window.kerasSeqDemo.write.canvasPNG()").split(",", 1)[1])
    (tmp_path / "word.png").write_bytes(png)
    return word_image.load_word_gray(tmp_path / "word.png")


def recorded_words():
    """The ten words of ``canvas_words.json``: pen paths of the held-out face scriptc on a 720x240 canvas,
    made by ``natural_writing.canvas_strokes`` (seed 2026) and replayed here as mouse events."""
    import pathlib

    return json.loads((pathlib.Path(__file__).with_name("canvas_words.json")).read_text())["words"]


def test_recorded_handwriting_replayed_with_the_mouse_keeps_its_band_and_python_parity(page, write, tmp_path):
    """Joined cursive at its natural size: the page's strip equals normalise_strip of the canvas (1e-6) and
    puts the x-height on the core rows, with ascenders above and descenders below."""
    from keras_seq.datasets import word_strips
    from keras_seq.datasets.word_strips import ASCENDER_ROWS, CORE_ROWS

    for text, strokes in recorded_words().items():
        last = write(page, strokes, steps=2)  # recorded pen paths are dense already: one move per point
        assert "refused" not in last, (text, last)
        page_strip = np.reshape(last["strip"], (HEIGHT, last["columns"]))
        python_strip = word_strips.normalise_strip(canvas_gray(page, tmp_path), max_width=256)
        np.testing.assert_allclose(page_strip, python_strip, atol=1e-6, rtol=0, err_msg=text)
        profile = page_strip.sum(axis=1)
        core = profile[ASCENDER_ROWS:ASCENDER_ROWS + CORE_ROWS]
        assert core.min() > 0.2 * core.max(), text  # ink all across the band
        rises = set("bdfhklt") | set("ij")  # i and j: their dots
        assert (profile[:ASCENDER_ROWS - 4].sum() > 1.0) == bool(set(text) & rises), text
        assert (profile[ASCENDER_ROWS + CORE_ROWS + 4:].sum() > 1.0) == bool(set(text) & set("fgjpqy")), text
    assert not page.errors and not page.console_errors


def test_strokes_made_while_a_read_waits_join_it_instead_of_queueing_stale_reads(page, write):
    """Five reads asked for at once (strokes ending while one waits): one read, which takes the whole drawing."""
    write(page, list(WORDS.values())[0])
    reads = page.evaluate("""async () => {
        const panel = window.kerasSeqDemo.write;
        const readAndExplain = panel.readAndExplain.bind(panel);
        let count = 0;
        panel.readAndExplain = () => { count += 1; return readAndExplain(); };
        for (let k = 0; k < 5; k += 1) panel.update();
        await panel.queue;
        delete panel.readAndExplain;
        return count;
    }""")
    assert reads == 1
    assert not page.errors and not page.console_errors


def test_the_page_says_which_reader_runs_and_that_a_fast_one_is_a_smoke_run(page, reader):
    line = page.get_by_test_id("write-reader")
    assert line.get_attribute("data-smoke") == "true"
    text = line.inner_text()
    assert f"{reader.count_params() / 1e6:.2f} M parameters" in text
    assert "--fast smoke-run reader" in text and "answers are a smoke run's" in text


def test_config_names_the_reader_file_its_width_and_alphabet(site):
    from keras_seq.models.ctc import ALPHABET

    config = json.loads(site["paths"]["config"].read_text())
    assert config["models"]["word_reader"] == "./models/word_reader.tflite"
    assert config["gpuModels"] == {"word_reader": "./models/word_reader_gpu.tflite"}
    assert config["wordReader"]["width"] == 256 and config["wordReader"]["alphabet"] == ALPHABET
    assert config["wordReader"]["occlusion"] == {"window": 4, "stride": 2}


def test_drawn_words_read_as_python_reads_the_pages_own_canvas(page, edge, write, tmp_path):
    """Strip = normalise_strip of the canvas pixels (1e-6); probabilities = EdgeModel's on that strip
    (1e-5); text, confidences and spans = ctc.decode_ctc greedy's."""
    from keras_seq.datasets import word_strips
    from keras_seq.models import ctc

    for strokes in WORDS.values():
        last = write(page, strokes)
        python_strip = word_strips.normalise_strip(canvas_gray(page, tmp_path), max_width=256)
        page_strip = np.reshape(last["strip"], (HEIGHT, last["columns"]))
        assert page_strip.shape == python_strip.shape
        np.testing.assert_allclose(page_strip, python_strip, atol=1e-6, rtol=0)
        steps = last["columns"] // 2
        expected = edge.predict(word_strips.model_input([page_strip.astype(np.float32)], 256))[0, :steps]
        probabilities = np.reshape(last["probabilities"], (steps, 27))
        np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
        on_page = ctc.decode_ctc(probabilities[None], method="greedy")[0]
        assert ctc.decode_ctc(expected[None], method="greedy")[0].text == on_page.text
        assert last["text"] == on_page.text and last["text"], "a reading with letters in it"
        assert [tuple(s) for s in last["spans"]] == list(on_page.spans)
        np.testing.assert_array_equal(last["confidences"], on_page.confidences)
        assert last["probability"] == pytest.approx(on_page.probability, rel=1e-9)
        assert page.get_by_test_id("write-prediction").inner_text() == on_page.text
        shown = page.locator("[data-testid=write-letters] [data-letter]")
        assert [shown.nth(i).get_attribute("data-letter") for i in range(shown.count())] == list(on_page.text)
    assert not page.errors and not page.console_errors


def test_the_gpu_switch_reads_a_word_with_the_unrolled_reader_as_the_cpu_does(webgpu_page, write, site):
    """On WebGPU the panel runs word_reader_gpu.tflite (the same reader unrolled: the GPU runs no WHILE),
    whole on the GPU, with the CPU file's probabilities (1e-4) and reading; back on the CPU, the loop file."""
    from keras_seq.datasets import word_strips
    from keras_seq.export import EdgeModel, op_report

    page = webgpu_page
    report = op_report(site["paths"]["word_reader_gpu"])
    assert report.gpu_delegated and report.loops == 0, report.gpu
    assert op_report(site["paths"]["word_reader"]).loops > 0   # the CPU's file keeps its loop
    on_cpu = write(page, list(WORDS.values())[1])
    assert on_cpu["accelerator"] == "wasm" and on_cpu["text"]
    page.get_by_test_id("accelerator").select_option("webgpu")
    page.wait_for_function("document.querySelector('[data-testid=accelerator]').dataset.state === 'webgpu'")
    assert page.evaluate("window.kerasSeqDemo.accelerator.sets.webgpu.onCpu") == {}
    on_gpu = page.evaluate("window.kerasSeqDemo.write.queue.then(() => window.kerasSeqDemo.write.last)")
    assert on_gpu["accelerator"] == "webgpu"
    assert on_gpu["text"] == on_cpu["text"] and on_gpu["strip"] == on_cpu["strip"]
    np.testing.assert_allclose(on_gpu["probabilities"], on_cpu["probabilities"], atol=1e-4, rtol=0)
    unrolled = EdgeModel(site["paths"]["word_reader_gpu"], verify=False)
    strip = np.reshape(on_cpu["strip"], (1, HEIGHT, on_cpu["columns"])).astype(np.float32)
    steps = on_cpu["columns"] // 2
    expected = unrolled.predict(word_strips.model_input(list(strip), 256))[0, :steps]
    np.testing.assert_allclose(np.reshape(on_gpu["probabilities"], (steps, 27)), expected, atol=1e-4, rtol=0)
    page.get_by_test_id("accelerator").select_option("wasm")
    page.wait_for_function("document.querySelector('[data-testid=accelerator]').dataset.state === 'wasm'")
    assert page.evaluate("window.kerasSeqDemo.write.last.accelerator") == "wasm"
    assert not page.errors


def random_picture(rng):
    """A grey picture of any size and polarity: paper, noisy or not, with up to four ink blocks of any grey."""
    height, width = int(rng.integers(3, 70)), int(rng.integers(3, 400))
    paper = float(rng.choice([0.0, 1.0, 0.85]))
    gray = np.clip(paper + rng.normal(0, float(rng.choice([0.0, 0.03])), (height, width)), 0, 1)
    for _ in range(int(rng.integers(0, 5))):
        top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
        bottom, right = top + int(rng.integers(1, height + 1)), left + int(rng.integers(1, width + 1))
        gray[top:bottom, left:right] = abs(paper - rng.uniform(0.4, 1.0))
    return (np.round(gray * 255) / 255).astype(np.float32)   # 8-bit levels, as a canvas holds


def test_strip_preprocessing_equals_normalise_strip_on_random_pictures(page):
    """Shrinking and enlarging, odd and even widths, both polarities, and the three refusals."""
    from keras_seq.datasets import word_strips

    rng = np.random.default_rng(1)
    reasons = {"blank": "blank", "pixel high": "thin", "columns wide": "wide"}
    seen = set()
    for trial in range(60):
        gray = random_picture(rng)
        height, width = gray.shape
        page_strip = page.evaluate(
            """async ([values, width, height]) => {
                const { wordStrip } = await import('./strip_preprocess.js');
                try {
                    const strip = wordStrip(Float32Array.from(values), width, height,
                                            window.kerasSeqDemo.config.wordReader);
                    return { values: Array.from(strip.values), columns: strip.columns };
                } catch (error) {
                    return { refused: error.reason, message: error.message };
                }
            }""", [gray.ravel().tolist(), width, height])
        try:
            python = word_strips.normalise_strip(gray, max_width=256)
        except ValueError as error:
            reason = next(r for text, r in reasons.items() if text in str(error))
            assert page_strip.get("refused") == reason, (trial, str(error), page_strip)
            seen.add(reason)
            continue
        assert "refused" not in page_strip, (trial, page_strip)
        np.testing.assert_allclose(np.reshape(page_strip["values"], (HEIGHT, page_strip["columns"])), python,
                                   atol=1e-6, rtol=0, err_msg=f"trial {trial}")
        seen.add("enlarged" if height < 16 else "read")   # pictures under 16 rows high are enlarged
    assert seen >= {"blank", "wide", "enlarged", "read"}, seen


HAND_WORKED = [
    # (most likely symbol per step, as alphabet characters; expected text, confidence steps, spans)
    ("aabb", "ab", [1, 3], [(0, 1), (2, 3)]),           # repeats merge
    ("-a--b-", "ab", [1, 4], [(1, 1), (4, 4)]),         # blanks drop
    ("a-a", "aa", [0, 2], [(0, 0), (2, 2)]),            # a blank between repeated letters keeps both
    ("aa-aab", "aab", [1, 4, 5], [(0, 1), (3, 4), (5, 5)]),
    ("----", "", [], []),
]


def hand_worked_probabilities(path):
    """Step t's most likely symbol is path[t], with probability 0.5 + 0.01 t (so confidences tell steps apart)."""
    from keras_seq.models.ctc import ALPHABET

    y = np.full((len(path), 27), 0.0, np.float64)
    for t, symbol in enumerate(path):
        peak = 0.5 + 0.01 * t
        y[t] = (1 - peak) / 26
        y[t, ALPHABET.index(symbol)] = peak
    return y.astype(np.float32)


def page_decode(page, probabilities):
    return page.evaluate(
        """async ([values, steps]) => {
            const { greedyDecode } = await import('./ctc_decode.js');
            return greedyDecode(Float32Array.from(values), steps, window.kerasSeqDemo.config.wordReader.alphabet);
        }""", [np.asarray(probabilities, np.float32).ravel().tolist(), len(probabilities)])


@pytest.mark.parametrize("path, text, confident_steps, spans", HAND_WORKED)
def test_greedy_ctc_in_the_page_on_hand_worked_examples(page, path, text, confident_steps, spans):
    y = hand_worked_probabilities(path)
    decoded = page_decode(page, y)
    assert decoded["text"] == text
    assert [tuple(s) for s in decoded["spans"]] == spans
    np.testing.assert_array_equal(decoded["confidences"], [float(np.float32(0.5 + 0.01 * t)) for t in confident_steps])


def test_greedy_ctc_ties_go_to_the_first_symbol(page):
    y = np.zeros((3, 27), np.float32)
    y[:, 0] = y[:, 5] = 0.5          # blank and 'e' tie at every step: blank wins, as numpy's argmax
    assert page_decode(page, y)["text"] == ""


def test_greedy_ctc_in_the_page_equals_python_on_random_outputs(page):
    from keras_seq.models import ctc

    rng = np.random.default_rng(0)
    for trial in range(40):
        steps = int(rng.integers(1, 40))
        logits = rng.normal(size=(steps, 27)) * rng.uniform(0.5, 4)
        logits[:, 0] += rng.uniform(0, 3)    # blanks common, as in a real reader's output
        y = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        y = y.astype(np.float32)
        python = ctc.decode_ctc(y[None], method="greedy")[0]
        decoded = page_decode(page, y)
        assert decoded["text"] == python.text, trial
        assert [tuple(s) for s in decoded["spans"]] == list(python.spans)
        np.testing.assert_array_equal(decoded["confidences"], python.confidences)
        assert decoded["probability"] == pytest.approx(python.probability, rel=1e-9)


def test_saliency_strip_equals_column_occlusion_through_the_same_file(page, edge, write):
    from keras_seq.demos.words import ColumnOcclusion
    from keras_seq.models import ctc

    last = write(page, WORDS["zigzag"])
    strip = np.reshape(last["strip"], (HEIGHT, last["columns"])).astype(np.float32)
    reading = ctc.decode_ctc(np.reshape(last["probabilities"], (last["columns"] // 2, 27))[None])[0]
    python = ColumnOcclusion()(edge, strip, reading)
    on_page = np.asarray(last["saliency"])
    assert on_page.shape == python.shape == (len(reading.text), last["columns"])
    assert python.max() == pytest.approx(1.0)   # a map with something in it
    np.testing.assert_allclose(on_page, python, atol=1e-4, rtol=0)
    assert page.locator("[data-testid=write-saliency] canvas").count() == len(reading.text)
    assert last["saliencyRuns"] == 1 + len(range(0, last["columns"] - 3, 2))


def test_blank_canvas_and_too_wide_scribble_show_one_clear_message(page, write, tmp_path):
    from keras_seq.datasets import word_strips

    write(page, WORDS["zigzag"])   # a reading on show first: a refusal must clear it
    page.get_by_test_id("write-clear").click()
    page.get_by_test_id("write-read").click()
    page.wait_for_function(WRITE_SETTLED)
    last = page.evaluate("window.kerasSeqDemo.write.last")
    message = page.get_by_test_id("write-message").inner_text()
    assert last["refused"] == "blank" and "blank" in message and "write a word" in message
    with pytest.raises(ValueError, match="blank"):
        word_strips.normalise_strip(canvas_gray(page, tmp_path))

    last = write(page, SCRIBBLE)
    message = page.get_by_test_id("write-message").inner_text()
    with pytest.raises(ValueError, match="columns wide") as python:
        word_strips.normalise_strip(canvas_gray(page, tmp_path), max_width=256)
    columns = str(python.value).split(" columns wide")[0].split()[-1]
    assert last["refused"] == "wide" and f"the word is {columns} columns wide" in message and "at most 256" in message
    for shown in ("write-prediction", "write-letters", "write-saliency"):
        assert page.get_by_test_id(shown).inner_text() == ""
    assert page.locator("[data-testid=write-message]").count() == 1
    assert not page.errors and not page.console_errors


def test_writing_with_a_finger_on_a_phone_sized_screen(phone):
    """375 px wide, touch: the wide canvas fits the screen and a finger-written word is read."""
    phone, swipe = phone
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    canvas = phone.get_by_test_id("write-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert 200 <= box["width"] <= 375
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in WORDS["zigzag"][0]]
    path = [(x0 + t * (x1 - x0), y0 + t * (y1 - y0)) for (x0, y0), (x1, y1) in zip(points, points[1:])
            for t in np.linspace(0, 1, 6)[1:]]
    swipe([points[0]] + path)
    phone.wait_for_function(WRITE_SETTLED)
    assert phone.evaluate("window.kerasSeqDemo.write.last.text")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
