"""What gets installed: one top-level import, ``keras_seq``, and lower packages that never load upper ones."""

import pathlib
import site
import subprocess
import sys
import venv
import zipfile

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]


def run_python(python, code, cwd):
    return subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True)


def test_core_packages_never_load_export_or_demos(tmp_path):
    code = ("import sys, keras_seq.layers, keras_seq.training, keras_seq.models, keras_seq.datasets, "
            "keras_seq.saliency; "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
            "(['keras_seq', 'export'], ['keras_seq', 'demos'])))")
    result = run_python(sys.executable, code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def make_venv_over_this_environment(env_dir):
    """A new venv whose own site-packages (where a wheel goes) comes first, then this interpreter's.

    ``system_site_packages=True`` would not do: from inside a venv it adds the
    *base* Python's packages, not this venv's TensorFlow and the rest. Plain
    paths in a ``.pth`` file are appended to ``sys.path`` after the venv's own
    site-packages, and the ``.pth`` files inside them (this checkout's editable
    install among them) are not run, so the wheel's copy is the one imported.
    """
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    own = run_python(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=env_dir)
    assert own.returncode == 0, own.stderr
    ours = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    ours = [path for path in dict.fromkeys(ours) if pathlib.Path(path).is_dir()]
    (pathlib.Path(own.stdout.strip()) / "this_environment.pth").write_text("".join(f"{p}\n" for p in ours))
    return python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(REPOSITORY)], check=True, capture_output=True)
    (path,) = out.glob("keras_seq-*.whl")
    return path


def test_wheel_holds_keras_seq_only(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith("top_level.txt"))
        assert archive.read(top_level).decode().split() == ["keras_seq"]
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"keras_seq"}
    for module in ("keras_seq/export/convert.py", "keras_seq/demos/command.py", "keras_seq/saliency/gradcam.py",
                   "keras_seq/datasets/data/mnist.npz"):
        assert module in names


def test_wheel_installs_keras_seq_export_and_no_export_package(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    python = make_venv_over_this_environment(env_dir)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", str(wheel)], check=True, capture_output=True)
    code = ("import keras_seq.export, keras_seq.demos.command, pathlib; "
            "print(pathlib.Path(keras_seq.export.__file__).parent.parent == "
            "pathlib.Path(keras_seq.demos.command.__file__).parent.parent, keras_seq.export.__file__)")
    result = run_python(python, code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    same_root, location = result.stdout.split()
    assert same_root == "True" and str(env_dir) in location
    for shadowed in ("export", "demos"):
        result = run_python(python, f"import {shadowed}", cwd=tmp_path)
        assert result.returncode != 0 and "No module named" in result.stderr


def test_a_users_export_module_does_not_shadow_ours(tmp_path):
    (tmp_path / "export.py").write_text("raise RuntimeError('the user file was imported')\n")
    code = "import keras_seq.export; print(keras_seq.export.EdgeModel.__name__)"
    result = run_python(sys.executable, code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "EdgeModel"
