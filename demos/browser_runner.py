"""Run ``.tflite`` files in headless Chromium with LiteRT.js, on ``'wasm'`` (CPU) or ``'webgpu'`` (GPU).

The page is the web demo's own runtime (``web_static/runtime.js``) behind a
bare ``harness.html``, served on 127.0.0.1 from a temporary folder with the
pinned LiteRT.js (:func:`keras_seq.demos.web_site.node_modules`). Chromium is
started with WebGPU enabled; where the machine has no GPU,
``--use-webgpu-adapter=swiftshader`` gives Chromium's software adapter
(slow, but the same delegate and kernels as on a GPU).

Each run says where the model really ran (LiteRT.js runs a file the GPU
delegate cannot take whole on wasm, or splits it), the lines LiteRT logged
while compiling and running it (the GPU delegate names each op it leaves to
the CPU, and why), and its timings.

Example:
    >>> with BrowserRunner() as browser:
    ...     run = browser.run("lenet5.tflite", x, accelerator="webgpu", repeats=20)
    >>> run.output.shape, run.ran_on, run.fully_accelerated, run.median_ms
    ((1, 10), 'webgpu', True, 3.1)
"""

import dataclasses
import hashlib
import pathlib
import re
import shutil
import statistics
import tempfile

import numpy as np

ACCELERATORS = ("wasm", "webgpu")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--enable-unsafe-webgpu")
SOFTWARE_WEBGPU = "--use-webgpu-adapter=swiftshader"
# "ERROR: Following operations are not supported by GPU delegate:" is followed by one "OP: reason" line per op.
_UNSUPPORTED_OP = re.compile(r"^([A-Z][A-Z0-9_]+): (.+)$")


@dataclasses.dataclass(frozen=True)
class BrowserRun:
    """One file run in the page.

    Attributes:
        output: the first output, shaped as the file declares it.
        accelerator: the accelerator asked for.
        ran_on: where LiteRT.js compiled it (``'wasm'`` when it fell back).
        fully_accelerated: every op on ``accelerator`` (LiteRT.js's own flag,
            and no op named by the GPU delegate as left to the CPU).
        cpu_ops: ``"OP: reason"`` lines the GPU delegate logged for ops it left to the CPU.
        compile_ms: loading and compiling the file.
        first_ms: the first run (GPU: shader and buffer set-up).
        run_ms: each further run, in ms.
        messages: every line LiteRT logged meanwhile.
    """

    output: np.ndarray
    accelerator: str
    ran_on: str
    fully_accelerated: bool
    cpu_ops: tuple
    compile_ms: float
    first_ms: float
    run_ms: tuple
    messages: tuple

    @property
    def median_ms(self):
        """Median of ``run_ms`` (the first run when there were no repeats)."""
        return statistics.median(self.run_ms) if self.run_ms else self.first_ms


class BrowserRunner:
    """Headless Chromium with LiteRT.js, as a context manager.

    Args:
        chromium: the Chromium executable.
        software_webgpu: use Chromium's software WebGPU adapter (SwiftShader);
            ``False``: the machine's GPU.
        cache: where LiteRT.js may be installed with ``npm ci`` when the package
            folder is read-only (default: a temporary folder).
        browser_type: a Playwright ``BrowserType`` to launch Chromium with, for
            a caller that already runs Playwright (its sync API runs once per
            thread); default: start Playwright here.

    Attributes:
        webgpu: ``{"available": bool, "reason": str}`` for this browser.
    """

    def __init__(self, chromium=CHROMIUM, software_webgpu=True, cache=None, browser_type=None):
        if not pathlib.Path(chromium).is_file():
            raise FileNotFoundError(f"chromium={str(chromium)!r} does not exist; install it (apt-get install chromium)")
        self.chromium = str(chromium)
        self.software_webgpu = bool(software_webgpu)
        self.cache = cache
        self.browser_type = browser_type
        self.webgpu = None
        self._folder = self._server = self._playwright = self._browser = self._page = None
        self._files = {}

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        from keras_seq.demos import web_site
        from keras_seq.demos.web_server import SiteServer

        self._folder = pathlib.Path(tempfile.mkdtemp(prefix="keras-seq-browser-"))
        try:
            modules = web_site.node_modules(self.cache or self._folder / "npm")
            (self._folder / "index.html").write_bytes((web_site.STATIC / "harness.html").read_bytes())
            for name in ("harness.js", "runtime.js"):
                (self._folder / name).write_bytes((web_site.STATIC / name).read_bytes())
            for source, target in web_site.LITERT_FILES:
                (self._folder / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(modules / source, self._folder / target)
            (self._folder / "models").mkdir()
            self._server = SiteServer(self._folder).start()
            browser_type = self.browser_type
            if browser_type is None:
                self._playwright = sync_playwright().start()
                browser_type = self._playwright.chromium
            args = list(CHROMIUM_ARGS) + ([SOFTWARE_WEBGPU] if self.software_webgpu else [])
            self._browser = browser_type.launch(executable_path=self.chromium, args=args)
            self._page = self._browser.new_page()
            self._page.goto(self._server.url)
            self.webgpu = self._page.evaluate("window.kerasSeqRunner.ready")["webgpu"]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        if self._server is not None:
            self._server.stop()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = self._server = self._playwright = self._browser = self._page = None

    def run(self, tflite, x, accelerator="wasm", repeats=0):
        """Compile ``tflite`` (a path or bytes) for ``accelerator`` and run it on ``x`` (one float32 input).

        Args:
            tflite: a ``.tflite`` file with one float32 input of static shape.
            x: the input, of the file's input size (e.g. ``(1, 28, 28, 1)``).
            accelerator: ``'wasm'`` or ``'webgpu'``.
            repeats: further timed runs after the first (``run_ms``).

        Returns:
            a :class:`BrowserRun`.

        Raises:
            RuntimeError: LiteRT.js refused or failed the file; the message
                quotes what LiteRT logged.
            ValueError: a bad ``accelerator`` or ``repeats``.
        """
        from keras_seq.arguments import choice, integer

        accelerator = choice(accelerator, "accelerator", ACCELERATORS)
        repeats = integer(repeats, "repeats", minimum=0)
        if self._page is None:
            raise RuntimeError("BrowserRunner.run needs the runner started: use it in a with block")
        if accelerator == "webgpu" and not self.webgpu["available"]:
            raise RuntimeError(f"this browser cannot run WebGPU: {self.webgpu['reason']}")
        url = self._serve(tflite)
        values = np.asarray(x, np.float32).ravel().tolist()
        from playwright.sync_api import Error

        try:
            result = self._page.evaluate("([url, accelerator, values, repeats]) => "
                                         "window.kerasSeqRunner.run(url, accelerator, values, repeats)",
                                         [url, accelerator, values, repeats])
        except Error as error:
            raise RuntimeError(f"LiteRT.js could not run {url} on {accelerator}: {error.message}") from None
        messages = tuple(m["text"] for m in result["messages"])
        cpu_ops = _cpu_ops(messages)
        return BrowserRun(
            output=np.reshape(np.asarray(result["output"], np.float32), result["outputShape"]),
            accelerator=accelerator, ran_on=result["ranOn"],
            fully_accelerated=bool(result["fullyAccelerated"]) and not cpu_ops,
            cpu_ops=cpu_ops, compile_ms=result["compileMs"], first_ms=result["firstMs"],
            run_ms=tuple(result["runMs"]), messages=messages,
        )

    def _serve(self, tflite):
        """Copy the file into the served folder once (named by its digest); its URL."""
        data = tflite if isinstance(tflite, (bytes, bytearray)) else pathlib.Path(tflite).read_bytes()
        name = hashlib.sha256(data).hexdigest()[:16] + ".tflite"
        if name not in self._files:
            (self._folder / "models" / name).write_bytes(data)
            self._files[name] = True
        return f"./models/{name}"


def _cpu_ops(messages):
    """The ``"OP: reason"`` lines after each "not supported by GPU delegate" line."""
    found, listing = [], False
    for line in messages:
        for part in line.splitlines():
            part = part.strip()
            if "not supported by GPU delegate" in part:
                listing = True
            elif listing and _UNSUPPORTED_OP.match(part):
                found.append(part)
            else:
                listing = False
    return tuple(dict.fromkeys(found))
