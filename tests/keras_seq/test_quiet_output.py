"""Native log lines stay off the terminal unless --verbose; our prints, warnings and errors do not."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from keras_seq import quiet_output

# What C++ code, a child process and our own code write inside the block.
PROGRAM = textwrap.dedent("""
    import logging, os, subprocess, sys, warnings
    from keras_seq.quiet_output import quiet_native_output

    with quiet_native_output(verbose={verbose}):
        late = logging.getLogger("late")
        late.addHandler(logging.StreamHandler())  # takes sys.stderr as it is inside the block
        os.write(1, b"NATIVE-OUT\\n")
        os.write(2, b"NATIVE-ERR\\n")
        subprocess.run([sys.executable, "-c", "import os; os.write(2, b'CHILD-ERR\\\\n')"], check=True)
        print("OURS-OUT")
        print("OURS-ERR", file=sys.stderr)
        warnings.warn("OURS-WARNING")
        if {fail}:
            raise RuntimeError("OURS-CRASH")
    print("AFTER-OUT")
    os.write(2, b"AFTER-NATIVE\\n")
    late.warning("LATE-LOG")
""")


def run_program(verbose=False, fail=False):
    code = PROGRAM.format(verbose=verbose, fail=fail)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_native_writes_are_hidden_and_ours_are_not():
    result = run_program()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["OURS-OUT", "AFTER-OUT"]
    assert "OURS-ERR" in result.stderr and "OURS-WARNING" in result.stderr
    for hidden in ("NATIVE-OUT", "NATIVE-ERR", "CHILD-ERR"):
        assert hidden not in result.stdout + result.stderr
    assert "AFTER-NATIVE" in result.stderr  # the descriptors are back after the block
    assert "LATE-LOG" in result.stderr and "Logging error" not in result.stderr  # a handler made inside still works


def test_verbose_hides_nothing():
    result = run_program(verbose=True)
    assert result.returncode == 0, result.stderr
    assert "NATIVE-OUT" in result.stdout
    assert "NATIVE-ERR" in result.stderr and "CHILD-ERR" in result.stderr


def test_a_crash_replays_the_native_log_before_the_traceback():
    result = run_program(fail=True)
    assert result.returncode == 1
    replay = result.stderr.index(quiet_output.REPLAY_HEADER.strip())
    assert result.stderr.index("NATIVE-ERR") > replay and "CHILD-ERR" in result.stderr
    assert result.stderr.index("RuntimeError: OURS-CRASH") > replay


def test_streams_and_descriptors_are_restored_in_process():
    before = (sys.stdout, sys.stderr, os.fstat(1).st_ino, os.fstat(2).st_ino)
    with pytest.raises(KeyError):
        with quiet_output.quiet_native_output():
            raise KeyError("inside")
    assert (sys.stdout, sys.stderr, os.fstat(1).st_ino, os.fstat(2).st_ino) == before


ABSL_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d", re.MULTILINE)  # I0000 00:00:... port.cc:153] oneDNN ...


def test_cli_hides_tensorflow_start_up_lines_unless_verbose_and_keeps_our_error(tmp_path):
    """``keras-seq export`` imports TensorFlow, then fails on the missing model: one error line."""
    # TF_CPP_MIN_LOG_LEVEL=0 asks TensorFlow for every line: the quiet run must still hide them.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    argv = [sys.executable, "-m", "keras_seq.cli", "export", str(tmp_path / "missing.keras"),
            "--out", str(tmp_path / "m.tflite")]
    runs = {name: subprocess.Popen(argv + flags, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=tmp_path)
            for name, flags in (("quiet", []), ("verbose", ["--verbose"]))}
    (quiet_out, quiet_err), (verbose_out, verbose_err) = (p.communicate(timeout=240) for p in runs.values())
    assert runs["quiet"].returncode == runs["verbose"].returncode == 2
    for err in (quiet_err, verbose_err):
        assert "keras-seq export: error:" in err and "does not exist" in err
    assert quiet_out == "" and quiet_err.strip().count("\n") == 0, quiet_err  # our one line, nothing else
    assert not ABSL_LINE.search(quiet_err) and "oneDNN" not in quiet_err
    assert ABSL_LINE.search(verbose_err), verbose_err

