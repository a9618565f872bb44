"""``keras-seq export``: a ``.keras`` model to ``.tflite``, with its op report and parity."""

QUANTIZE_CHOICES = ("none", "dynamic", "float16", "int8")
PARITY_SAMPLES = 500


def add_arguments(parser):
    parser.add_argument("model", help="the .keras model file")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="none",
                        help="weights/activations precision (default: none = float32)")
    parser.add_argument("--out", required=True, help="the .tflite file to write")
    parser.add_argument("--int8-io", action="store_true",
                        help="with --quantize int8: int8 input and output tensors too")
    parser.add_argument("--recurrent", choices=("loop", "fused-lstm"), default=None,
                        help="how LSTM/Elman layers become TFLite ops: loop (default; runs in every "
                             "LiteRT runtime) or fused-lstm (TFLite's fused kernel: classic interpreter "
                             "only; the default with --quantize int8, which needs it)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="fix the batch dimension (devices and LiteRT.js want fixed shapes; "
                             "default: 1 for recurrent models, else dynamic)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="fix the sequence length of a word model (shorter words are padded "
                             "and masked, longer ones refused)")


def run(args):
    from keras_seq.export import bundled_inputs
    from keras_seq.export.convert import to_tflite
    from keras_seq.export.edge_model import EdgeModel
    from keras_seq.export.op_report import op_report
    from keras_seq.export.parity import parity
    from keras_seq.export.validate import load_keras_model

    model = load_keras_model(args.model)
    kind = bundled_inputs.input_kind(model.inputs[0].shape)
    quantization = None if args.quantize == "none" else args.quantize
    representative = None
    if quantization == "int8":
        if kind is None:
            raise ValueError(
                f"--quantize int8 needs calibration data; no bundled dataset fits input {model.inputs[0].shape}"
            )
        representative = (
            bundled_inputs.digits("train", 200)[0] if kind == bundled_inputs.DIGITS
            else bundled_inputs.word_samples(bundled_inputs.words("train", 200))
        )
    data = to_tflite(model, args.out, quantization=quantization, representative_data=representative,
                     int8_io=args.int8_io, batch_size=args.batch_size, max_length=args.max_length,
                     recurrent=args.recurrent)
    edge = EdgeModel(data)
    print(f"wrote {args.out}: {len(data)} bytes ({len(data) / 1024:.1f} KiB), quantization {args.quantize}")
    print(edge)
    print(op_report(edge))
    if kind == bundled_inputs.DIGITS:
        x, _ = bundled_inputs.digits("test", PARITY_SAMPLES)
        print(f"parity on {len(x)} MNIST test digits: {parity(model, edge, x)}")
    elif kind == bundled_inputs.WORDS:
        chosen = bundled_inputs.words("test", 100)
        x, _, mask = chosen.padded()
        print(f"parity on {len(chosen)} OCR test words (TFLite at each word's length): "
              f"{parity(model, edge, x, lengths=mask.sum(axis=1))}")
    else:
        print("parity: no bundled dataset fits this model's input; skipped")
    return 0
