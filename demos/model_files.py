"""Load a saved Keras model for a demo and check it is the kind the demo needs."""

import pathlib

DIGIT_INPUT = (28, 28, 1)
DIGIT_CLASSES = 10
LETTER_INPUT = (16, 8, 1)
LETTER_CLASSES = 26


def load_keras_model(path):
    """Load a ``.keras`` file with the package's one safe loader (:func:`keras_seq.saving.load_keras_model`).

    Raises ``OSError`` when the file is missing or not a regular file (a
    directory, a FIFO, a device: each named) and ``ValueError`` (a
    :class:`keras_seq.saving.ModelFileError`) when it is not a readable,
    intact Keras model file.
    """
    from keras_seq import saving
    from keras_seq.file_reading import regular_file_size

    path = pathlib.Path(path)
    regular_file_size(path, f"--model {str(path)!r}", error=OSError)
    if path.suffix != ".keras":
        raise ValueError(f"--model {str(path)!r} is not a .keras model file (got suffix {path.suffix!r})")
    return saving.load_keras_model(path, what=f"--model {str(path)!r}")


def load_digit_model(path):
    """Load a digit classifier: input (N, 28, 28, 1), output softmax over 10."""
    model = load_keras_model(path)
    check_model_shapes(model, DIGIT_INPUT, DIGIT_CLASSES, f"--model {str(path)!r}", "a digit model")
    return model


def load_handwriting_model(path):
    """Load a handwriting model: input (N, T, 16, 8, 1), output (N, T, 26); a keras_seq handwriting
    model saved in an earlier form comes back in the current one
    (:func:`keras_seq.models.handwriting.letters_in_batch`)."""
    from keras_seq.models.handwriting import current_form

    model = load_keras_model(path)
    check_model_shapes(model, (None,) + LETTER_INPUT, LETTER_CLASSES, f"--model {str(path)!r}",
                       "a handwriting model")
    return current_form(model)


def load_word_reader(path):
    """Load a CTC word reader (:func:`keras_seq.models.word_reader.is_word_reader`)."""
    from keras_seq.models.word_reader import is_word_reader

    model = load_keras_model(path)
    if not is_word_reader(model):
        raise ValueError(f"--model {str(path)!r} is not a word reader: it maps inputs of shape "
                         f"{tuple(model.inputs[0].shape[1:])} to {model.outputs[0].shape[-1]} outputs, expected "
                         "(32, width, 2) -> 27 symbols (blank and a-z)")
    return model


def check_model_shapes(model, input_shape, num_classes, what, kind):
    """Raise ``ValueError`` unless ``model`` maps one input of ``input_shape`` to ``num_classes``."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"{what} is not {kind}: it has {len(model.inputs)} inputs and "
                         f"{len(model.outputs)} outputs, expected 1 and 1")
    got_input = tuple(model.inputs[0].shape[1:])
    got_classes = model.outputs[0].shape[-1]
    if got_input != tuple(input_shape) or got_classes != num_classes:
        raise ValueError(
            f"{what} is not {kind}: it maps inputs of shape {got_input} to {got_classes} "
            f"outputs, expected {tuple(input_shape)} -> {num_classes} classes"
        )


def digit_model_main(argv, prog, description, default_count, explain):
    """The ``python -m keras_seq.demos.NAME --model FILE [--out DIR] [--count N]`` entry point.

    Parses the arguments, prepares ``--out``, loads and checks the digit
    model, then calls ``explain(model, out, count, model_path)``. Bad arguments, files
    or folders print one clear line and return 2.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--model", required=True, help="a saved digit model (.keras)")
    parser.add_argument("--out", default="keras-seq-out", help="folder for the figures")
    parser.add_argument("--count", type=int, default=default_count, help="digits to explain")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's native log lines (hidden by default)")
    args = parser.parse_args(argv)
    try:
        if args.count < 1:
            raise ValueError(f"--count must be >= 1, got {args.count}")
        from keras_seq.demos import output_folder

        out = output_folder.prepare(args.out)
        return explain(load_digit_model(args.model), out, args.count, args.model)
    except (ValueError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2


def describe_word_reader(model, path=None):
    """What the page says about the word reader it runs: a JSON-able dict.

    ``file`` (the ``.keras`` name, or None), ``parameters``, ``smoke`` (True
    for the ``--fast`` demo's tiny reader, recognised by its architecture:
    its answers are a smoke run's, not a trained reader's) and, when the run
    folder beside ``path`` tells them, ``epochs`` and ``test_fold`` (from a
    ``keras-seq train words`` ``metrics.json``).
    """
    import json

    from keras_seq.demos.words import FAST
    from keras_seq.models.word_reader import word_reader

    parameters = int(model.count_params())
    about = {"file": None if path is None else pathlib.Path(path).name, "parameters": parameters,
             "smoke": parameters == word_reader(**FAST["model"]).count_params(), "epochs": None, "test_fold": None}
    metrics = None if path is None else pathlib.Path(path).with_name("metrics.json")
    if metrics is not None and metrics.is_file():
        try:
            run = json.loads(metrics.read_text())
            about["epochs"], about["test_fold"] = run.get("epochs"), run.get("test_fold")
            about["smoke"] = about["smoke"] or run.get("limit") is not None
        except (OSError, ValueError, AttributeError):
            pass  # an unreadable metrics.json only leaves the description shorter
    return about
