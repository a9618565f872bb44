"""Write the web demo's self-contained static site: page, LiteRT.js, models and held-out words.

The site runs the exported ``.tflite`` files in the browser with LiteRT.js
(npm ``@litertjs/core``, pinned in ``web_static/package-lock.json``). Every
file the page loads is in the site folder, so nothing is fetched from the
network when the page runs:

    index.html, style.css, *.js      the page (web_static/)
    litert/                          LiteRT.js and its WebAssembly (from node_modules)
    models/digits_float32.tflite     the digit model, batch 1
    models/digits_int8.tflite        the same, full int8 (float32 input and output)
    models/handwriting.tflite        the word model, batch 1, fixed length L
    models/word_reader.tflite        the CTC word reader, batch 1, 256 columns and a column mask
    models/word_reader_gpu.tflite    the same reader with its recurrence unrolled (no loop): what the
                                     page's GPU switch runs, since LiteRT's GPU takes no WHILE
    words.json                       held-out words: text and letter bits (ocr_words.IMAGE_SHAPE)
    config.json                      file names, L, the letters' alphabet and image size, the
                                     reader's width, alphabet and preprocessing constants,
                                     occlusion settings

LiteRT.js runs static shapes only, so the word model is exported at one
length L (the longest word): a shorter word is padded with all-zero letters,
which the model masks, so its letters read as they would alone. The word
reader likewise runs at ``word_strips.MAX_WIDTH`` columns: a narrower strip is
padded with zero columns that its mask channel marks as padding.

Example:
    >>> paths = build_site("out/web", digit_model, word_model, x_train[:200], held_out, word_reader)
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np

STATIC = pathlib.Path(__file__).with_name("web_static")
PAGE_FILES = ("index.html", "style.css", "app.js", "runtime.js", "preprocess.js", "occlusion.js",
              "drawing_pad.js", "digit_panel.js", "word_panel.js", "strip_preprocess.js", "ctc_decode.js",
              "word_reader_panel.js", "accelerator_switch.js", "canvas_draw.js")
# (file in node_modules, where the page loads it); both WebAssembly builds:
# relaxed-SIMD browsers load the first, older ones the "compat" build.
LITERT_FILES = (
    ("@litertjs/core/dist/index.js", "litert/core/index.js"),
    ("@litertjs/wasm-utils/dist/index.js", "litert/wasm-utils/index.js"),
    ("@litertjs/core/wasm/litert_wasm_internal.js", "litert/wasm/litert_wasm_internal.js"),
    ("@litertjs/core/wasm/litert_wasm_internal.wasm", "litert/wasm/litert_wasm_internal.wasm"),
    ("@litertjs/core/wasm/litert_wasm_compat_internal.js", "litert/wasm/litert_wasm_compat_internal.js"),
    ("@litertjs/core/wasm/litert_wasm_compat_internal.wasm", "litert/wasm/litert_wasm_compat_internal.wasm"),
)
DIGIT_OCCLUSION = {"patch": 6, "stride": 2, "fill": 0.0}   # as demos/occlusion.py draws it
WORD_OCCLUSION = {"patch": 4, "stride": 4}
WORD_COUNT = 200
# Models whose file the GPU cannot run whole, and the file of theirs it runs instead.
GPU_FILES = {"word_reader": "word_reader_gpu"}


def node_modules(cache, log=None):
    """The ``node_modules`` folder holding the pinned LiteRT.js; ``npm ci`` installs it when missing.

    It is installed beside ``web_static/package.json`` when that folder is
    writable (a source checkout), else in ``cache``; before running npm,
    ``log`` (default: print to stderr) is told where and what.

    Raises:
        OSError: npm is not installed, or ``npm ci`` failed (its last lines are quoted).
    """
    for folder in (STATIC, pathlib.Path(cache)):
        if all((folder / "node_modules" / source).is_file() for source, _ in LITERT_FILES):
            return folder / "node_modules"
    folder = STATIC if os.access(STATIC, os.W_OK) else pathlib.Path(cache)
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise OSError(
            "the web demo needs Node.js and npm to install LiteRT.js (npm @litertjs/core, pinned in "
            f"{STATIC / 'package-lock.json'}); neither node nor npm is on PATH. Install Node.js "
            "(e.g. apt-get install nodejs npm) and run the command again"
        )
    (log or _to_stderr)(f"installing LiteRT.js (npm @litertjs/core, pinned) with npm ci into {folder / 'node_modules'}")
    if folder != STATIC:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(STATIC / name, folder / name)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=folder,
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise OSError(f"npm ci in {folder} failed (exit {done.returncode}):\n{tail}")
    return folder / "node_modules"


def letter_hex(image):
    """A 0/1 letter image as hex digits (row-major, four pixels per digit, first pixel highest; 16x8: 32 digits)."""
    bits = (np.asarray(image).reshape(-1) > 0).astype(np.uint8).reshape(-1, 4)
    return "".join("0123456789abcdef"[int(d)] for d in bits @ np.array([8, 4, 2, 1]))


def reader_config():
    """What the page needs to preprocess, read and explain a drawn word as Python does."""
    from keras_seq.datasets import word_strips
    from keras_seq.demos.words import ColumnOcclusion
    from keras_seq.models import ctc
    from keras_seq.models.word_reader import COLUMNS_PER_STEP

    occlusion = ColumnOcclusion()
    return {"width": word_strips.MAX_WIDTH, "height": word_strips.HEIGHT, "alphabet": ctc.ALPHABET,
            "blank": ctc.BLANK, "columnsPerStep": COLUMNS_PER_STEP, "margin": word_strips.MARGIN,
            "inkThreshold": word_strips.INK_THRESHOLD, "minInkRows": word_strips.MIN_INK_ROWS,
            "ascenderRows": word_strips.ASCENDER_ROWS, "coreRows": word_strips.CORE_ROWS,
            "descenderRows": word_strips.DESCENDER_ROWS, "bandFraction": word_strips.BAND_FRACTION,
            "bandQuantile": word_strips.BAND_QUANTILE, "minBandFraction": word_strips.MIN_BAND_FRACTION,
            "occlusion": {"window": occlusion.window, "stride": occlusion.stride}}


def export_models(digit_model, word_model, representative_digits, folder, max_length, word_reader):
    """Write the four ``.tflite`` files into ``folder``; return their paths by name."""
    from keras_seq import export
    from keras_seq.atomic_files import write_bytes
    from keras_seq.datasets import word_strips
    from keras_seq.models.handwriting import letters_in_batch
    from keras_seq.models.word_reader import fixed_width_copy

    folder = pathlib.Path(folder)
    files = {
        "digits_float32": export.to_tflite(digit_model, batch_size=1),
        "digits_int8": export.to_tflite(digit_model, quantization="int8", batch_size=1,
                                        representative_data=np.asarray(representative_digits, np.float32)),
        # LiteRT.js runs static shapes and no fused LSTM: one length, unrolled when short (the GPU runs it).
        "handwriting": export.to_tflite(letters_in_batch(word_model), batch_size=1, max_length=max_length),
        # The recurrence as a loop, which keeps the column mask (the fused LSTM ignores it); the GPU
        # runs no loop, so it gets the same reader with its 128 steps unrolled (mask kept).
        "word_reader": export.to_tflite(fixed_width_copy(word_reader, word_strips.MAX_WIDTH), batch_size=1),
        GPU_FILES["word_reader"]: export.to_tflite(fixed_width_copy(word_reader, word_strips.MAX_WIDTH),
                                                   batch_size=1, recurrent="unroll"),
    }
    return {name: write_bytes(data, folder / f"{name}.tflite") for name, data in files.items()}


def shipped_words(words, count):
    """The first ``count`` words of ``words`` with different transcriptions (the page's word list)."""
    from keras_seq.demos.handwriting import distinct_words

    return words.subset(np.asarray(distinct_words(words.texts, count), dtype=int))


def build_site(folder, digit_model, word_model, representative_digits, words, word_reader, max_length=None,
               word_count=WORD_COUNT, cache=None, about_reader=None):
    """Write the whole site into ``folder`` (created if needed) and return its files by name.

    Args:
        folder: the site folder (``OUT/web``).
        digit_model: a Keras digit classifier (N, 28, 28, 1) -> (N, 10).
        word_model: a Keras handwriting model (N, T, 16, 8, 1) -> (N, T, 26),
            any form (see :func:`keras_seq.models.handwriting.letters_in_batch`).
        representative_digits: (N, 28, 28, 1) float32 digits to calibrate int8.
        words: held-out :class:`keras_seq.datasets.ocr_words.Words`; the first
            ``word_count`` with different transcriptions are shipped
            (:func:`shipped_words`).
        word_reader: a Keras CTC word reader (N, 32, W, 2) -> (N, W / 2, 27)
            (:func:`keras_seq.models.word_reader`), exported at
            ``word_strips.MAX_WIDTH`` columns whatever its own width.
        max_length: the word model's fixed length (default: the longest word of ``words``).
        cache: where ``npm ci`` may install LiteRT.js when the package folder
            is read-only (default: ``folder/../web-npm``).
        about_reader: what the page says about the word reader
            (:func:`keras_seq.demos.model_files.describe_word_reader`; default:
            described from ``word_reader`` alone).
    """
    from keras_seq.arguments import positive_int
    from keras_seq.atomic_files import write_bytes, write_json
    from keras_seq.datasets import ocr_words
    from keras_seq.demos import model_files
    from keras_seq.models.word_reader import is_word_reader

    import PIL

    word_count = positive_int(word_count, "word_count")
    if len(words) == 0:
        raise ValueError("words is empty; the handwriting panel needs at least one held-out word")
    words = shipped_words(words, word_count)
    longest = int(words.lengths.max())
    max_length = longest if max_length is None else positive_int(max_length, "max_length")
    if max_length < longest:
        raise ValueError(f"max_length={max_length} is not allowed; expected >= {longest} (the longest word)")
    if not is_word_reader(word_reader):
        raise ValueError(f"word_reader={word_reader!r} is not allowed; expected a Keras word reader "
                         "(batch, 32, width, 2) -> (batch, width / 2, 27)")
    folder = pathlib.Path(folder)
    modules = node_modules(cache or folder.parent / "web-npm")
    paths = {}
    for name in PAGE_FILES:
        paths[name] = write_bytes((STATIC / name).read_bytes(), folder / name)
    for source, target in LITERT_FILES:
        paths[target] = write_bytes((modules / source).read_bytes(), folder / target)
    models = export_models(digit_model, word_model, representative_digits, folder / "models", max_length,
                           word_reader)
    paths.update(models)
    shipped = [{"text": str(text), "letters": [letter_hex(letter) for letter in images]}
               for text, images in zip(words.texts, words.images)]
    paths["words"] = write_bytes(json.dumps(shipped, separators=(",", ":")).encode(), folder / "words.json")
    config = {
        "models": {name: f"./models/{path.name}" for name, path in models.items()
                   if name not in GPU_FILES.values()},
        # what the CPU/GPU switch loads on the GPU instead of a model's own file
        "gpuModels": {name: f"./models/{models[gpu].name}" for name, gpu in GPU_FILES.items()},
        "words": "./words.json",
        "maxLength": max_length,
        "letters": {"alphabet": ocr_words.LETTERS, "height": ocr_words.IMAGE_SHAPE[0],
                    "width": ocr_words.IMAGE_SHAPE[1]},
        # Pillow 13 runs Lanczos's vertical pass first when the height shrinks
        # much more than the width; the page follows the Pillow installed here.
        "pillowVerticalFirst": int(PIL.__version__.split(".")[0]) >= 13,
        "occlusion": DIGIT_OCCLUSION,
        "wordOcclusion": WORD_OCCLUSION,
        "wordReader": dict(reader_config(),
                           about=about_reader or model_files.describe_word_reader(word_reader)),
    }
    paths["config"] = write_json(config, folder / "config.json")
    return paths


def _to_stderr(line):
    print(line, file=sys.stderr, flush=True)
