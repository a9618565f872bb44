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
