"""Handwriting demo: the CNN+BiLSTM word reader, Keras vs TFLite, per-letter saliency.

``keras-seq demo handwriting``:

1. trains ``keras_seq.models.handwriting`` on the OCR words of folds 1-9
   (or loads ``--model``); fold 0 is held out;
2. exports it to a float32 ``.tflite`` (``keras_seq.export.to_tflite``) and runs it
   with LiteRT (``export.EdgeModel``);
3. prints letter accuracy (over real letters, padding excluded) and word
   accuracy (every letter right) on fold 0 for Keras and TFLite, and a few
   held-out words (including up to three that Keras misreads) decoded next
   to their truth;
4. draws, for a few held-out words, the per-letter saliency over the whole
   word (:class:`keras_seq.saliency.LetterSaliency`): row ``t`` shows which
   letters' pixels decided letter ``t``. A bidirectional LSTM,
   ``o_t = theta(W_f h_t^(f) + W_b h_t^(b))``, may look both left and
   right of ``t``; ``letter_share`` measures how much it does.

Everything lands in ``out``: ``handwriting.keras``, ``handwriting.tflite``,
``handwriting_metrics.json`` and ``letter_saliency_<word>.png``.

Example:
    >>> from keras_seq.demos.handwriting import run_demo
    >>> result = run_demo("keras-seq-out", epochs=3)
    >>> result["metrics"]["tflite"]["word_accuracy"]
"""

import json
import pathlib
import sys

import numpy as np

from keras_seq import arguments

DEFAULT_EPOCHS = 3
FAST = {"train_words": 200, "test_words": 30, "explained_words": 2,
        "model": {"units": 16, "filters": (8, 8), "features": 16}}
FULL = {"train_words": None, "test_words": None, "explained_words": 3, "model": {}}
BATCH_SIZE = 32
TEST_FOLD = 0
SHOWN_WORDS = 8


def train_handwriting(x, y, epochs, model_options=None, verbose=2):
    """Train ``keras_seq.models.handwriting(**model_options)`` on padded words; return it."""
    import keras

    from keras_seq.models import handwriting

    model = handwriting(**(model_options or {}))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=BATCH_SIZE, verbose=verbose)
    return model


def letter_and_word_accuracy(probabilities, labels, mask):
    """Letter accuracy over real letters and the share of words with every letter right."""
    right = (np.asarray(probabilities).argmax(axis=-1) == labels) | ~mask
    return {"letter_accuracy": float(right[mask].mean()), "word_accuracy": float(right.all(axis=1).mean())}


def distinct_words(texts, count):
    """Indices of the first ``count`` words with different transcriptions."""
    seen, chosen = set(), []
    for i, text in enumerate(texts):
        if text not in seen:
            seen.add(text)
            chosen.append(i)
        if len(chosen) == count:
            break
    return chosen


def run_demo(out, epochs=None, fast=False, model_path=None, progress=None):
    """Train (or load), export, compare and explain the handwriting model.

    The arguments are every trained demo's (:mod:`keras_seq.demos.command`);
    ``fast`` trains on 200 words and evaluates on 30.

    Returns:
        A dict: ``metrics`` ``{"keras"|"tflite": {letter_accuracy,
        word_accuracy}}``, ``decoded`` list of ``(truth, keras, tflite)``,
        ``saliency`` list of :class:`keras_seq.saliency.LetterSaliency` results,
        ``paths`` of the written files.
    """
    from keras_seq import export
    from keras_seq.demos import model_files
    from keras_seq.atomic_files import write_bytes
    from keras_seq.saving import save_model
    from keras_seq.datasets import ocr_words
    from keras_seq.demos.progress import Progress

    settings = FAST if fast else FULL
    epochs = epochs if epochs is not None else (1 if fast else DEFAULT_EPOCHS)
    arguments.positive_int(epochs, "epochs")
    out = pathlib.Path(out)
    progress = progress or Progress(total=5)
    model = model_files.load_handwriting_model(model_path) if model_path is not None else None

    train, test = ocr_words.load_words().split(TEST_FOLD)
    if settings["train_words"]:
        train = train.subset(np.arange(settings["train_words"]))
        test = test.subset(np.arange(settings["test_words"]))
    x_test, y_test, mask_test = test.padded()
    paths = {}
    if model is None:
        x_train, y_train, _ = train.padded()
        progress.step(f"training the CNN+BiLSTM on {len(train)} words (folds 1-9) for {epochs} "
                      f"epoch{'s' if epochs > 1 else ''}")
        model = train_handwriting(x_train, y_train, epochs, settings["model"],
                                  verbose=1 if sys.stdout.isatty() else 2)
    else:
        progress.step(f"using {model_path} (no training)")
    paths["model"] = save_model(model, out / "handwriting.keras")

    progress.step("exporting a float32 .tflite and loading it with LiteRT")
    flatbuffer = export.to_tflite(model)
    paths["tflite"] = write_bytes(flatbuffer, out / "handwriting.tflite")
    edge = export.EdgeModel(flatbuffer, verify=False)  # our own bytes, converted just now

    progress.step(f"reading the {len(test)} held-out words of fold {TEST_FOLD} with Keras and TFLite")
    probabilities = read_words(model, edge, test, x_test)
    metrics = {name: letter_and_word_accuracy(p, y_test, mask_test) for name, p in probabilities.items()}
    metrics["agreement"] = float(np.mean(
        (probabilities["keras"].argmax(-1) == probabilities["tflite"].argmax(-1))[mask_test]))
    for name in ("keras", "tflite"):
        progress.say(f"  {name:<7} letter accuracy {100 * metrics[name]['letter_accuracy']:6.2f}%   "
                     f"word accuracy {100 * metrics[name]['word_accuracy']:6.2f}%")
    progress.say(f"  Keras and TFLite agree on {100 * metrics['agreement']:.2f}% of the letters")
    decoded = decode_some_words(probabilities, test, y_test, mask_test, progress)

    progress.step("per-letter saliency over whole held-out words")
    saliency = explain_words(model, test, settings["explained_words"], out, paths, progress)
    report = {"epochs": epochs if model_path is None else None, "test_fold": TEST_FOLD,
              "test_words": len(test), "metrics": metrics, "decoded": decoded,
              "files": {k: str(v) for k, v in paths.items()}}
    paths["metrics"] = write_bytes(json.dumps(report, indent=2).encode(),
                                   out / "handwriting_metrics.json")
    progress.step(f"done in {progress.elapsed():.0f} s; wrote {len(paths)} files to {out}")
    return {"metrics": metrics, "decoded": decoded, "saliency": saliency, "paths": paths}


def read_words(model, edge, test, x_test):
    """Letter probabilities of Keras and of the ``.tflite`` model for the words of ``test``.

    Keras reads the padded batch ``x_test`` (padding is masked inside);
    LiteRT reads each word at its own length, as a phone would. Both come
    back padded: ``{"keras"|"tflite": (W, T_max, 26)}``.
    """
    from keras_seq.datasets import ocr_words

    words = [image[..., None].astype(np.float32) for image in test.images]
    tflite = np.zeros(x_test.shape[:2] + (ocr_words.NUM_CLASSES,), np.float32)
    for i, letters in enumerate(edge.predict(words)):
        tflite[i, : len(letters)] = letters
    return {"keras": np.asarray(model.predict(x_test, batch_size=64, verbose=0)), "tflite": tflite}


def decode_some_words(probabilities, test, y_test, mask_test, progress):
    """Print ``SHOWN_WORDS`` words as truth, Keras and TFLite read them, up to three Keras misreads."""
    from keras_seq.datasets import ocr_words

    decoded = []
    progress.say(f"  {'truth':<15}{'Keras':<15}{'TFLite':<15}")
    keras_letters = probabilities["keras"].argmax(-1)
    misread = np.flatnonzero(((keras_letters != y_test) & mask_test).any(axis=1))
    shown = distinct_words(test.texts, SHOWN_WORDS - min(3, len(misread)))
    shown += [int(i) for i in misread if int(i) not in shown][: SHOWN_WORDS - len(shown)]
    for i in shown:
        row = (str(test.texts[i]),) + tuple(
            ocr_words.decode(probabilities[name][i].argmax(-1), mask_test[i]) for name in ("keras", "tflite"))
        decoded.append(row)
        progress.say("  " + "".join(f"{word:<15}" for word in row))
    return decoded


def explain_words(model, test, count, out, paths, progress):
    """Per-letter saliency figures of ``count`` distinct words of ``test``; ``paths`` gets each figure."""
    from keras_seq.demos.saliency import draw_letter_saliency
    from keras_seq.saliency import LetterSaliency

    explainer = LetterSaliency(model)
    saliency = []
    for i in distinct_words(test.texts, count):
        word = test.images[i].astype(np.float32)
        result = explainer(word, letters=test.labels[i].astype(np.int64))
        saliency.append(result)
        text = str(test.texts[i])
        paths[f"saliency_{text}"] = draw_letter_saliency(word, result, text,
                                                        out / f"letter_saliency_{text}.png")
        outside = 1.0 - float(np.mean(np.diag(result["letter_share"])))
        progress.say(f"  '{text}': on average {100 * outside:.0f}% of letter t's saliency lies on "
                     "other letters (context)")
    return saliency


if __name__ == "__main__":
    from keras_seq.demos.command import main_for

    raise SystemExit(main_for("handwriting"))
