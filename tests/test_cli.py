import subprocess
import sys

from keras_seq import cli


def test_help_lists_subcommands_without_loading_tensorflow():
    code = ("import sys; from keras_seq import cli; cli.build_parser(); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    helptext = cli.build_parser().format_help()
    for name in cli.COMMANDS:
        assert name in helptext


def test_data_command_prints_counts_and_folds(capsys):
    assert cli.main(["data"]) == 0
    out = capsys.readouterr().out
    assert "(60000, 28, 28)" in out and "6877 words" in out
    assert "[626, 704, 684, 698, 693, 651, 739, 717, 690, 675]" in out
