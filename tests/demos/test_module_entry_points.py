"""``python -m keras_seq.demos.saliency`` / ``keras_seq.demos.occlusion``: one shared entry point."""

import pytest

from keras_seq import saving
from keras_seq.demos import occlusion, saliency
from keras_seq.models import lenet5


@pytest.mark.parametrize("main", [saliency.main, occlusion.main], ids=["saliency", "occlusion"])
def test_bad_count_and_missing_model_print_one_clear_line(main, tmp_path, capsys):
    assert main(["--model", str(tmp_path / "missing.keras"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--model", "x.keras", "--count", "0", "--out", str(tmp_path)]) == 2
    assert "--count must be >= 1" in capsys.readouterr().err


def test_saliency_entry_point_writes_the_four_figures(tmp_path, capsys):
    model_path = tmp_path / "digits.keras"
    saving.save_model(lenet5("modern"), model_path)
    out = tmp_path / "figures"
    assert saliency.main(["--model", str(model_path), "--out", str(out), "--count", "2"]) == 0
    written = capsys.readouterr().out
    for name in saliency.FILE_NAMES.values():
        assert (out / name).is_file() and name in written
