"""The web demo in a real browser: Debian's chromium driven by Playwright, LiteRT.js running our files.

Skipped, with the reason, only where chromium, Playwright or node/npm (for
LiteRT.js) are missing (the ``browser`` fixture); ``.ci/run`` installs them.
"""

import base64
import json

import numpy as np
import pytest

# Strokes for five digits, as fractions of the canvas: one polyline per stroke.
DIGIT_STROKES = {
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "7": [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]],
    "0": [[(0.5, 0.15), (0.72, 0.3), (0.75, 0.6), (0.55, 0.85), (0.32, 0.72), (0.27, 0.4), (0.5, 0.15)]],
    "4": [[(0.6, 0.85), (0.6, 0.15), (0.25, 0.6), (0.78, 0.6)]],
    "3": [[(0.28, 0.2), (0.7, 0.22), (0.45, 0.48), (0.72, 0.65), (0.5, 0.86), (0.25, 0.78)]],
}
DIGIT_DONE = "document.querySelector('[data-testid=digit-canvas]').dataset.state === 'done'"


@pytest.fixture(scope="module")
def word_data():
    from keras_seq.datasets import ocr_words

    train, test = ocr_words.load_words().split(0)
    return train.subset(np.arange(200)), test


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory, trained_cnn, mnist_small, word_data):
    """The site built from a small trained digit CNN, a tiny word model trained for one epoch and a
    tiny word reader with random weights (the "write a word" panel has its own tests)."""
    import keras

    from keras_seq.demos.handwriting import train_handwriting
    from keras_seq.demos.web_site import build_site, shipped_words
    from keras_seq.demos.words import FAST
    from keras_seq.models import word_reader

    keras.utils.set_random_seed(3)
    train, test = word_data
    x, y, _ = train.padded()
    words = train_handwriting(x, y, epochs=2, model_options={"units": 16, "filters": (8, 8), "features": 16},
                              verbose=0)
    folder = tmp_path_factory.mktemp("web") / "web"
    paths = build_site(folder, trained_cnn, words, mnist_small[0][:200], test, word_reader(**FAST["model"]),
                       word_count=20)
    return {"folder": folder, "paths": paths, "word_model": words, "test": shipped_words(test, 20),
            "max_length": json.loads(paths["config"].read_text())["maxLength"]}


def edge(site, name):
    from keras_seq import export

    return export.EdgeModel(site["paths"][name], verify=False)


@pytest.fixture(scope="module")
def draw(draw_strokes):
    """``draw(page, strokes)``: a digit drawn with real mouse events (down, moves, up); the page's answer."""

    def draw_digit(page, strokes):
        page.get_by_test_id("digit-clear").click()
        draw_strokes(page, "digit-canvas", strokes)
        page.wait_for_function(DIGIT_DONE)
        return page.evaluate("window.kerasSeqDemo.digit.last")

    return draw_digit


def test_drawn_digits_read_as_edge_model_reads_the_pages_own_input(page, site, draw, tmp_path):
    """Five drawn digits: the page's 28x28 input is what `keras-seq infer` makes of the canvas PNG,
    and the page's prediction and probabilities are EdgeModel's on that input."""
    from keras_seq.export.digit_image import load_digit_image

    float32 = edge(site, "digits_float32")
    read = []
    for strokes in DIGIT_STROKES.values():
        last = draw(page, strokes)
        image = np.asarray(last["input"], np.float32).reshape(1, 28, 28, 1)
        png = base64.b64decode(page.evaluate("window.kerasSeqDemo.canvasPNG()").split(",", 1)[1])
        (tmp_path / "canvas.png").write_bytes(png)
        np.testing.assert_array_equal(image[0], load_digit_image(tmp_path / "canvas.png"))
        expected = float32.predict(image)[0]
        np.testing.assert_allclose(last["probabilities"], expected, atol=1e-5)
        assert page.get_by_test_id("digit-prediction").inner_text() == str(int(expected.argmax()))
        bars = page.locator("[data-testid=digit-probabilities] [data-digit]")
        assert bars.count() == 10
        shown = [float(bars.nth(d).get_attribute("data-probability")) for d in range(10)]
        np.testing.assert_allclose(shown, expected, atol=1e-5)
        read.append(int(expected.argmax()))
    assert len(set(read)) >= 2, f"five different drawings all read as {read}"
    assert not page.errors


def test_int8_switch_runs_the_int8_file(page, site, draw):
    float32_last = draw(page, DIGIT_STROKES["7"])
    page.get_by_test_id("digit-precision").select_option("int8")
    page.wait_for_function("window.kerasSeqDemo.digit.last && window.kerasSeqDemo.digit.last.precision === 'int8'")
    last = page.evaluate("window.kerasSeqDemo.digit.last")
    image = np.asarray(last["input"], np.float32).reshape(1, 28, 28, 1)
    np.testing.assert_array_equal(last["input"], float32_last["input"])
    int8 = edge(site, "digits_int8").predict(image)[0]
    np.testing.assert_allclose(last["probabilities"], int8, atol=1e-5)
    assert not np.allclose(last["probabilities"], float32_last["probabilities"], atol=1e-6)
    page.get_by_test_id("digit-precision").select_option("float32")


def test_occlusion_map_equals_python_occlusion_through_the_same_file(page, site, draw):
    from keras_seq.saliency import OcclusionSensitivity
    from keras_seq.demos.web_site import DIGIT_OCCLUSION

    last = draw(page, DIGIT_STROKES["4"])
    image = np.asarray(last["input"], np.float32).reshape(1, 28, 28, 1)
    python = OcclusionSensitivity(edge(site, "digits_float32").predict, **DIGIT_OCCLUSION)(
        image, [last["prediction"]])[0]
    page_map = np.asarray(last["occlusion"], np.float32).reshape(28, 28)
    assert np.abs(python).max() > 1e-3  # a map with something in it
    np.testing.assert_allclose(page_map, python, atol=1e-5)


def test_word_panel_reads_20_held_out_words_as_python(page, site):
    """Letters and probabilities equal EdgeModel's on the same file; the fixed-length, padded
    export gives Keras's probabilities for each word alone."""
    from keras_seq.datasets import ocr_words

    words = edge(site, "handwriting")
    test = site["test"]
    x, _, mask = test.padded(maxlen=site["max_length"])
    keras_alone = [np.asarray(site["word_model"](image[None, ..., None].astype(np.float32)))[0]
                   for image in test.images]
    assert page.locator("[data-testid=word-select] option").count() == 20
    for i in range(20):
        page.get_by_test_id("word-select").select_option(str(i))
        page.wait_for_function(f"window.kerasSeqDemo.word.last && window.kerasSeqDemo.word.last.index === {i}"
                               " && document.querySelector('[data-testid=word-select]').dataset.state === 'done'")
        last = page.evaluate("window.kerasSeqDemo.word.last")
        python = words.predict(x[i:i + 1])[0][mask[i]]
        assert page.get_by_test_id("word-prediction").inner_text() == ocr_words.decode(python.argmax(-1))
        np.testing.assert_allclose(np.reshape(last["probabilities"], python.shape), python, atol=1e-5)
        np.testing.assert_allclose(python, keras_alone[i], atol=1e-4)
        assert page.locator("[data-testid=word-saliency] canvas").count() == len(python)


def test_nothing_is_fetched_from_another_host(page, served):
    assert page.requested and all(url.startswith(served.url) or url.startswith("data:")
                                  for url in page.requested), page.requested


def test_screenshot_is_not_blank(page, draw, tmp_path):
    from PIL import Image

    draw(page, DIGIT_STROKES["3"])
    path = tmp_path / "web_page.png"
    page.screenshot(path=str(path), full_page=True)
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    assert pixels.shape[0] > 400 and pixels.shape[1] > 400
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_works_on_a_phone_sized_screen(phone):
    """375 px wide, touch: nothing wider than the screen, and a finger-drawn digit is read."""
    phone, swipe = phone
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    box = phone.get_by_test_id("digit-canvas").bounding_box()
    assert box["width"] <= 375 and box["width"] >= 200
    x = box["x"] + 0.5 * box["width"]
    swipe([(x, box["y"] + f * box["height"]) for f in np.linspace(0.15, 0.85, 12)])
    phone.wait_for_function(DIGIT_DONE)
    assert phone.get_by_test_id("digit-prediction").inner_text().isdigit()


def _family_models():
    import keras

    from keras_seq.layers.elman import Elman
    from keras_seq.models import digits_rnn, handwriting, lenet5

    rows = keras.Input((28, 28))
    elman = keras.Model(rows, keras.layers.Dense(10, activation="softmax")(Elman(8)(rows)), name="elman_rows")
    return {
        "lenet5_faithful": (lenet5("faithful"), (1, 28, 28, 1)),
        "lenet5_modern": (lenet5("modern"), (1, 28, 28, 1)),
        "digits_rnn": (digits_rnn(units=8), (1, 28, 28, 1)),
        "elman_rows": (elman, (1, 28, 28)),
        "handwriting": (handwriting(units=8, filters=(4, 8), features=16), (1, 6, 16, 8, 1)),
    }


def test_every_model_family_runs_in_litertjs_as_in_python(page, site, served):
    """Each model builder's export, run by LiteRT.js in the page and by LiteRT in Python, on the same input."""
    from keras_seq import export
    from keras_seq.atomic_files import write_bytes

    rng = np.random.default_rng(0)
    for name, (model, shape) in _family_models().items():
        data = export.to_tflite(model, batch_size=1, max_length=6 if name == "handwriting" else None)
        write_bytes(data, site["folder"] / "models" / f"parity_{name}.tflite")
        x = (rng.random(shape) > 0.6).astype(np.float32)
        python = export.EdgeModel(data, verify=False).predict(x)
        browser = page.evaluate("([url, values]) => window.kerasSeqDemo.runModel(url, values)",
                                [f"./models/parity_{name}.tflite", x.ravel().tolist()])
        np.testing.assert_allclose(np.reshape(browser, python.shape), python, atol=1e-5, err_msg=name)


def test_the_gpu_switch_says_when_the_browser_has_no_webgpu(page):
    """The test browser runs with --disable-gpu: the GPU choice is disabled and says so."""
    option = page.locator("[data-testid=accelerator] option[value=webgpu]")
    assert option.is_disabled()
    assert option.inner_text().startswith("GPU: not in this browser (")
    assert page.evaluate("window.kerasSeqDemo.accelerator.current") == "wasm"


def test_the_gpu_switch_runs_the_panels_on_webgpu_with_the_cpus_answers(webgpu_page, site, draw):
    """Switch to WebGPU with the page's own control: the digit reads as EdgeModel reads the same input, on
    the GPU; a model the GPU cannot run whole stays on the CPU and the switch names it; the latency line
    shows each panel on both accelerators."""
    page = webgpu_page
    on_cpu = draw(page, DIGIT_STROKES["7"])
    assert on_cpu["accelerator"] == "wasm"
    page.get_by_test_id("accelerator").select_option("webgpu")
    page.wait_for_function("document.querySelector('[data-testid=accelerator]').dataset.state === 'webgpu'")
    last = draw(page, DIGIT_STROKES["7"])
    assert last["accelerator"] == "webgpu"
    assert "float32 on webgpu" in page.get_by_test_id("digit-latency").inner_text()
    image = np.asarray(last["input"], np.float32).reshape(1, 28, 28, 1)
    np.testing.assert_allclose(last["probabilities"], edge(site, "digits_float32").predict(image)[0], atol=1e-4)
    # the handwriting model's letters reach its file as (1, L, 16, 8), and its short BiLSTM is unrolled;
    # the word reader runs its unrolled file (test_web_word_canvas checks its readings): all on the GPU whole
    assert page.evaluate("window.kerasSeqDemo.accelerator.sets.webgpu.onCpu") == {}
    assert "on the CPU instead" not in page.get_by_test_id("accelerator-note").inner_text()
    assert page.evaluate("window.kerasSeqDemo.word.last.accelerator") == "webgpu"
    latency = page.evaluate("window.kerasSeqDemo.accelerator.latency")
    assert set(latency["digit"]) == {"wasm", "webgpu"} and all(ms > 0 for ms in latency["digit"].values())
    line = page.get_by_test_id("accelerator-latency").inner_text()
    assert "digit: wasm " in line and ", webgpu " in line
    page.get_by_test_id("accelerator").select_option("wasm")
    page.wait_for_function("document.querySelector('[data-testid=accelerator]').dataset.state === 'wasm'")
    assert page.evaluate("window.kerasSeqDemo.digit.last.accelerator") == "wasm"
    assert not page.errors
