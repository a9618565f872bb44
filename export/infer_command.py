"""``keras-seq infer``: run a ``.tflite`` model on a digit image, a picture of a word or a bundled OCR word.

The model's input says which: a digit model (28, 28, 1) reads an image
file, a word reader (32, width, 2) reads a picture of a word (any PNG; see
:mod:`keras_seq.export.word_image`), a letter-sequence model (T, 16, 8, 1)
reads a word of the bundled OCR set by its index.
"""


def add_limit_arguments(parser):
    """``--time-limit`` and ``--memory-limit``: the bounds on each run of the model (infer, verify)."""
    from keras_seq.export import limits

    parser.add_argument("--time-limit", type=float, default=limits.RUN_TIME_LIMIT, metavar="SECONDS",
                        help="stop a run of the model that takes longer (default %(default)g)")
    parser.add_argument("--memory-limit", type=int, default=limits.RUN_MEMORY_LIMIT >> 20, metavar="MIB",
                        help="stop a run of the model that uses more memory (default %(default)d, half this "
                             "machine's)")


def add_arguments(parser):
    parser.add_argument("model", help="the .tflite file")
    parser.add_argument("input", help="a digit image (digit model) or a picture of a word (word reader), "
                                      "any PNG of any size; or word:INDEX / INDEX for a word of the "
                                      "bundled OCR set (handwriting model, letters cut out)")
    add_limit_arguments(parser)


def _word_index(text):
    body = text[len("word:"):] if text.startswith("word:") else text
    if not body.strip().lstrip("-").isdigit():
        return None
    return int(body)


def run(args):
    from keras_seq.export.warning_lines import one_line_warnings

    with one_line_warnings("keras-seq infer"):
        return _infer(args)


def _probabilities(values, what):
    """Refuse outputs that are not probabilities: a damaged file must not print ``probability: nan``."""
    from keras_seq.export.errors import ModelFileError
    from keras_seq.export.output_checks import distribution_problem

    problem = distribution_problem(values, tolerance=0.05)  # int8 outputs are rounded to 1/256 each
    if problem:
        raise ModelFileError(f"{what} produced outputs that are not probabilities: the output {problem}")
    return values


def _infer(args):
    import pathlib

    import numpy as np

    from keras_seq.export import bundled_inputs
    from keras_seq.export.digit_image import load_digit_image
    from keras_seq.export import word_image
    from keras_seq.export.edge_model import EdgeModel
    from keras_seq.export.errors import ModelFileError
    from keras_seq.models.word_reader import reads_word_strips

    edge = EdgeModel(args.model, time_limit=args.time_limit, memory_limit=args.memory_limit << 20)
    what = f"TFLite model {args.model!r}"
    if reads_word_strips(edge.input_shape):
        return word_image.infer(edge, args.input)
    kind = bundled_inputs.input_kind(edge.input_shape)
    index = None if pathlib.Path(args.input).is_file() else _word_index(args.input)
    if kind == bundled_inputs.DIGITS:
        if edge.output_shape[1:] != (10,):
            raise ModelFileError(f"{what}: output {edge.output_shape} is not 10 digit probabilities (N, 10)")
        if not pathlib.Path(args.input).is_file():
            raise ValueError(f"INPUT {args.input!r}: this is a digit model; give an image file")
        probabilities = _probabilities(edge.predict(load_digit_image(args.input)[None])[0], what)
        digit = int(np.argmax(probabilities))
        print(f"prediction: {digit}  probability: {probabilities[digit]:.4f}")
        return 0
    if kind == bundled_inputs.WORDS:
        from keras_seq.datasets import ocr_words

        if len(edge.output_shape) != 3 or edge.output_shape[2] != len(ocr_words.LETTERS):
            raise ModelFileError(f"{what}: output {edge.output_shape} is not probabilities of the "
                                 f"{len(ocr_words.LETTERS)} letters (N, T, {len(ocr_words.LETTERS)})")
        words = ocr_words.load_words()
        if index is None or not 0 <= index < len(words):
            raise ValueError(
                f"INPUT {args.input!r}: this is a word model; give word:INDEX with INDEX in 0-{len(words) - 1}"
            )
        probabilities = edge.predict([words.images[index][..., None].astype(np.float32)])[0]
        probabilities = _probabilities(probabilities, what)
        letters = np.argmax(probabilities, axis=-1)
        per_letter = probabilities[np.arange(len(letters)), letters]
        print(f"prediction: {ocr_words.decode(letters)!r}  probability: {float(np.prod(per_letter)):.4f} "
              f"(letters {' '.join(f'{p:.2f}' for p in per_letter)})  "
              f"truth: {ocr_words.decode(words.labels[index])!r}")
        return 0
    raise ValueError(
        f"{args.model}: input {edge.input_shape} is not a digit (28, 28, 1), word reader (32, width, 2) "
        "or letter-sequence (T, 16, 8, 1) model"
    )
