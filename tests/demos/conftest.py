"""Fixtures for the demo tests: a small CNN trained for seconds on MNIST; the served web page."""


import numpy as np
import pytest

@pytest.fixture(scope="session")
def draw_strokes():
    """``draw(page, testid, strokes)``: polylines (fractions of the canvas) drawn with real mouse events."""

    def draw(page, testid, strokes, steps=8):
        box = page.get_by_test_id(testid).bounding_box()
        for stroke in strokes:
            points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
            page.mouse.move(*points[0])
            page.mouse.down()
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                for t in np.linspace(0, 1, steps)[1:]:
                    page.mouse.move(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
            page.mouse.up()

    return draw


@pytest.fixture(scope="session")
def mnist_small():
    from keras_seq.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    return mnist.as_images(x_train[:3000]), y_train[:3000], mnist.as_images(x_test[:300]), y_test[:300]


@pytest.fixture(scope="session")
def trained_cnn(mnist_small):
    """A two-conv CNN trained for two epochs on 3000 digits (about 90% accurate)."""
    import keras

    keras.utils.set_random_seed(7)
    x_train, y_train, _, _ = mnist_small
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", name="classes"),
    ], name="small_cnn")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def served(site):
    """The test module's ``site`` served on 127.0.0.1."""
    from keras_seq.demos.web_server import SiteServer

    with SiteServer(site["folder"]) as server:
        yield server


@pytest.fixture(scope="module")
def page(browser, served):
    """The demo page, every model compiled. It records every URL it requests (``requested``), uncaught
    exceptions (``errors``) and, once ready, console errors (``console_errors``: LiteRT.js writes its
    start-up log lines to the console's error stream)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.requested, page.errors, page.console_errors = [], [], []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(served.url)
    page.evaluate("window.kerasSeqDemo.ready.then(() => null)")
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    yield page
    page.close()


PHONE_WIDTH = 375


@pytest.fixture
def phone(browser, served):
    """The demo page, ready, on a 375 x 740 touch screen: ``(page, swipe)``, ``swipe(points)`` one finger
    stroke through page coordinates (real touch events through the DevTools protocol)."""
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(served.url)
    page.evaluate("window.kerasSeqDemo.ready.then(() => null)")
    touch = context.new_cdp_session(page)

    def swipe(points):
        kinds = ["touchStart"] + ["touchMove"] * (len(points) - 1)
        for kind, (x, y) in zip(kinds, points):
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    yield page, swipe
    context.close()


@pytest.fixture(scope="module")
def webgpu_page(browser, served):
    """The page in a chromium with WebGPU (Chromium's software adapter, SwiftShader)."""
    from keras_seq.demos.browser_runner import CHROMIUM, CHROMIUM_ARGS, SOFTWARE_WEBGPU

    gpu_browser = browser.browser_type.launch(executable_path=CHROMIUM,
                                              args=[*CHROMIUM_ARGS, SOFTWARE_WEBGPU])
    page = gpu_browser.new_page(viewport={"width": 1200, "height": 900})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(served.url)
    page.evaluate("window.kerasSeqDemo.ready.then(() => null)")
    if not page.evaluate("window.kerasSeqDemo.accelerator.webgpu.available"):
        pytest.skip("chromium has no WebGPU here: "
                    + page.evaluate("window.kerasSeqDemo.accelerator.webgpu.reason"))
    yield page
    gpu_browser.close()
