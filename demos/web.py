"""Web demo: the exported ``.tflite`` files run in a browser page with LiteRT.js.

``keras-seq demo web [--out DIR] [--port N] [--no-browser] [--build-only]``:

1. uses the digit model ``DIR/model.keras``, the word model
   ``DIR/handwriting.keras`` and the CTC word reader ``DIR/words.keras``
   (written by ``keras-seq demo digits``, ``keras-seq demo handwriting`` and
   ``keras-seq demo words``; a ``keras-seq train words`` model.keras copied
   there works too), training them as those demos do when absent
   (``--fast``: their tiny smoke-run training);
2. writes a self-contained static site into ``DIR/web/`` (see
   :mod:`keras_seq.demos.web_site`): the page, LiteRT.js and its WebAssembly
   (installed from npm with ``npm ci`` when missing), the digit model as
   float32 and int8 ``.tflite``, the word model at a fixed length, the word
   reader at a fixed width of 256 columns, and the held-out words of fold 0;
3. serves it on 127.0.0.1 only, prints the URL and opens a browser (unless
   ``--no-browser``), until Ctrl-C; ``--build-only`` stops after writing.

In the page: draw a digit (mouse, pen or touch); it is preprocessed as
``keras-seq infer`` preprocesses a PNG, and the phone model's answer, its
ten probabilities, the latency and an occlusion map (as
:class:`keras_seq.saliency.OcclusionSensitivity` computes it, through the same file) appear;
a float32/int8 switch picks the file. Pick a held-out word to see each
letter read, with its probability, and a per-letter occlusion strip. Write
a word on the wide canvas: the drawing is normalised as ``keras-seq infer``
normalises a PNG of a word, read by the word reader's file, decoded
greedily (CTC) with per-letter confidences, and each letter's column
saliency (as ``keras-seq demo words`` computes it) is shown under the
normalised strip.

Example:
    >>> from keras_seq.demos.web import run_demo
    >>> run_demo("keras-seq-out", fast=True, build_only=True)["paths"]["index.html"]
"""

import pathlib
import sys

import numpy as np

DEFAULT_PORT = 8000


def add_web_arguments(parser):
    """The web demo's own options (``keras-seq demo web`` and ``python -m keras_seq.demos.web``)."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"web: port on 127.0.0.1 to serve the page on (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--no-browser", action="store_true", help="web: print the URL, do not open a browser")
    parser.add_argument("--build-only", action="store_true", help="web: write the site into OUT/web/ and stop")


def web_options(args, name):
    """``run_demo`` keywords from parsed arguments; refuse the web options for another demo."""
    if name != "web":
        if args.port != DEFAULT_PORT or args.no_browser or args.build_only:
            raise ValueError(f"--port, --no-browser and --build-only apply to the web demo only, not {name!r}")
        return {}
    return {"port": args.port, "open_browser": not args.no_browser, "build_only": args.build_only}


def digit_model(out, epochs, fast, progress):
    """``out/model.keras``, or LeNet-5 trained as ``keras-seq demo digits`` trains it (and saved there)."""
    from keras_seq.saving import save_model
    from keras_seq.datasets import mnist
    from keras_seq.demos import digits, model_files

    path = out / "model.keras"
    (x_train, y_train), _ = mnist.load_data()
    representative = mnist.as_images(x_train[: digits.REPRESENTATIVE_IMAGES])
    if path.is_file():
        progress.step(f"using the digit model {path}")
        return model_files.load_digit_model(path), representative
    settings = digits.FAST if fast else digits.FULL
    epochs = epochs if epochs is not None else (1 if fast else digits.DEFAULT_EPOCHS)
    x, y = mnist.as_images(x_train[: settings["train_images"]]), y_train[: settings["train_images"]]
    progress.step(f"no {path}: training LeNet-5 on {len(x)} MNIST digits for {epochs} epoch(s)")
    model = digits.train_lenet5(x, y, epochs, verbose=1 if sys.stdout.isatty() else 2)
    save_model(model, path)
    return model, representative


def word_model(out, epochs, fast, progress):
    """``out/handwriting.keras``, or the word model trained as ``keras-seq demo handwriting`` trains it."""
    from keras_seq.saving import save_model
    from keras_seq.datasets import ocr_words
    from keras_seq.demos import handwriting, model_files

    path = out / "handwriting.keras"
    train, test = ocr_words.load_words().split(handwriting.TEST_FOLD)
    if path.is_file():
        progress.step(f"using the word model {path}")
        return model_files.load_handwriting_model(path), test
    settings = handwriting.FAST if fast else handwriting.FULL
    epochs = epochs if epochs is not None else (1 if fast else handwriting.DEFAULT_EPOCHS)
    if settings["train_words"]:
        train = train.subset(np.arange(settings["train_words"]))
    x, y, _ = train.padded()
    progress.step(f"no {path}: training the word model on {len(train)} words for {epochs} epoch(s)")
    model = handwriting.train_handwriting(x, y, epochs, settings["model"],
                                          verbose=1 if sys.stdout.isatty() else 2)
    save_model(model, path)
    return model, test


def word_reader_model(out, epochs, fast, progress):
    """``out/words.keras``, or the CTC word reader trained and saved as ``keras-seq demo words`` does."""
    from keras_seq.demos import model_files, words

    path = out / words.READER_FILE
    if path.is_file():
        progress.step(f"using the word reader {path}")
        model = model_files.load_word_reader(path)
        return model, model_files.describe_word_reader(model, path)
    progress.say(f"no {path}: training it as `keras-seq demo words` does")
    epochs = words.default_epochs(epochs, fast)
    model = words.train_reader(words.training_data(fast), out, epochs, fast, progress)
    model = words.save_fixed_width(model, out)[0]
    return model, dict(model_files.describe_word_reader(model, path), epochs=epochs, smoke=fast)


def run_demo(out, epochs=None, fast=False, port=DEFAULT_PORT, open_browser=True, build_only=False,
             progress=None):
    """Build the site into ``out/web`` and serve it (see the module docstring).

    Args:
        out: an existing writable folder (models are read from and saved to it).
        epochs: training epochs when a model must be trained (default: the
            digits, handwriting and words demos' own).
        fast: tiny training when a model must be trained (a smoke run).
        port: port on 127.0.0.1, 0 for any free one.
        open_browser: open the page in the default browser.
        build_only: write the site and return without serving.
        progress: a :class:`keras_seq.demos.progress.Progress`; one is made if omitted.

    Returns:
        A dict: ``paths`` of the site's files, ``url`` (None when only built).
    """
    from keras_seq.arguments import boolean, integer, positive_int
    from keras_seq.demos.progress import Progress
    from keras_seq.demos.web_server import SiteServer
    from keras_seq.demos.web_site import build_site

    positive_int(epochs, "epochs", allow_none=True)
    integer(port, "port", minimum=0, maximum=65535)
    open_browser, build_only = boolean(open_browser, "open_browser"), boolean(build_only, "build_only")
    out = pathlib.Path(out)
    progress = progress or Progress(total=5 if build_only else 6)
    digits, representative = digit_model(out, epochs, fast, progress)
    words, held_out = word_model(out, epochs, fast, progress)
    reader, about_reader = word_reader_model(out, epochs, fast, progress)
    progress.step("exporting the models for LiteRT.js and writing the site")
    paths = build_site(out / "web", digits, words, representative, held_out, reader, about_reader=about_reader)
    progress.step(f"site written to {(out / 'web').resolve()} ({len(paths)} files)")
    if build_only:
        return {"paths": paths, "url": None}
    with SiteServer(out / "web", port=port) as server:
        url = server.url
        progress.step(f"serving on {url} (127.0.0.1 only); press Ctrl-C to stop")
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        try:
            server.wait()
        except KeyboardInterrupt:
            progress.say("stopped")
    return {"paths": paths, "url": url}


def main(argv=None):
    """``python -m keras_seq.demos.web``: the options of ``keras-seq demo web``."""
    from keras_seq.demos.command import main_for

    return main_for("web", argv)


if __name__ == "__main__":
    raise SystemExit(main())
