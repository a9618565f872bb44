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
