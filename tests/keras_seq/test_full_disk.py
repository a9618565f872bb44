"""A full disk is one clear line, never a crash, and the previous files are kept.

Full disks are real here: a child process under ``RLIMIT_FSIZE`` (``ulimit -f``;
Python ignores ``SIGXFSZ``, so writes past it fail with ``EFBIG``) and, where
this process may mount one, a 1.2 MB tmpfs (``ENOSPC``). The tmpfs run is the
one that crashed: HDF5 writing ``.weights.h5`` onto the full disk, then
``SIGSEGV`` at exit (exit 139), 3 runs of 3.
"""

import errno
import hashlib
import json
import os
import resource
import subprocess
import sys
import textwrap
import uuid

import pytest

from keras_seq import atomic_files, saving

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _limited(limit):
    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return cap


def _child(code, *args, limit=None, timeout=240):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=None if limit is None else _limited(limit))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_write_past_the_file_size_limit_is_one_clear_error_and_keeps_the_previous_file(tmp_path):
    path = tmp_path / "data.bin"
    atomic_files.write_bytes(b"previous", path)
    done = _child("""
        import sys
        from keras_seq import atomic_files
        try:
            atomic_files.write_bytes(b"x" * 200_000, sys.argv[1])
        except atomic_files.DiskFullError as error:
            print(error.errno, error.filename, error, sep="\\n")
    """, path, limit=100_000)
    assert done.returncode == 0, done.stderr
    number, filename, message = done.stdout.splitlines()
    assert int(number) == errno.EFBIG and filename == str(path)
    assert message.startswith(f"cannot write {str(path)!r}: the file would exceed the file-size limit")
    assert "200000 bytes to write" in message and "bytes free there" in message
    assert message.endswith("the previous file is kept")
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["data.bin"]


def test_each_full_disk_errno_is_translated_and_other_errors_are_not(tmp_path):
    for number in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        with pytest.raises(atomic_files.DiskFullError) as caught:
            with atomic_files.replacing(tmp_path / "f.json"):
                raise OSError(number, os.strerror(number))
        assert caught.value.errno == number and str(caught.value) == caught.value.strerror
        assert "there was no earlier copy of it" in str(caught.value)
    with pytest.raises(PermissionError):
        with atomic_files.replacing(tmp_path / "f.json"):
            raise PermissionError(errno.EACCES, "denied")
    assert os.listdir(tmp_path) == []


BACKUP_UNDER_LIMIT = """
    import resource, sys
    import keras
    from keras_seq.atomic_files import DiskFullError
    from keras_seq.training.resume import RunBackup
    x = keras.Input((64,))
    model = keras.Model(x, keras.layers.Dense(256)(x))
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    backup = RunBackup(sys.argv[1], {"task": "t"})
    backup.save(model, 1, [{"epoch": 1}])
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
    try:
        backup.save(model, 2, [{"epoch": 1}, {"epoch": 2}])
    except DiskFullError as error:
        print(error)
    print(backup.load_state()["epochs_done"])
"""


def test_a_backup_on_a_full_disk_keeps_the_previous_epoch_and_does_not_crash(tmp_path):
    done = _child(BACKUP_UNDER_LIMIT, tmp_path, 50_000)
    assert done.returncode == 0, done.stderr  # the weights.h5 writer crashed here at exit
    message, epochs_done = done.stdout.splitlines()
    assert message.startswith(f"cannot write {str(tmp_path / 'epoch-0002.keras')!r}: the file would exceed")
    assert epochs_done == "1"
    assert "h5py" not in done.stderr and "Traceback" not in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["epoch-0001.keras", "state.json"]


def _train(out, epochs, limit=None):
    return subprocess.run(
        [sys.executable, "-m", "keras_seq.cli", "train", "digits", "--model", "lenet5", "--limit", "32",
         "--batch-size", "16", "--epochs", str(epochs), "--out", str(out)],
        env=ENV, capture_output=True, text=True, timeout=240,
        preexec_fn=None if limit is None else _limited(limit))


def test_train_on_a_full_disk_says_so_in_one_line_keeps_the_last_epoch_and_resumes(tmp_path):
    out = tmp_path / "run"
    assert _train(out, 1).returncode == 0
    model_file = out / "model.keras"
    before = _sha(model_file)
    full = _train(out, 2, limit=model_file.stat().st_size // 2)
    assert full.returncode == 2, full.stderr
    errors = [line for line in full.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, full.stderr
    assert errors[0].startswith(f"keras-seq train: error: cannot write {str(model_file)!r}: the file would "
                                "exceed the file-size limit (ulimit -f)")
    assert errors[0].endswith("bytes free there); the previous file is kept")
    assert _sha(model_file) == before and saving.check_keras_file(model_file, probe=False) is True
    assert json.loads((out / "backup" / "state.json").read_text())["epochs_done"] == 1
    assert not list(out.glob(".*-tmp-*")) and not list((out / "backup").glob(".*-tmp-*"))
    again = _train(out, 2)
    assert again.returncode == 0, again.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == 1 and metrics["epochs"] == 2


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 1.2 MB tmpfs, where this process may mount one (root on Linux); else the test is skipped."""
    folder = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(folder)],
                             capture_output=True) if os.geteuid() == 0 else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_train_onto_a_full_tmpfs_exits_cleanly_where_it_crashed(tiny_tmpfs):
    done = subprocess.run(
        [sys.executable, "-m", "keras_seq.cli", "train", "digits", "--limit", "64", "--epochs", "2",
         "--out", str(tiny_tmpfs / "run")], env=ENV, capture_output=True, text=True, timeout=240)
    assert done.returncode == 2, done.stderr  # was -11 / 139: SIGSEGV after an h5py refcount error
    assert "Traceback" not in done.stderr and "h5py" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and ": no space left on its device (" in errors[0], done.stderr
    assert "bytes free there" in errors[0]
