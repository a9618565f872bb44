"""keras-seq demo web without a browser: options, errors, the server, the shipped words."""

import argparse
import urllib.request

import numpy as np
import pytest

from keras_seq.demos import command, web, web_site
from keras_seq.demos.web_server import SiteServer


def parse(argv, name=None):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser, name=name)
    args = parser.parse_args(argv)
    if name is not None:
        args.name = name
    return args


def test_web_options_reach_run_demo(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(web, "run_demo", lambda **options: seen.update(options))
    args = parse(["web", "--out", str(tmp_path), "--port", "0", "--no-browser", "--build-only", "--fast"])
    assert command.run(args) == 0
    assert seen["port"] == 0 and seen["open_browser"] is False and seen["build_only"] is True
    assert seen["fast"] is True and "model_path" not in seen


def test_web_options_are_refused_for_other_demos(tmp_path):
    args = parse(["filters", "--out", str(tmp_path), "--build-only"])
    with pytest.raises(ValueError, match="apply to the web demo only"):
        command.run(args)
    args = parse(["web", "--out", str(tmp_path), "--model", "m.keras"])
    with pytest.raises(ValueError, match="--epochs and --model apply to digits, handwriting and words only"):
        command.run(args)


@pytest.mark.parametrize("options, message", [
    ({"port": 70000}, "port=70000"),
    ({"port": -1}, "port=-1"),
    ({"build_only": "yes"}, "build_only='yes'"),
    ({"epochs": 0}, "epochs=0"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        web.run_demo(tmp_path, **options)
    assert list(tmp_path.iterdir()) == []


def test_a_clear_error_when_node_and_npm_are_missing(monkeypatch, tmp_path):
    (tmp_path / "static").mkdir()
    for name in ("package.json", "package-lock.json"):
        (tmp_path / "static" / name).write_bytes((web_site.STATIC / name).read_bytes())
    monkeypatch.setattr(web_site, "STATIC", tmp_path / "static")
    monkeypatch.setattr(web_site.shutil, "which", lambda name: None)
    with pytest.raises(OSError, match="needs Node.js and npm .*neither node nor npm is on PATH"):
        web_site.node_modules(tmp_path / "cache")


def test_npm_ci_is_announced_before_it_runs(monkeypatch, tmp_path):
    """npm ci installs LiteRT.js beside package.json, and the user is told where before npm runs."""
    static = tmp_path / "static"
    static.mkdir()
    for name in ("package.json", "package-lock.json"):
        (static / name).write_bytes((web_site.STATIC / name).read_bytes())
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    creates = " && ".join(f"mkdir -p $(dirname node_modules/{source}) && touch node_modules/{source}"
                          for source, _ in web_site.LITERT_FILES)
    (bin_folder / "npm").write_text(f"#!/bin/sh\n[ -f ../announced ] || exit 7\n{creates}\n")
    (bin_folder / "node").write_text("#!/bin/sh\n")
    for tool in ("npm", "node"):
        (bin_folder / tool).chmod(0o755)
    monkeypatch.setattr(web_site, "STATIC", static)
    monkeypatch.setenv("PATH", f"{bin_folder}:/usr/bin:/bin")
    lines = []

    def log(line):
        lines.append(line)
        (tmp_path / "announced").touch()  # the fake npm fails unless this came first

    folder = web_site.node_modules(tmp_path / "cache", log=log)
    assert folder == static / "node_modules"
    assert lines == [f"installing LiteRT.js (npm @litertjs/core, pinned) with npm ci into {folder}"]
    assert web_site.node_modules(tmp_path / "cache", log=log) == folder and len(lines) == 1  # installed: quiet


def test_the_pinned_runtime_is_litertjs_from_the_lock_file():
    import json

    lock = json.loads((web_site.STATIC / "package-lock.json").read_text())
    package = json.loads((web_site.STATIC / "package.json").read_text())
    pinned = package["dependencies"]["@litertjs/core"]
    assert pinned[0].isdigit()  # an exact version, no range
    assert lock["packages"]["node_modules/@litertjs/core"]["version"] == pinned
    assert lock["packages"]["node_modules/@litertjs/core"]["integrity"].startswith("sha512-")


def test_letters_ship_as_hex_bits():
    rng = np.random.default_rng(0)
    letter = (rng.random((16, 8)) > 0.5).astype(np.uint8)
    text = web_site.letter_hex(letter)
    assert len(text) == 32
    bits = np.array([int(c, 16) >> (3 - k) & 1 for c in text for k in range(4)]).reshape(16, 8)
    np.testing.assert_array_equal(bits, letter)


def test_max_length_shorter_than_a_word_is_refused(tmp_path):
    from keras_seq.datasets import ocr_words

    words = ocr_words.load_words().subset(np.arange(5))
    with pytest.raises(ValueError, match="max_length=1 is not allowed"):
        web_site.build_site(tmp_path, None, None, None, words, None, max_length=1)
    with pytest.raises(ValueError, match="word_count=0"):
        web_site.build_site(tmp_path, None, None, None, words, None, word_count=0)


def test_server_serves_the_site_on_localhost_only(tmp_path):
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "a.wasm").write_bytes(b"\0asm")
    with SiteServer(tmp_path, port=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "a.wasm") as response:
            assert response.headers["Content-Type"] == "application/wasm"
        assert server._server.server_address[0] == "127.0.0.1"


@pytest.mark.parametrize("folder, port, message", [("missing", 0, "index.html"), (".", 65536, "port=65536"),
                                                    (".", True, "port=True")])
def test_server_refuses_bad_arguments(tmp_path, folder, port, message):
    (tmp_path / "index.html").write_text("")
    with pytest.raises(ValueError, match=message):
        SiteServer(tmp_path / folder, port=port)


def tiny_reader(width=None):
    from keras_seq.demos.words import FAST
    from keras_seq.models import word_reader

    return word_reader(width=width, **FAST["model"])


def quiet_progress():
    import io

    from keras_seq.demos.progress import Progress

    return Progress(total=3, stream=io.StringIO())


def test_the_word_reader_in_out_is_used_when_present(tmp_path):
    from keras_seq.saving import save_model

    reader = tiny_reader(width=256)
    save_model(reader, tmp_path / "words.keras")
    loaded, about = web.word_reader_model(tmp_path, None, True, quiet_progress())
    for mine, theirs in zip(loaded.get_weights(), reader.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert about == {"file": "words.keras", "parameters": reader.count_params(), "smoke": True, "epochs": None,
                     "test_fold": None}  # the --fast architecture: a smoke run's reader


def test_a_trained_readers_run_folder_tells_its_epochs_and_fold(tmp_path):
    import json

    from keras_seq.demos import model_files
    from keras_seq.models import word_reader

    full = word_reader(width=256)
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs": 36, "test_fold": 0, "limit": None}))
    about = model_files.describe_word_reader(full, tmp_path / "model.keras")
    assert about == {"file": "model.keras", "parameters": full.count_params(), "smoke": False, "epochs": 36,
                     "test_fold": 0}
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs": 1, "test_fold": 3, "limit": 8}))
    assert model_files.describe_word_reader(full, tmp_path / "model.keras")["smoke"]  # a --limit run
    (tmp_path / "metrics.json").write_text("{not json")
    assert model_files.describe_word_reader(full, tmp_path / "model.keras")["epochs"] is None


def test_a_words_keras_that_is_not_a_word_reader_is_refused(tmp_path):
    import keras

    from keras_seq.saving import save_model

    digits = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    save_model(digits, tmp_path / "words.keras")
    with pytest.raises(ValueError, match="is not a word reader"):
        web.word_reader_model(tmp_path, None, True, quiet_progress())


@pytest.mark.parametrize("fast, epochs, expected", [(True, None, 1), (False, None, "default"), (False, 2, 2)])
def test_without_one_the_reader_is_trained_as_the_words_demo_trains_it(monkeypatch, tmp_path, fast, epochs, expected):
    from keras_seq.demos import words

    seen = {}
    monkeypatch.setattr(words, "training_data", lambda fast: ("data", fast))

    def train(data, out, epochs, fast, progress):
        seen.update(data=data, out=out, epochs=epochs, fast=fast)
        return tiny_reader()

    monkeypatch.setattr(words, "train_reader", train)
    model, about = web.word_reader_model(tmp_path, epochs, fast, quiet_progress())
    assert about["smoke"] == fast and about["epochs"] == seen["epochs"]
    assert seen == {"data": ("data", fast), "out": tmp_path, "fast": fast,
                    "epochs": words.DEFAULT_EPOCHS if expected == "default" else expected}
    assert model.inputs[0].shape[2] == 256 and (tmp_path / "words.keras").is_file()


def test_build_site_refuses_a_model_that_is_not_a_word_reader(tmp_path):
    import keras

    from keras_seq.datasets import ocr_words

    words = ocr_words.load_words().subset(np.arange(5))
    not_reader = keras.Sequential([keras.Input((16, 8)), keras.layers.Dense(27)])
    for model in (None, not_reader):
        with pytest.raises(ValueError, match="word_reader=.* is not allowed; expected a Keras word reader"):
            web_site.build_site(tmp_path, None, None, None, words, model)
    assert list(tmp_path.iterdir()) == []
