"""Words demo: the CNN + BiLSTM + CTC reader reads word images on device; which columns made each letter.

``keras-seq demo words``:

1. trains ``keras_seq.models.word_reader`` on augmented strips of folds 1-9
   (or loads ``--model``, e.g. the ``model.keras`` of ``keras-seq train words``);
2. exports it to a float32 ``.tflite`` with a fixed width of 256 columns and
   a column mask, and loads it with LiteRT;
3. reads held-out real word strips of fold 0 with the file (beam search) and
   prints CER and word accuracy and a few readings with per-letter
   confidences;
4. occlusion saliency through the ``.tflite`` (:class:`ColumnOcclusion`):
   for each decoded letter, which columns of the image made it, drawn as one
   heat row per letter under the word (``word_saliency_<word>.png``).

Example:
    >>> from keras_seq.demos.words import run_demo
    >>> result = run_demo("keras-seq-out", model_path="keras-seq-out/words-fold0/model.keras")
"""

import json
import pathlib

import numpy as np

DEFAULT_EPOCHS = 3
TEST_FOLD = 0
FAST = {"train_words": 60, "test_words": 12, "explained": 1,
        "model": {"units": 16, "filters": (8, 8, 8), "bottleneck": 8, "features": 16}}
FULL = {"train_words": None, "test_words": None, "explained": 3, "model": {}}
SHOWN = 8
READER_FILE = "words.keras"  # the trained reader, fixed at MAX_WIDTH columns


class ColumnOcclusion:
    """Which image columns made each decoded letter: occlusion through the ``.tflite``.

    For a window of ``window`` columns starting at c (every ``stride``
    columns) the pixels are set to paper (0; the column mask stays), the file
    is run again, and letter i's score s_i = max over the steps aligned to it
    of y_t(letter_i) is recomputed. The drop d_i(c) = max(0, s_i - s_i^(c))
    is spread over the window's columns and averaged, then each letter's row
    is scaled to a maximum of 1:

        S[i, col] = mean_{c : col in [c, c + window)} d_i(c) / max_col(...).

    Args:
        window: occluded columns at a time (int >= 1).
        stride: columns between windows (int >= 1).

    Example:
        >>> saliency = ColumnOcclusion()(edge, strip, reading)   # (letters, width)
    """

    def __init__(self, window=4, stride=2):
        from keras_seq import arguments

        self.window = arguments.positive_int(window, "window")
        self.stride = arguments.positive_int(stride, "stride")

    def __call__(self, edge, strip, reading):
        from keras_seq.export import word_image
        from keras_seq.models import ctc

        if not reading.text:
            return np.zeros((0, strip.shape[1]), np.float32)
        labels = ctc.encode(reading.text)

        def scores(probabilities):
            return np.array([probabilities[first:last + 1, k].max()
                             for k, (first, last) in zip(labels, reading.spans)])

        base = scores(word_image.symbol_probabilities(edge, [strip])[0])
        width = strip.shape[1]
        total = np.zeros((len(labels), width))
        count = np.zeros(width)
        starts = range(0, max(1, width - self.window + 1), self.stride)
        occluded = []
        for start in starts:
            hidden = strip.copy()
            hidden[:, start:start + self.window] = 0.0
            occluded.append(hidden)
        for start, probabilities in zip(starts, word_image.symbol_probabilities(edge, occluded)):
            drop = np.maximum(0.0, base - scores(probabilities))
            total[:, start:start + self.window] += drop[:, None]
            count[start:start + self.window] += 1
        saliency = total / np.maximum(count, 1)
        peak = saliency.max(axis=1, keepdims=True)
        return (saliency / np.where(peak > 0, peak, 1.0)).astype(np.float32)


def default_epochs(epochs, fast):
    """``epochs``, or this demo's default: 1 in fast mode, else ``DEFAULT_EPOCHS``."""
    return epochs if epochs is not None else (1 if fast else DEFAULT_EPOCHS)


def training_data(fast):
    """Fold ``TEST_FOLD`` held out; the fast settings keep a few words (a smoke run)."""
    from keras_seq.training import words

    return words.words_data(TEST_FOLD, (FAST if fast else FULL)["train_words"])


def train_reader(data, out, epochs, fast, progress):
    """The word reader trained as this demo trains it (resumable, in ``out/words-run``)."""
    from keras_seq.training import words

    progress.step(f"training the word reader on augmented strips of {len(data.train)} words (folds 1-9) "
                  f"and as many random strings, {epochs} epoch{'s' if epochs > 1 else ''}")
    model, _, _ = words.train_words(data, out_dir=pathlib.Path(out) / "words-run", epochs=epochs,
                                    model_options=(FAST if fast else FULL)["model"],
                                    run={"demo": "words", "fast": fast}, log=progress.say)
    return model


def save_fixed_width(model, out):
    """The reader fixed at ``MAX_WIDTH`` columns (same weights), saved as ``out/READER_FILE``: (model, path)."""
    from keras_seq.datasets import word_strips
    from keras_seq.models.word_reader import fixed_width_copy
    from keras_seq.saving import save_model

    fixed = fixed_width_copy(model, word_strips.MAX_WIDTH)
    return fixed, save_model(fixed, pathlib.Path(out) / READER_FILE)


def draw_word_saliency(strip, reading, saliency, truth, path):
    """The strip on top, then one heat row per decoded letter; written atomically to ``path``."""
    from keras_seq.demos import figures

    rows = max(1, len(reading.text))
    figure = figures.new_figure(8, 1.2 + 0.45 * rows)
    grid = figure.add_gridspec(rows + 1, 1, height_ratios=[2.5] + [1] * rows, hspace=0.35)
    top = figure.add_subplot(grid[0])
    figures.show_image(top, strip, cmap="gray_r", vmin=0, vmax=1,
                       title=f"read {reading.text!r} (truth {truth!r}): columns that made each letter")
    top.set_aspect("auto")  # the same column scale as the heat rows below
    drawn = None
    for i, letter in enumerate(reading.text):
        axes = figure.add_subplot(grid[i + 1])
        drawn = figures.show_image(axes, saliency[i][None, :], cmap=figures.MAP_COLORMAP, vmin=0, vmax=1)
        axes.set_aspect("auto")
        axes.set_ylabel(f"{letter} {reading.confidences[i]:.2f}", rotation=0, ha="right", va="center", fontsize=8)
    if drawn is not None:
        figure.colorbar(drawn, ax=figure.axes, fraction=0.02, pad=0.01, label="occlusion drop (scaled)")
    figure.axes[-1 if drawn is None else -2].set_xlabel("image column")
    return figures.save_png(figure, path)


def run_demo(out, epochs=None, fast=False, model_path=None, progress=None):
    """Train (or load), export, read and explain the word reader.

    The arguments are every trained demo's (:mod:`keras_seq.demos.command`);
    ``fast`` trains on 60 words and reads 12.

    Returns:
        A dict: ``metrics`` (``cer``, ``word_accuracy`` of the ``.tflite`` on
        the held-out real strips), ``readings`` list of ``(truth, text,
        confidences)``, ``saliency`` arrays and ``paths`` of the written files.
    """
    from keras_seq import arguments
    from keras_seq.atomic_files import write_bytes
    from keras_seq.datasets import word_strips
    from keras_seq.demos import model_files
    from keras_seq.demos.progress import Progress
    from keras_seq.export import EdgeModel, to_tflite, word_image
    from keras_seq.models import ctc
    from keras_seq.training import words

    settings = FAST if fast else FULL
    epochs = arguments.positive_int(default_epochs(epochs, fast), "epochs")
    out = pathlib.Path(out)
    progress = progress or Progress(total=5)
    data = training_data(fast)
    test = data.test_real
    if settings["test_words"]:
        test = word_strips.Strips(test.images[: settings["test_words"]], test.texts[: settings["test_words"]])
    paths = {}
    if model_path is not None:
        progress.step(f"using {model_path} (no training)")
        model = model_files.load_word_reader(model_path)
    else:
        model = train_reader(data, out, epochs, fast, progress)
    fixed, paths["model"] = save_fixed_width(model, out)

    progress.step(f"exporting a float32 .tflite ({word_strips.MAX_WIDTH} columns and a mask) for LiteRT")
    flatbuffer = to_tflite(fixed)  # the recurrence as a loop, which keeps the column mask
    paths["tflite"] = write_bytes(flatbuffer, out / "words.tflite")
    edge = EdgeModel(flatbuffer, verify=False)  # our own bytes, converted just now

    progress.step(f"reading {len(test)} held-out real word strips of fold {TEST_FOLD} with the .tflite")
    probabilities = word_image.symbol_probabilities(edge, test.images)
    readings = [ctc.decode_ctc(p[None], method="beam")[0] for p in probabilities]
    metrics = words.reading_scores([r.text for r in readings], test.texts)
    progress.say(f"  CER {100 * metrics['cer']:.2f}%   word accuracy {100 * metrics['word_accuracy']:.2f}%")
    shown = []
    for truth, reading in list(zip(test.texts, readings))[:: max(1, len(test) // SHOWN)][:SHOWN]:
        shown.append((truth, reading.text, [round(c, 3) for c in reading.confidences]))
        progress.say(f"  {truth:<15} {reading.text:<15} " + " ".join(f"{c:.2f}" for c in reading.confidences))

    progress.step("occlusion saliency through the .tflite: which columns made each letter")
    explain = ColumnOcclusion()
    saliency = []
    chosen, seen = [], set()
    for i, truth in enumerate(test.texts):
        if truth not in seen and readings[i].text:
            seen.add(truth)
            chosen.append(i)
        if len(chosen) == settings["explained"]:
            break
    for i in chosen:
        heat = explain(edge, test.images[i], readings[i])
        saliency.append(heat)
        paths[f"saliency_{test.texts[i]}"] = draw_word_saliency(
            test.images[i], readings[i], heat, test.texts[i], out / f"word_saliency_{test.texts[i]}.png")
        centres = [float((h * np.arange(len(h))).sum() / max(h.sum(), 1e-9)) for h in heat]
        progress.say(f"  '{test.texts[i]}' read as '{readings[i].text}': saliency centres at columns "
                     + " ".join(f"{c:.0f}" for c in centres))
    report = {"epochs": epochs if model_path is None else None, "test_fold": TEST_FOLD, "test_strips": len(test),
              "tflite": metrics, "readings": shown, "files": {k: str(v) for k, v in paths.items()}}
    paths["metrics"] = write_bytes(json.dumps(report, indent=2).encode(), out / "words_metrics.json")
    progress.step(f"done in {progress.elapsed():.0f} s; wrote {len(paths)} files to {out}")
    return {"metrics": metrics, "readings": shown, "saliency": saliency, "paths": paths}


if __name__ == "__main__":
    from keras_seq.demos.command import main_for

    raise SystemExit(main_for("words"))
