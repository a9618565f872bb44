"""Every .tflite to_tflite writes carries a digest; damaged files are refused before anything runs,
unsafe structures before the probe, and nothing a file does reaches the caller as a crash."""

import warnings

import numpy as np
import pytest

from keras_seq import cli
from keras_seq.export import EdgeModel, ModelFileError, integrity, limits, op_report
from keras_seq.export.errors import UnverifiedModelWarning
from keras_seq.export.tflite_file import read_tflite


@pytest.fixture(scope="module")
def files(trained_lenet_files, tmp_path_factory):
    _, float32, _, x_test = trained_lenet_files
    folder = tmp_path_factory.mktemp("integrity")
    (folder / "lenet.tflite").write_bytes(float32)
    return folder, float32, x_test


def test_to_tflite_stamps_a_digest_that_covers_every_byte(files, fuzz_tools):
    folder, data, _ = files
    assert integrity.verify(data) is True
    rng = np.random.default_rng(0)
    positions = fuzz_tools.regions(data)
    for region in ("header", "tables", "weights", "metadata"):
        for _ in range(5):
            damaged = bytearray(data)
            damaged[int(rng.choice(positions[region]))] ^= 1 << int(rng.integers(0, 8))
            path = folder / f"damaged-{region}.tflite"
            path.write_bytes(damaged)
            for load in (lambda path=path: EdgeModel(path, verify=False), lambda path=path: op_report(path)):
                with pytest.raises(ModelFileError) as error:
                    load()
                message = str(error.value)
                assert str(path) in message and "\n" not in message, message
    for damaged in (data + b"\0", data[:-1]):
        with pytest.raises(ModelFileError):
            EdgeModel(damaged, verify=False)


def test_a_file_without_a_digest_loads_with_a_one_line_warning(files, fuzz_tools):
    folder, data, x_test = files
    path = folder / "other-tool.tflite"
    path.write_bytes(fuzz_tools.without_digest(data))
    with pytest.warns(UnverifiedModelWarning, match="carries no digest") as caught:
        edge = EdgeModel(path, verify=False)
    assert "\n" not in str(caught[0].message) and str(path) in str(caught[0].message)
    np.testing.assert_array_equal(edge.predict(x_test[:5]), EdgeModel(data, verify=False).predict(x_test[:5]))


def test_a_damaged_digest_name_is_not_taken_for_a_missing_digest(files):
    _, data, _ = files
    at = data.index(b"keras_seq.sha256")
    renamed = data[:at] + b"keras_seq.sha257" + data[at + 16:]
    with pytest.raises(ModelFileError, match="name is damaged"):
        EdgeModel(renamed, verify=False)


def restamped(fuzz_tools, data, kind, seed=0):
    """A hostile edit: the structure changed and the digest recomputed, so only the structural checks stand."""
    return integrity.stamp(fuzz_tools.structural_mutation(data, np.random.default_rng(seed), kind))


def test_an_activation_written_into_a_weight_buffer_is_refused_before_the_probe(files, fuzz_tools):
    _, data, _ = files
    for seed in range(5):
        with pytest.raises(ModelFileError, match="written by the runtime but points at constant buffer"):
            read_tflite(restamped(fuzz_tools, data, "alias", seed))


def test_constants_must_hold_their_shapes_bytes_and_outputs_keep_the_batch_axis(files, fuzz_tools):
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers

    _, data, _ = files
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    weights = next(t for t in graph.tensors if model.buffers[t.buffer].data is not None and len(t.shape) == 2)
    weights.shape = np.array([weights.shape[0] * 2, weights.shape[1]], np.int32)  # reads past its buffer
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(ModelFileError, match="needs .* bytes but its buffer holds"):
        read_tflite(integrity.stamp(bytes(builder.Output())))
    for seed in range(3):
        with pytest.raises(ModelFileError, match="first axis must be the input's batch axis|is a constant"):
            read_tflite(restamped(fuzz_tools, data, "output_shape", seed))


def test_a_file_that_breaks_only_at_large_batches_is_refused_at_load(files, fuzz_tools):
    """RESHAPE fixed to batch 1 runs at batch 1; the probe also runs batch 256, and predict never exceeds it."""
    _, data, x_test = files
    hostile = restamped(fuzz_tools, data, "reshape_batch1")
    with pytest.raises(ModelFileError, match="cannot be loaded|failed to run"):
        EdgeModel(hostile)
    edge = EdgeModel(hostile, verify=False)  # unprobed: the runtime's error still arrives as a ValueError
    with pytest.raises(ModelFileError, match="failed to run"):
        edge.predict(x_test[:200])


def test_predict_runs_large_batches_in_probed_chunks(files):
    _, data, x_test = files
    edge = EdgeModel(data)
    x = np.concatenate([x_test, x_test])[:limits.PROBE_BATCH * 2 + 7]
    whole = edge.predict(x)
    pieces = np.concatenate([edge.predict(x[i:i + 100]) for i in range(0, len(x), 100)])
    np.testing.assert_array_equal(whole, pieces)


def test_num_threads_is_capped(files):
    _, data, _ = files
    for bad in (0, limits.MAX_NUM_THREADS + 1, 32768, True, 2.0):
        expected = f"num_threads=.*expected None or an int >= 1 and <= {limits.MAX_NUM_THREADS}"
        with pytest.raises(ValueError, match=expected):
            EdgeModel(data, num_threads=bad, verify=False)
    edge = EdgeModel(data, num_threads=limits.MAX_NUM_THREADS, verify=False)
    assert edge.predict(np.zeros((1, 28, 28, 1))).shape == (1, 10)


def test_verify_command_prints_the_verdict(files, fuzz_tools, capsys):
    folder, data, _ = files
    (folder / "unstamped.tflite").write_bytes(fuzz_tools.without_digest(data))
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 1
    (folder / "damaged.tflite").write_bytes(damaged)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the verdict says it; no warning on top
        assert cli.main(["verify", str(folder / "lenet.tflite")]) == 0
        assert "verified: sha256 digest matches" in capsys.readouterr().out
        assert cli.main(["verify", "--no-probe", str(folder / "unstamped.tflite")]) == 1
        assert "unverified: no digest" in capsys.readouterr().out
    assert cli.main(["verify", str(folder / "damaged.tflite")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "damaged.tflite" in error and "does not match its sha256 digest" in error


def test_infer_refuses_a_wrong_output_shape_in_one_line(files, fuzz_tools, tmp_path, capsys):
    from PIL import Image

    folder, data, x_test = files
    hostile = tmp_path / "shape.tflite"
    hostile.write_bytes(restamped(fuzz_tools, data, "io", seed=3))  # output rewired to another tensor
    png = tmp_path / "digit.png"
    Image.fromarray((x_test[0, ..., 0] * 255).astype(np.uint8)).save(png)
    code = cli.main(["infer", str(hostile), str(png)])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "keras-seq infer: error:" in error
    unstamped = tmp_path / "unstamped.tflite"
    unstamped.write_bytes(fuzz_tools.without_digest(data))
    assert cli.main(["infer", str(unstamped), str(png)]) == 0
    captured = capsys.readouterr()
    assert "prediction:" in captured.out
    assert captured.err.count("\n") == 1 and captured.err.startswith("keras-seq infer: warning: ")


def _with_buffers_after_the_flatbuffer(data):
    """``data`` rewritten as ai-edge-quantizer writes files: every weight buffer's bytes after the
    flatbuffer, 16-byte aligned, found by the buffer's ``offset`` and ``size``; without its digest
    (rewriting invalidates it)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    model.metadata = [m for m in model.metadata if m.name != integrity.DIGEST_METADATA.encode()]
    metadata = {m.buffer for m in model.metadata}
    moved = [b for i, b in enumerate(model.buffers)
             if i not in metadata and b.data is not None and len(b.data) >= 64]
    payloads = [bytes(np.asarray(b.data, np.uint8)) for b in moved]
    for b in moved:
        b.data, b.offset, b.size = None, 1 << 40, 1                    # placeholders of the final width

    def packed():
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    cursor = -(-len(packed()) // 16) * 16
    for b, payload in zip(moved, payloads):
        b.offset, b.size, cursor = cursor, len(payload), -(-(cursor + len(payload)) // 16) * 16
    head = packed()
    tail = bytearray(cursor - len(head))
    for b, payload in zip(moved, payloads):
        tail[b.offset - len(head):b.offset - len(head) + b.size] = payload
    return head + bytes(tail), len(moved)


def test_stamping_a_file_whose_weights_lie_after_the_flatbuffer_keeps_them(files):
    _, data, x_test = files
    outside, moved = _with_buffers_after_the_flatbuffer(data)
    reference = EdgeModel(data).predict(x_test[:8])
    assert moved >= 4                                                   # a valid file in that layout
    with pytest.warns(UnverifiedModelWarning):
        unverified = EdgeModel(outside, verify=False)
    np.testing.assert_allclose(unverified.predict(x_test[:8]), reference, atol=1e-6)
    assert integrity.verify(outside) is False                           # no digest
    stamped = integrity.stamp(outside)
    assert integrity.verify(stamped) is True
    np.testing.assert_allclose(EdgeModel(stamped).predict(x_test[:8]), reference, atol=1e-6)
    cut = outside[:len(outside) - 100]                                  # the last weights cut off
    with pytest.raises(ModelFileError, match="lies outside the file"):
        integrity.stamp(cut)
