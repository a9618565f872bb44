import subprocess
import sys

import pytest

from keras_seq import cli


def test_help_lists_subcommands_without_loading_tensorflow():
    code = ("import sys; from keras_seq import cli; cli.build_parser().format_help(); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    helptext = cli.build_parser().format_help()
    for name in cli.COMMANDS:
        assert name in helptext


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_subcommand_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"keras-seq {command}" in capsys.readouterr().out


def test_unknown_subcommand_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fly"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_data_command_prints_counts_and_folds(capsys):
    assert cli.main(["data"]) == 0
    out = capsys.readouterr().out
    assert "(60000, 28, 28)" in out and "6877 words" in out
    assert "[626, 704, 684, 698, 693, 651, 739, 717, 690, 675]" in out


def test_data_command_reports_a_missing_copy(tmp_path, capsys):
    assert cli.main(["data", "--path", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_help_of_a_subcommand_that_loads_tensorflow_prints_only_the_help():
    """Importing ``train``'s module loads TensorFlow; its start-up lines must not precede the help."""
    out = subprocess.run([sys.executable, "-m", "keras_seq", "train", "words", "--help"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("usage: keras-seq train")
    assert "words" in out.stdout and "--test-fold" in out.stdout
    noisy = [line for line in out.stderr.splitlines() if "onednn" in line.lower() or "cuda" in line.lower()]
    assert noisy == [] and out.stderr.strip() == ""


@pytest.mark.parametrize("command, words_help", [
    (None, ["train the digits, handwriting or words", "a picture of a word", "web, words"]),
    ("train", ["handwriting and words: the held-out fold", "20 for handwriting, 30 for words",
               "32 words for handwriting and words"]),
    ("infer", ["a picture of a word"]),
    ("export", ["word reader"]),
    ("demo", ["(digits, handwriting, words; default", "instead of training (digits, handwriting, words)"]),
])
def test_help_names_words_where_it_applies(command, words_help, capsys):
    with pytest.raises(SystemExit):
        cli.main(([command] if command else []) + ["--help"])
    flat = " ".join(capsys.readouterr().out.split())
    for text in words_help:
        assert text in flat
    assert "handwriting only" not in flat
