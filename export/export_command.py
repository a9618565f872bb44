"""``keras-seq export``: a ``.keras`` model to ``.tflite``, with its op report and parity.

The model's input says which bundled data it takes
(:func:`keras_seq.export.bundled_inputs.input_kind`): ``--quantize int8``
calibrates on 200 training inputs of that data, and the export is checked
against Keras on held-out ones.

A word reader (input (batch, 32, width, 2), pixels and column mask) is
exported at its fixed width with the recurrence as a loop, which reads the
mask and runs in every LiteRT runtime. Its int8 export differs, because
TensorFlow's int8 calibrator crashes on loops (tensorflow/tensorflow#75140)
and TFLite's fused LSTM op, the one recurrence it quantizes, has no mask: a
fixed width would make the backward LSTM read the padding first. So the int8
file has a dynamic width and each word runs unpadded at its own width
(classic interpreter only: the fused op keeps its state in variable tensors);
``--max-length``, ``--recurrent loop`` and ``--batch-size`` above 1 are
refused with it.
"""

import json
import pathlib

QUANTIZE_CHOICES = ("none", "dynamic", "float16", "int8")
CALIBRATION_SAMPLES = 200
PARITY_SAMPLES = 500
PARITY_WORDS = 100
METRICS_FILE = "metrics.json"


def add_arguments(parser):
    parser.add_argument("model", help="the .keras model file")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="none",
                        help="weights/activations precision (default: none = float32); int8 calibrates on "
                             f"{CALIBRATION_SAMPLES} bundled training inputs: MNIST digits, OCR words, or "
                             "word strips for a word reader (whose int8 file then has a dynamic width)")
    parser.add_argument("--out", required=True, help="the .tflite file to write")
    parser.add_argument("--int8-io", action="store_true",
                        help="with --quantize int8: int8 input and output tensors too")
    parser.add_argument("--recurrent", choices=("loop", "fused-lstm"), default=None,
                        help="how LSTM/Elman layers become TFLite ops: loop (default; runs in every "
                             "LiteRT runtime) or fused-lstm (TFLite's fused kernel: classic interpreter "
                             "only; the default with --quantize int8, which needs it; a word reader "
                             "with it gets a dynamic width, since the fused op has no mask)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="fix the batch dimension (devices and LiteRT.js want fixed shapes; "
                             "default: 1 for recurrent models, else dynamic)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="fix the letter count of a handwriting model, (T, 16, 8, 1) (shorter words "
                             "are padded and masked, longer ones refused); a word reader keeps its "
                             "model's width")
    parser.add_argument("--test-fold", type=int, default=None,
                        help="word models (handwriting, word reader): the OCR-words fold left out of "
                             "int8 calibration and used for the parity check (default: the run's "
                             f"--test-fold from {METRICS_FILE} beside the model, else 0)")


def run(args):
    from keras_seq.export import bundled_inputs
    from keras_seq.export.convert import to_tflite
    from keras_seq.export.edge_model import EdgeModel
    from keras_seq.export.op_report import op_report
    from keras_seq.export.validate import load_keras_model

    model = load_keras_model(args.model)
    kind = bundled_inputs.input_kind(model.inputs[0].shape)
    quantization = None if args.quantize == "none" else args.quantize
    fold = _held_out_fold(args, kind)
    converted, recurrent = model, args.recurrent
    if kind == bundled_inputs.WORD_STRIPS:
        converted, recurrent = _word_reader_export(model, args, quantization)
    representative = None
    if quantization == "int8":
        if kind is None:
            raise ValueError(
                f"--quantize int8 needs calibration data; no bundled dataset fits input {model.inputs[0].shape}"
            )
        representative = _calibration_samples(kind, fold)
    data = to_tflite(converted, args.out, quantization=quantization, representative_data=representative,
                     int8_io=args.int8_io, batch_size=args.batch_size, max_length=args.max_length,
                     recurrent=recurrent)
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


def _word_reader_export(model, args, quantization):
    """``(model to convert, recurrent lowering)`` for a word reader; refuses what cannot work."""
    from keras_seq.export.recurrent_lowering import FUSED_LSTM
    from keras_seq.models.word_reader import fixed_width_copy

    width = model.inputs[0].shape[2]
    if quantization == "int8":
        clashes = [flag for flag, clash in (
            (f"--max-length {args.max_length}", args.max_length is not None),
            ("--recurrent loop", args.recurrent == "loop"),
            (f"--batch-size {args.batch_size}", args.batch_size not in (None, 1)),
        ) if clash]
        if clashes:
            raise ValueError(
                f"{' and '.join(clashes)} cannot be used with --quantize int8 of a word reader: int8 needs "
                "TFLite's fused LSTM op (TensorFlow's int8 calibrator crashes on the loop, "
                "tensorflow/tensorflow#75140), which has no column mask, so the file reads one word at a "
                "time at its own width, unpadded. Leave those options out, or use --quantize dynamic or "
                "float16 for a file at the model's fixed width with the loop (every LiteRT runtime)"
            )
    elif args.max_length is not None:
        raise ValueError(
            f"--max-length {args.max_length} fixes the letter count of a handwriting model (T, 16, 8, 1); "
            f"a word reader reads a strip of {width or 'any'} columns and keeps its model's width"
        )
    if quantization != "int8" and args.recurrent != FUSED_LSTM:
        return model, args.recurrent
    why = ("int8 needs TFLite's fused LSTM op (the int8 calibrator cannot run the loop)"
           if quantization == "int8" else "--recurrent fused-lstm")
    print(f"word reader: {why}; that op has no column mask, so the file gets a dynamic width and reads "
          "each word unpadded at its own width (the classic LiteRT interpreter runs it; "
          "CompiledModel and LiteRT.js do not)", flush=True)
    return fixed_width_copy(model, None), FUSED_LSTM


def _calibration_samples(kind, fold):
    """int8 calibration inputs for ``kind``: bundled training data, never the held-out fold."""
    from keras_seq.export import bundled_inputs

    if kind == bundled_inputs.DIGITS:
        return bundled_inputs.digits("train", CALIBRATION_SAMPLES)[0]
    if kind == bundled_inputs.WORDS:
        return bundled_inputs.word_samples(bundled_inputs.words("train", CALIBRATION_SAMPLES, fold))
    strips = bundled_inputs.training_word_strips(CALIBRATION_SAMPLES, fold)
    print(f"int8 calibration: {len(strips)} word strips of the training folds (fold {fold} held out), "
          "each at its own width: half training words as written, half random strings of their letters "
          "drawn as pictures vary", flush=True)
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
