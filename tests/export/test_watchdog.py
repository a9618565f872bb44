"""Every run of a model file is bounded: a graph that runs away only on some data is stopped with a clear
error (at the probe, or in predict when the probe cannot see it), Ctrl-C stops a long run, limits adapt to
the process's own (ulimit -v), outputs that are not what a SOFTMAX writes are reported, and bad arguments
(complex input, verify="no") are refused.

Each scenario that could hang runs in a child Python process under a subprocess timeout, so the suite
cannot hang whatever the code under test does."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from keras_seq.export import EdgeModel, ModelFileError, check_tflite, integrity
from keras_seq.export.bundled_inputs import digits
from keras_seq.export.output_checks import OutputWarning, distribution_problem, softmax_tolerances

WATCHDOG = 120  # seconds a child scenario may take in all; each expects its limit to stop it far sooner

SCENARIO = r"""
import json, sys, time
import numpy as np
from keras_seq.export import EdgeModel
from keras_seq.export.bundled_inputs import digits

path, time_limit, memory_mib = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
report = {}
started = time.monotonic()
try:
    edge = EdgeModel(path, time_limit=time_limit, memory_limit=memory_mib << 20)
    report["loaded"] = True
    edge.predict(np.zeros((2, 28, 28, 1), np.float32))
    report["zeros ran"] = True
    started = time.monotonic()
    try:
        edge.predict(digits("test", 2)[0])
        report["digits ran"] = True
    except ValueError as error:
        report.update(error=f"{type(error).__name__}: {error}", seconds=time.monotonic() - started)
    report["zeros after"] = edge.predict(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 10)
except ValueError as error:
    report.update(error=f"{type(error).__name__}: {error}", seconds=time.monotonic() - started)
print(json.dumps(report))
"""


def _scenario(tmp_path, data, time_limit=2, memory_mib=512):
    path = tmp_path / "runaway.tflite"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", SCENARIO, str(path), str(time_limit), str(memory_mib)],
                          capture_output=True, text=True, timeout=WATCHDOG,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_probe_refuses_a_loop_or_a_tile_that_only_non_zero_input_sets_off(data_dependent_files, tmp_path):
    spin = _scenario(tmp_path, data_dependent_files["spin on non-zero"])
    assert "loaded" not in spin
    assert "RunLimitError" in spin["error"] and "time limit of 2 s" in spin["error"] and "--time-limit" in spin["error"]
    assert spin["seconds"] < 30
    tile = _scenario(tmp_path, data_dependent_files["tile on non-zero"])
    assert "loaded" not in tile
    assert "RunLimitError" in tile["error"] and "memory limit of 512 MiB" in tile["error"]
    assert "memory_limit=" in tile["error"] and "\n" not in tile["error"]


def test_predict_stops_a_runaway_the_probe_cannot_see_and_runs_on_afterwards(data_dependent_files, tmp_path):
    for name, limit in (("spin on digits", "time limit of 2 s"), ("tile on digits", "memory limit of 512 MiB")):
        report = _scenario(tmp_path, data_dependent_files[name])
        assert report["loaded"] and report["zeros ran"] and "digits ran" not in report, (name, report)
        assert "RunLimitError" in report["error"] and limit in report["error"], (name, report)
        assert report["seconds"] < 30, (name, report)
        assert report["zeros after"], name  # a fresh child took over


def test_the_default_limits_are_not_hit_by_a_real_model(trained_lenet_files):
    from keras_seq.export import limits

    _, float32, int8, x_test = trained_lenet_files
    assert limits.RUN_TIME_LIMIT >= 60 and limits.RUN_MEMORY_LIMIT >= 4 << 30
    for data in (float32, int8):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no output warning either
            assert EdgeModel(data).predict(x_test[:300]).shape == (300, 10)


def test_ctrl_c_stops_a_long_run_at_once(data_dependent_files, tmp_path):
    model = tmp_path / "spin.tflite"
    model.write_bytes(data_dependent_files["spin on digits"])
    image = tmp_path / "digit.png"
    Image.fromarray((digits("test", 1)[0][0, :, :, 0] * 255).astype(np.uint8)).save(image)
    command = [sys.executable, "-m", "keras_seq.cli", "infer", str(model), str(image), "--time-limit", "600"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        time.sleep(1)
        deadline = time.monotonic() + 90
        while not _runs_a_child(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # the probe has passed and predict's run is spinning
        assert process.poll() is None, process.communicate()
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert time.monotonic() - sent < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130 and "interrupted" in err, err


def _runs_a_child(pid):
    """Whether ``pid`` has started its fork server (whose children run the model)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return bool(children.read().split())
    except OSError:
        return False


def _limited_address_space(nbytes):
    def set_limit():
        resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))
    return set_limit


def test_under_a_6_gb_address_space_limit_valid_files_verify_and_run(trained_lenet_files, tmp_path):
    from keras_seq import saving

    model, float32, _, x_test = trained_lenet_files
    tflite = tmp_path / "digits.tflite"
    tflite.write_bytes(float32)
    keras_file = tmp_path / "digits.keras"
    saving.save_model(model, keras_file)
    image = tmp_path / "digit.png"
    Image.fromarray((x_test[0, :, :, 0] * 255).astype(np.uint8)).save(image)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for args in (["verify", str(tflite)], ["verify", str(keras_file)], ["infer", str(tflite), str(image)]):
        done = subprocess.run([sys.executable, "-m", "keras_seq.cli", *args], capture_output=True, text=True,
                              timeout=WATCHDOG, env=env, preexec_fn=_limited_address_space(6_000_000 << 10))
        assert done.returncode == 0, (args, done.stdout, done.stderr[-3000:])
        assert "Traceback" not in done.stderr, args
        assert ("verified" if args[0] == "verify" else "prediction:") in done.stdout


def test_a_limit_that_cannot_be_set_is_one_clear_line(monkeypatch, trained_lenet_files):
    from keras_seq import saving
    from keras_seq.export import limits, validate

    _, float32, _, _ = trained_lenet_files

    def refuse():
        raise OSError("setrlimit refused")

    monkeypatch.setattr(saving, "limit_child_memory", refuse)
    with pytest.raises(ModelFileError, match="could not start the probe process") as caught:
        saving._probe("pass", "Keras model", 30)
    assert "\n" not in str(caught.value)
    monkeypatch.setattr(limits, "address_space_cap", lambda memory_limit: (1 << 70, False))  # setrlimit cannot take it
    monkeypatch.setattr(validate, "_probed", set())
    with pytest.raises(ModelFileError, match="could not cap the process's address space") as caught:
        check_tflite(float32)
    assert "\n" not in str(caught.value)


def test_the_childs_address_space_is_never_above_the_callers():
    from keras_seq.export import limits

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    code = ("import resource; from keras_seq.export import limits; "
            "print(limits.address_space_cap(16 << 30), resource.getrlimit(resource.RLIMIT_AS))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WATCHDOG,
                          preexec_fn=_limited_address_space(3 << 30))
    assert done.stdout.split(")")[0] == f"({3 << 30}, True"
    if soft == resource.RLIM_INFINITY:
        assert limits.address_space_cap(16 << 30) == (32 << 30, False)


def test_complex_input_and_a_non_boolean_verify_are_refused(trained_lenet_files):
    _, float32, _, x_test = trained_lenet_files
    edge = EdgeModel(float32)
    with pytest.raises(ValueError, match="complex64; expected real numbers"):
        edge.predict(x_test[:2] + 1j)
    with pytest.raises(ValueError, match="x\\[0\\] has dtype complex128"):
        edge.predict([x_test[0].astype(np.complex128)])
    for verify in ("no", 0, None, "False"):
        with pytest.raises(ValueError, match="verify=.* expected True or False"):
            EdgeModel(float32, verify=verify)
    for bad in ({"time_limit": 0}, {"time_limit": float("inf")}, {"memory_limit": 1 << 20},
                {"memory_limit": 2.5e9}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            EdgeModel(float32, **bad)


def _with_output_scale(data, factor):
    """``data`` (an int8 file) with its output's quantization scale multiplied by ``factor``, digest recomputed."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    writer = {out: op for op in graph.operators for out in op.outputs}
    output = graph.outputs[0]
    dequantize = writer[output]
    quantization = graph.tensors[dequantize.inputs[0]].quantization  # the int8 tensor the SOFTMAX wrote
    quantization.scale = np.asarray(quantization.scale, np.float32) * factor
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return integrity.stamp(bytes(builder.Output()))


def test_a_softmax_output_that_is_no_distribution_is_reported(trained_lenet_files, data_dependent_files):
    from keras_seq.export import output_checks

    _, float32, int8, x_test = trained_lenet_files
    assert softmax_tolerances(float32) == (1e-3,)
    (int8_tolerance,) = softmax_tolerances(int8)
    assert int8_tolerance == pytest.approx(1e-3 + 10 / 256)  # 10 classes, each rounded to 1/256
    assert softmax_tolerances(data_dependent_files["spin on non-zero"]) == (1e-3,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EdgeModel(int8).predict(x_test[:64])  # a distribution within int8 rounding: no warning
    # LiteRT itself refuses an int8 SOFTMAX whose output scale was forged (it must be 1/256):
    with pytest.raises(ModelFileError, match="SOFTMAX"):
        EdgeModel(_with_output_scale(int8, 3.0))
    # what a runtime or a forged pass-through could still return:
    relu_like = np.array([[0.0, 10.3, 0.0], [0.2, 0.3, 0.5]], np.float32)
    with pytest.warns(OutputWarning, match="output 1 is written by a SOFTMAX but has values in .*outside"):
        output_checks.check([relu_like, relu_like], (None, 1e-3), "m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        output_checks.check([relu_like], (None,), "m")  # not a SOFTMAX's: logits may be anything
    assert distribution_problem([[0.5, 0.5]]) is None
    assert "outside [0, 1]" in distribution_problem([[-0.2, 1.2]])
    assert "summing to 0.6" in distribution_problem([[0.3, 0.3]])
    assert "NaN" in distribution_problem([[np.nan, 1.0]])


def test_nan_outputs_from_finite_inputs_are_reported(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def square_root_of_negative(x):
        return tf.sqrt(x - 2.0)

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [square_root_of_negative.get_concrete_function()], square_root_of_negative)
    edge = EdgeModel(integrity.stamp(converter.convert()))
    with pytest.warns(OutputWarning, match="output 0 holds NaN or infinity"):
        edge.predict(np.ones((3, 4), np.float32))


def test_the_infer_command_refuses_outputs_that_are_not_probabilities():
    from keras_seq.export.infer_command import _probabilities

    assert _probabilities(np.array([0.25, 0.75]), "m").shape == (2,)
    for bad in ([0.1, 10.3], [0.3, 0.3], [np.nan, 1.0]):
        with pytest.raises(ModelFileError, match="not probabilities"):
            _probabilities(np.array(bad), "m")


def test_a_stream_whose_state_was_lost_to_a_stopped_run_must_be_reset(trained_lenet_files):
    from keras_seq.export.runners import InterpreterRunner, IsolatedRunner
    from keras_seq.export.sandbox import Sandbox

    _, float32, _, x_test = trained_lenet_files
    runner = IsolatedRunner(Sandbox("m"), InterpreterRunner, (float32,))
    kept = (runner.input_detail["index"],)  # a tensor whose value a stream carries from run to run
    first = runner.run(x_test[:1], variables=kept)
    runner.close()  # what a run stopped at a limit leaves: no child, no state
    with pytest.raises(RuntimeError, match="state was lost .* reset"):
        runner.run(x_test[:1], variables=kept)
    runner.reset_state()
    np.testing.assert_array_equal(runner.run(x_test[:1], variables=kept)[0], first[0])
