"""The ``keras-seq`` command line.

This is the one module that composes ``keras_seq``, ``export`` and ``demos``.
Each subcommand lives beside the code it drives, in a module with
``add_arguments(parser)`` and ``run(args) -> int``. Only the chosen
subcommand's module is imported, so ``keras-seq --help`` does not load
TensorFlow. TensorFlow's native log lines are kept off the terminal unless
``--verbose`` is given (:mod:`keras_seq.quiet_output`), also while the
subcommand's module is imported: importing it may load TensorFlow, before
argparse prints ``keras-seq COMMAND --help``.
"""

import argparse
import importlib
import sys

from keras_seq.quiet_output import VERBOSE_HELP, quiet_native_output

COMMANDS = {
    "data": ("keras_seq.datasets.command", "show the bundled datasets"),
    "train": ("keras_seq.training.command", "train the digits, handwriting or words (word reader) model"),
    "export": ("keras_seq.export.export_command", "convert a .keras model to .tflite (op report, parity)"),
    "infer": ("keras_seq.export.infer_command",
              "run a .tflite model on a digit image, a picture of a word or a bundled OCR word"),
    "verify": ("keras_seq.export.verify_command", "check a .tflite or .keras file's digest, structure and loading"),
    "demo": ("keras_seq.demos.command",
             "run a demo: digits (default), handwriting, filters, gradient-flow, web, words"),
}


def build_parser(command=None, verbose=False):
    """The argument parser; only ``command``'s own arguments are loaded.

    ``verbose``: let the native lines of importing ``command``'s module
    (TensorFlow's start-up) through.
    """
    parser = argparse.ArgumentParser(
        prog="keras-seq",
        description="Hand-written CNN/RNN Keras layers, TFLite export and saliency demos.",
    )
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: the flag given before the command is not overwritten by this default.
        sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        if name == command:
            with quiet_native_output(verbose=verbose):
                module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(module=module)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command, verbose="--verbose" in argv).parse_args(argv)
    with quiet_native_output(verbose=args.verbose):
        try:
            return args.module.run(args) or 0
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except (ValueError, OSError) as error:
            print(f"keras-seq {args.command}: error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
