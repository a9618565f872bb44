"""``keras-seq export``: a ``.keras`` model to ``.tflite``, with its op report and parity.

The model's input says which bundled data it takes
(:func:`keras_seq.export.bundled_inputs.input_kind`): ``--quantize int8``
calibrates on ``BUNDLED_CALIBRATION_INPUTS`` training inputs of that data
(and says which), and the export is checked against Keras on held-out ones.

The file is the portable one by default: batch 1, which every LiteRT runtime
loads (``--batch-size dynamic`` leaves the batch open, for the classic
interpreter only). How each recurrent layer is lowered, a word reader's int8
file included, is :func:`keras_seq.export.to_tflite`'s policy; its op report
says what became of each layer and why.
"""

import json
import pathlib

from keras_seq.export.export_options import DYNAMIC_BATCH, QUANTIZATIONS, RECURRENT_LOWERINGS

BUNDLED_CALIBRATION_INPUTS = 200  # bundled training inputs drawn for --quantize int8
PARITY_SAMPLES = 500
PARITY_WORDS = 100
METRICS_FILE = "metrics.json"


def batch_size_argument(text):
    """``--batch-size``: a positive integer or ``dynamic``."""
    import argparse

    if text == DYNAMIC_BATCH:
        return DYNAMIC_BATCH
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or {DYNAMIC_BATCH!r}, got {text!r}")
    return value


def add_arguments(parser):
    parser.add_argument("model", help="the .keras model file")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                        help="weights/activations precision (default: none = float32); int8 calibrates on "
                             f"{BUNDLED_CALIBRATION_INPUTS} bundled training inputs: MNIST digits, OCR words, "
                             "or word strips for a word reader (whose int8 file then has a dynamic width)")
    parser.add_argument("--out", required=True, help="the .tflite file to write")
    parser.add_argument("--int8-io", action="store_true",
                        help="with --quantize int8: int8 input and output tensors too")
    parser.add_argument("--recurrent", choices=RECURRENT_LOWERINGS, default=None,
                        help="how LSTM/Elman layers become TFLite ops: unroll (straight-line steps, what "
                             "LiteRT's GPU accelerator runs; the default for short fixed lengths), loop (the "
                             "default beyond; every LiteRT runtime, on the CPU) or fused-lstm (TFLite's fused "
                             "kernel: classic interpreter only; the default with --quantize int8, whose "
                             "portable form is --recurrent unroll at a fixed length; a word reader with it gets "
                             "a dynamic width, since the fused op has no mask)")
    parser.add_argument("--batch-size", type=batch_size_argument, default=1,
                        help="the batch dimension: default 1, the portable file every LiteRT runtime loads; "
                             f"'{DYNAMIC_BATCH}' leaves it open (classic interpreter only)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="fix the letter count of a handwriting model, (T, 16, 8, 1) (shorter words "
                             "are padded and masked, longer ones refused); a word reader keeps its "
                             "model's width")
    parser.add_argument("--test-fold", type=int, default=None,
                        help="word models (handwriting, word reader): the OCR-words fold left out of "
                             "int8 calibration and used for the parity check (default: the run's "
                             f"--test-fold from {METRICS_FILE} beside the model, else 0)")


def run(args):
    from keras_seq import atomic_files
    from keras_seq.export import bundled_inputs
    from keras_seq.export.convert import to_tflite
    from keras_seq.export.edge_model import EdgeModel
    from keras_seq.export.op_report import op_report
    from keras_seq.export.validate import load_keras_model
    from keras_seq.models.handwriting import current_form

    atomic_files.check_target(args.out, "--out")  # before the conversion, not after it
    model = load_keras_model(args.model)
    kind = bundled_inputs.input_kind(model.inputs[0].shape)
    if kind == bundled_inputs.WORDS:
        model = current_form(model)  # a handwriting model saved in an earlier form: the current one
    fold = _held_out_fold(args, kind)
    representative = None
    if args.quantize == "int8":
        if kind is None:
            raise ValueError(
                f"--quantize int8 needs calibration data; no bundled dataset fits input {model.inputs[0].shape}"
            )
        representative = _calibration_samples(kind, fold)
    data = to_tflite(model, args.out, quantization=args.quantize, representative_data=representative,
                     int8_io=args.int8_io, batch_size=args.batch_size, max_length=args.max_length,
                     recurrent=args.recurrent)
    edge = EdgeModel(data)
    print(f"wrote {args.out}: {len(data)} bytes ({len(data) / 1024:.1f} KiB), quantization {args.quantize}")
    print(edge)
    print(op_report(edge))
    _print_parity(kind, model, edge, fold)
    return 0


def _held_out_fold(args, kind):
    """The OCR-words fold kept out of calibration: ``--test-fold``, the run's own, or 0."""
    from keras_seq import arguments
    from keras_seq.datasets import ocr_words
    from keras_seq.export import bundled_inputs

    if kind not in (bundled_inputs.WORDS, bundled_inputs.WORD_STRIPS):
        if args.test_fold is not None:
            raise ValueError(f"--test-fold {args.test_fold} applies to models of the OCR words "
                             "(handwriting, word reader); this model takes other inputs")
        return None
    if args.test_fold is not None:
        return arguments.integer(args.test_fold, "--test-fold", minimum=0, maximum=ocr_words.NUM_FOLDS - 1)
    try:
        fold = json.loads((pathlib.Path(args.model).parent / METRICS_FILE).read_text())["test_fold"]
        return ocr_words.check_fold(fold)
    except (OSError, ValueError, TypeError, KeyError):
        return 0  # no run folder around the model: the bundled set's first fold


def _calibration_samples(kind, fold):
    """int8 calibration inputs for ``kind``: bundled training data, never the held-out fold; says which."""
    from keras_seq.export import bundled_inputs

    count = BUNDLED_CALIBRATION_INPUTS
    if kind == bundled_inputs.DIGITS:
        samples = bundled_inputs.digits("train", count)[0]
        print(f"int8 calibration: the first {len(samples)} MNIST training digits", flush=True)
        return samples
    if kind == bundled_inputs.WORDS:
        chosen = bundled_inputs.words("train", count, fold)
        print(f"int8 calibration: {len(chosen)} OCR words of the training folds (fold {fold} held out), "
              "each at its own length", flush=True)
        return bundled_inputs.word_samples(chosen)
    strips = bundled_inputs.training_word_strips(count, fold)
    print(f"int8 calibration: {len(strips)} word strips of the training folds (fold {fold} held out), "
          "each at its own width (padded for a fixed-width file): a third training words as written, a third "
          "random strings of their letters drawn as pictures vary, a third random strings in the training "
          "faces' and fonts' handwriting; the widest "
          f"{bundled_inputs.FULL_WIDTH_SHARE:.0%} stretched to the reader's full width", flush=True)
    return bundled_inputs.strip_samples(strips)


def _print_parity(kind, model, edge, fold):
    from keras_seq.export import bundled_inputs
    from keras_seq.export.parity import parity, strip_parity

    if kind == bundled_inputs.DIGITS:
        x, _ = bundled_inputs.digits("test", PARITY_SAMPLES)
        print(f"parity on {len(x)} MNIST test digits: {parity(model, edge, x)}")
    elif kind == bundled_inputs.WORDS:
        chosen = bundled_inputs.words("test", PARITY_WORDS, fold)
        x, _, mask = chosen.padded()
        print(f"parity on {len(chosen)} OCR words of held-out fold {fold} (TFLite at each word's length): "
              f"{parity(model, edge, x, lengths=mask.sum(axis=1))}")
    elif kind == bundled_inputs.WORD_STRIPS:
        strips = bundled_inputs.held_out_word_strips(PARITY_WORDS, fold)
        width = edge.input_shape[2]
        how = f"padded to its {width} columns, masked" if width > 0 else "at each strip's own width"
        print(f"parity on {len(strips)} real word strips of held-out fold {fold} (TFLite {how}): "
              f"{strip_parity(model, edge, strips.images)}")
    else:
        print("parity: no bundled dataset fits this model's input; skipped")
