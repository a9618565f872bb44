"""``keras-seq demo``: every demo end to end in fast mode, and the bad inputs."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_seq.demos import figures
from keras_seq import cli, saving


def _assert_pngs(paths, min_size=(300, 200)):
    for path in paths:
        width, height = figures.png_size(path)
        assert width >= min_size[0] and height >= min_size[1], path
        with Image.open(path) as image:
            image.verify()
            assert image.size == (width, height)


def test_unknown_demo_name_is_a_clear_error(capsys):
    assert cli.main(["demo", "mnist"]) == 2
    error = capsys.readouterr().err
    assert "demo='mnist' is not allowed" in error and "'digits', 'handwriting', 'filters', 'gradient-flow'" in error


def test_unwritable_out_is_a_clear_error_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["demo", "filters", "--out", str(blocker)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert cli.main(["demo", "filters", "--out", str(blocker / "sub")]) == 2
    assert "is not a writable folder" in capsys.readouterr().err


def test_options_that_do_not_apply_are_refused(tmp_path, capsys):
    assert cli.main(["demo", "gradient-flow", "--epochs", "2", "--out", str(tmp_path)]) == 2
    assert "--epochs and --model apply to digits, handwriting and words only" in capsys.readouterr().err
    assert cli.main(["demo", "digits", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "--epochs=0 is not allowed; expected an int >= 1" in capsys.readouterr().err


def test_a_model_file_that_is_not_a_digit_model_is_refused(tmp_path, capsys):
    not_digits = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "tabular.keras"
    saving.save_model(not_digits, path)
    assert cli.main(["demo", "digits", "--fast", "--model", str(path), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "is not a digit model" in error and "(5,) to 3 outputs" in error
    (tmp_path / "junk.keras").write_bytes(b"not a zip file")
    assert cli.main(["demo", "digits", "--model", str(tmp_path / "junk.keras"), "--out", str(tmp_path)]) == 2
    assert "cannot be loaded as a Keras model" in capsys.readouterr().err
    assert cli.main(["demo", "digits", "--model", str(tmp_path / "missing.keras"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "folder.keras").mkdir()
    assert cli.main(["demo", "digits", "--model", str(tmp_path / "folder.keras"), "--out", str(tmp_path)]) == 2
    assert f"--model {str(tmp_path / 'folder.keras')!r} is a directory, not a file" in capsys.readouterr().err
    assert not (tmp_path / "model.keras").exists()  # refused before any training or writing


def test_filters_demo_writes_one_figure_per_kernel(tmp_path, capsys):
    assert cli.main(["demo", "filters", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == sorted(f"filter_{k}.png" for k in (
        "identity", "edge_diagonal", "laplacian", "laplacian_diagonal", "sharpen", "box_blur",
        "stride_example"))
    _assert_pngs(tmp_path.glob("*.png"), min_size=(1000, 500))
    assert "[-2. -5. -5. -2.]" in capsys.readouterr().out


def test_digits_demo_fast_writes_models_metrics_and_figures(tmp_path, capsys):
    assert cli.main(["demo", "digits", "--fast", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for line in ("[1/6", "[6/6", "TFLite int8", "same digit", "saliency on ink"):
        assert line in out
    for name in ("model.keras", "digits_float32.tflite", "digits_int8.tflite", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 1000
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    table = {row["model"]: row for row in metrics["table"]}
    assert set(table) == {"Keras", "TFLite float32", "TFLite int8"}
    assert table["TFLite float32"]["agreement"] > 0.99  # the float32 file is the Keras model
    assert table["TFLite int8"]["size_bytes"] < table["TFLite float32"]["size_bytes"] / 2
    pngs = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in pngs] == sorted([
        "occlusion_vs_gradient.png", "saliency_gradcam_plus_plus.png", "saliency_scorecam.png",
        "saliency_smoothgrad.png", "saliency_vanilla.png"])
    _assert_pngs(pngs, min_size=(600, 400))
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_a_saved_digit_model_loads_for_the_demo(tmp_path, trained_cnn, mnist_small):
    from keras_seq.demos import model_files

    path = tmp_path / "mine.keras"
    trained_cnn.save(path)  # the user's own Keras file: no digest, which the loader says once
    with pytest.warns(saving.UnverifiedModelWarning, match="carries no digest"):
        loaded = model_files.load_digit_model(path)
    images = mnist_small[2][:4]
    np.testing.assert_allclose(loaded.predict(images, verbose=0), trained_cnn.predict(images, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="is not a handwriting model"), pytest.warns(saving.UnverifiedModelWarning):
        model_files.load_handwriting_model(path)
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="not a .keras model file"):
        model_files.load_digit_model(tmp_path / "weights.h5")


def test_handwriting_demo_fast(tmp_path, capsys):
    assert cli.main(["demo", "handwriting", "--fast", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "letter accuracy" in out and "word accuracy" in out and "truth" in out
    report = json.loads((tmp_path / "handwriting_metrics.json").read_text())
    assert set(report["metrics"]) == {"keras", "tflite", "agreement"}
    assert report["metrics"]["agreement"] > 0.95
    pngs = sorted(tmp_path.glob("letter_saliency_*.png"))
    assert len(pngs) == 2
    _assert_pngs(pngs, min_size=(500, 400))
    for name in ("handwriting.keras", "handwriting.tflite"):
        assert (tmp_path / name).stat().st_size > 1000


def test_module_entry_point_takes_verbose(tmp_path, capsys):
    from keras_seq.demos.command import main_for

    assert main_for("gradient-flow", ["--epochs", "2", "--verbose", "--out", str(tmp_path)]) == 2
    assert "--epochs and --model apply to digits, handwriting and words only" in capsys.readouterr().err
