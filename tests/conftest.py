"""Shared test setup: quiet TensorFlow, seeded Keras, fresh state per test; one browser for every browser test.

Playwright's sync API runs one event loop per thread, so the whole session shares one Playwright
(the ``browser`` fixture); a second ``sync_playwright()`` while it lives fails.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pathlib  # noqa: E402
import shutil  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded_keras():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def browser_missing():
    """Why the web page cannot be tested here (Playwright, chromium or LiteRT.js missing), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e .[test])"
    if not pathlib.Path(CHROMIUM).is_file():
        return "chromium is not installed (apt-get install -y chromium)"
    from keras_seq.demos import web_site

    installed = all((web_site.STATIC / "node_modules" / source).is_file() for source, _ in web_site.LITERT_FILES)
    if not installed and not (shutil.which("npm") and shutil.which("node")):
        return "LiteRT.js is not installed and node/npm are missing to install it (npm ci)"
    return None


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (skips the test, with the reason, where it cannot run)."""
    reason = browser_missing()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def runner(browser):
    """A BrowserRunner on the session's browser (``browser`` skips, with the reason, where chromium or
    LiteRT.js are missing; this skips where the browser has no WebGPU)."""
    from keras_seq.demos.browser_runner import BrowserRunner

    with BrowserRunner(browser_type=browser.browser_type) as started:
        if not started.webgpu["available"]:
            pytest.skip(f"chromium has no WebGPU here: {started.webgpu['reason']}")
        yield started
