"""``keras-seq demo [NAME]``: run one end-to-end demo, writing everything to ``--out``.

Demos: ``digits`` (default; LeNet-5 -> float32 and int8 ``.tflite`` -> LiteRT
on the MNIST test set -> saliency figures), ``handwriting`` (CNN+BiLSTM on
OCR words, fold 0 held out), ``filters`` (named kernels with padding and
stride), ``gradient-flow`` (||dL/dh_t|| for Elman vs LSTM), ``web`` (the
``.tflite`` files in a browser page with LiteRT.js) and ``words`` (the word
reader, CNN+BiLSTM+CTC, on word images, with the columns behind each letter).
The same demos run as ``python -m keras_seq.demos.NAME`` with the same options.

Each demo that trains (``TRAINED``) is ``run_demo(out, epochs=None,
fast=False, model_path=None, progress=None)`` in its module, returning a dict
of its figures and ``paths``:

- ``out``: an existing writable folder for every output file;
- ``epochs``: training epochs (default the demo's ``DEFAULT_EPOCHS``; 1 with ``fast``);
- ``fast``: a tiny model on a few examples (a smoke run);
- ``model_path``: a saved ``.keras`` model of the demo's kind, used instead of training;
- ``progress``: a :class:`keras_seq.demos.progress.Progress`; one is made if omitted.
"""

from keras_seq.quiet_output import VERBOSE_HELP

DEMOS = {
    "digits": ("keras_seq.demos.digits", "train LeNet-5, export float32/int8 .tflite, run with LiteRT, saliency"),
    "handwriting": ("keras_seq.demos.handwriting", "CNN+BiLSTM on OCR words: Keras vs TFLite, per-letter saliency"),
    "filters": ("keras_seq.demos.filters", "the named filter bank with padding and stride variants"),
    "gradient-flow": ("keras_seq.demos.gradient_flow", "||dL/dh_t|| over time for Elman vs LSTM, with clipping"),
    "web": ("keras_seq.demos.web", "the .tflite files in a browser page with LiteRT.js: draw a digit, read a word"),
    "words": ("keras_seq.demos.words", "CNN+BiLSTM+CTC reads word images on device; columns behind each letter"),
}
TRAINED = ("digits", "handwriting", "words")


def add_arguments(parser, name=None):
    if name is None:
        parser.add_argument("name", nargs="?", default="digits", metavar="NAME",
                            help="which demo: " + ", ".join(DEMOS) + " (default: digits)")
    parser.add_argument("--out", default="keras-seq-out",
                        help="folder for models, metrics and figures (default: ./keras-seq-out/)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (digits, handwriting, words; default: the demo's own)")
    parser.add_argument("--fast", action="store_true",
                        help="tiny training and few test images: a smoke run in seconds")
    parser.add_argument("--model", default=None,
                        help="a saved .keras model to use instead of training (digits, handwriting, words)")
    if name is not None:  # keras-seq's own --verbose serves `keras-seq demo`
        parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    if name in (None, "web"):
        from keras_seq.demos.web import add_web_arguments

        add_web_arguments(parser)


def run(args):
    import importlib

    from keras_seq import arguments
    from keras_seq.demos import output_folder

    name = arguments.choice(args.name, "demo", tuple(DEMOS))
    if name not in TRAINED and (args.epochs is not None or args.model is not None):
        raise ValueError(f"--epochs and --model apply to {', '.join(TRAINED[:-1])} and {TRAINED[-1]} only, "
                         f"not {name!r}")
    if args.epochs is not None:
        arguments.positive_int(args.epochs, "--epochs")
    out = output_folder.prepare(args.out)
    module = importlib.import_module(DEMOS[name][0])
    options = {"out": out, "fast": args.fast}
    if name in TRAINED:
        options.update(epochs=args.epochs, model_path=args.model)
    if hasattr(args, "port"):  # the web options are parsed for NAME and for web
        from keras_seq.demos.web import web_options

        options.update(web_options(args, name))
    module.run_demo(**options)
    print(f"everything is in {out.resolve()}")
    return 0


def main_for(name, argv=None):
    """``python -m keras_seq.demos.NAME``: the options of ``keras-seq demo NAME``, errors as the CLI gives them."""
    import argparse
    import sys

    from keras_seq.quiet_output import quiet_native_output

    parser = argparse.ArgumentParser(prog=f"python -m keras_seq.demos.{name.replace('-', '_')}",
                                     description=DEMOS[name][1])
    add_arguments(parser, name=name)
    args = parser.parse_args(argv)
    args.name = name
    with quiet_native_output(verbose=args.verbose):
        try:
            return run(args)
        except (ValueError, OSError) as error:
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            return 2
