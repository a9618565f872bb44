"""Fuzz ``EdgeModel`` with damaged and hostile copies of a trained LeNet-5's ``.tflite`` files.

Three kinds of copy of the float32 and int8 files ``to_tflite`` wrote:

- ``damaged``: bytes changed after writing (bit flips, zeroed or random
  blocks, huge int32s, in each region: header, flatbuffer tables, weight
  buffers, metadata; truncations; appended bytes) or a structural edit made
  by a tool that does not know the digest. Such a file must be refused, or
  (never seen) give exactly the original's outputs.
- ``hostile``: a structural edit (a tensor pointed at another buffer, the
  issue's activation-into-weights alias among them, op inputs and outputs
  rewired, shapes, types and op codes changed, RESHAPE fixed to batch 1)
  with the digest recomputed, as an attacker would. It may run as a
  different model; it must not crash or hang the caller.
- ``unverified``: the digest removed, then damaged as above, like a file
  from another tool. It must not crash or hang; if it runs, the caller was
  warned that it cannot be verified.
- ``data-dependent``: files with LeNet's input and output and a valid
  digest whose graph runs away only on some data (:func:`data_dependent_files`):
  a WHILE loop of 2^31 - 1 steps or a TILE of 3 GB per sample, set off by
  any non-zero input (which the load-time probe feeds) or only by
  digit-like input (which it does not, so ``predict``'s own limits must stop
  it). Each must end in a clean error, never a hang.
- ``valid``: the original files themselves, which must run and answer as
  they do (a refusal is a false refusal).

Every copy is loaded by ``EdgeModel`` (probe included) and run on 1 and on
256 MNIST test digits in a worker process, one copy after another under a
watchdog; a worker that dies is counted as a crash and restarted, one that
stops answering as a hang. The worker's ``EdgeModel`` runs under
``--time-limit`` seconds and ``--memory-limit`` MiB per run (LeNet-5 takes
milliseconds and under 100 MiB; the limits only set how long a runaway
takes to be stopped). Run::

    python benchmarks/fuzz.py                 # 5,000 copies, seed 2026 (3 to 8 minutes on 2 shared cores)
    python benchmarks/fuzz.py --mutants 500   # a quick look

It prints one row per kind of change and, last, a JSON summary.
"""

import argparse
import collections
import functools
import json
import os
import pathlib
import select
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

WATCHDOG_SECONDS = 90  # longer than the worker's load and runs under their limits: a hang here is the caller's
TIME_LIMIT = 10.0  # seconds per run in the worker's EdgeModel
MEMORY_LIMIT_MIB = 1024
DATA_DEPENDENT_EVERY = 1000  # one data-dependent file per this many mutants (at least one of each kind)
BATCHES = (1, 256)
COLUMNS = ("mutants", "clean error", "crash", "hang", "raw exception", "ran, same", "ran, warned",
           "ran, hostile", "SILENT wrong", "FALSE refusal", "digit changed", "NaN", "wrong shape")


# ---- where the bytes are ------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def regions(data):
    """Byte positions of a ``.tflite`` file by role: header, tables, weights, metadata."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    metadata_buffers = {model.Metadata(m).Buffer() for m in range(model.MetadataLength())}
    spans = {"weights": [], "metadata": []}
    for b in range(model.BuffersLength()):
        table = model.Buffers(b)._tab
        field = flatbuffers.number_types.UOffsetTFlags.py_type(table.Offset(4))
        if field and table.VectorLen(field):
            start = table.Vector(field)
            spans["metadata" if b in metadata_buffers else "weights"].append((start, start + table.VectorLen(field)))
    taken = np.zeros(len(data), bool)
    taken[:16] = True
    positions = {}
    for name in ("weights", "metadata"):
        inside = np.zeros(len(data), bool)
        for start, end in spans[name]:
            inside[start:end] = True
        taken |= inside
        positions[name] = np.flatnonzero(inside)
    positions["header"] = np.arange(16)
    positions["tables"] = np.flatnonzero(~taken)
    return positions


def _position(rng, positions):
    return int(positions[int(rng.integers(0, len(positions)))])


def byte_mutation(data, rng, region):
    """A copy of ``data`` with bytes changed in ``region`` (or truncated / extended)."""
    data = bytearray(data)
    if region == "truncated":
        return bytes(data[:int(rng.integers(0, len(data)))])
    if region == "appended":
        return bytes(data) + rng.bytes(int(rng.integers(1, 4096)))
    positions = regions(bytes(data))[region]
    how = int(rng.integers(0, 4))
    at = _position(rng, positions)
    if how == 0:  # bit flips
        for _ in range(int(rng.integers(1, 9))):
            data[_position(rng, positions)] ^= 1 << int(rng.integers(0, 8))
    elif how == 1:  # a zeroed block
        size = int(rng.integers(4, 256))
        data[at:at + size] = bytes(len(data[at:at + size]))
    elif how == 2:  # a random block
        block = rng.bytes(int(rng.integers(4, 64)))
        data[at:at + len(block)] = block[:len(data) - at]
    else:  # an extreme int32
        value = int(rng.choice([0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, len(data), 0]))
        data[at:at + 4] = value.to_bytes(4, "little")[:len(data) - at]
    return bytes(data)


# ---- structural edits ---------------------------------------------------------------------


STRUCTURAL = ("alias", "rebuffer", "op_input", "op_output", "shape", "output_shape", "type", "opcode",
              "io", "reshape_batch1")


def structural_mutation(data, rng, kind):
    """A copy of ``data`` re-packed with one structural edit (the old digest entry kept as it was)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    tensors = graph.tensors
    has_data = [b.data is not None and len(b.data) > 0 for b in model.buffers]
    constants = [i for i, t in enumerate(tensors) if has_data[t.buffer]]
    computed = [i for i, t in enumerate(tensors) if not has_data[t.buffer]]
    weight_buffers = sorted({tensors[i].buffer for i in constants})

    def pick(items):
        return items[int(rng.integers(0, len(items)))]

    if kind == "alias":  # an activation written into a weight buffer
        tensors[pick(computed)].buffer = pick(weight_buffers)
    elif kind == "rebuffer":
        tensors[pick(constants)].buffer = pick(weight_buffers)
    elif kind == "op_input":
        op = pick(graph.operators)
        op.inputs[int(rng.integers(0, len(op.inputs)))] = int(rng.integers(-1, len(tensors)))
    elif kind == "op_output":
        op = pick(graph.operators)
        op.outputs[0] = int(rng.integers(0, len(tensors)))
    elif kind == "shape":
        tensor = tensors[pick(constants + computed)]
        if tensor.shape is not None and len(tensor.shape):
            shape = np.array(tensor.shape, np.int32)
            shape[int(rng.integers(0, len(shape)))] = int(rng.choice([0, 1, 2, 3, 7, 120, 1 << 20]))
            tensor.shape = shape
    elif kind == "output_shape":
        tensors[graph.outputs[0]].shape = np.array(pick([[1, 1, 120], [1], [2, 10], [1, 84]]), np.int32)
        tensors[graph.outputs[0]].shapeSignature = None
    elif kind == "type":
        tensors[pick(constants + computed)].type = int(rng.integers(0, 18))
    elif kind == "opcode":
        pick(graph.operators).opcodeIndex = int(rng.integers(0, len(model.operatorCodes)))
    elif kind == "io":
        graph.outputs[0] = int(rng.integers(0, len(tensors)))
    elif kind == "reshape_batch1":  # RESHAPE's target shape fixed at batch 1: runs at 1, not at 256
        reshapes = [op for op in graph.operators
                    if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.RESHAPE]
        if reshapes:
            buffer = schema.BufferT()
            target = tensors[reshapes[0].outputs[0]].shape
            buffer.data = np.array([1, int(np.prod(target[1:]))], np.int32).view(np.uint8)
            model.buffers.append(buffer)
            shape = schema.TensorT()
            shape.shape, shape.type = np.array([2], np.int32), schema.TensorType.INT32
            shape.buffer, shape.name = len(model.buffers) - 1, b"fixed_shape"
            tensors.append(shape)
            reshapes[0].inputs[1] = len(tensors) - 1
    import flatbuffers

    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def without_digest(data):
    """``data`` re-packed with its digest metadata entry removed (a file from another tool)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema
    from keras_seq.export.integrity import DIGEST_METADATA

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for entry in model.metadata or []:
        if entry.name == DIGEST_METADATA.encode():
            model.buffers[entry.buffer].data = None
    model.metadata = [m for m in (model.metadata or []) if m.name != DIGEST_METADATA.encode()]
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


BYTE_REGIONS = ("header", "tables", "weights", "metadata", "truncated", "appended")


def data_dependent_files():
    """``{name: stamped .tflite bytes}``: LeNet's input (N, 28, 28, 1) and softmax output (N, 10), and a
    graph that runs away only on some inputs.

    - ``spin on non-zero``: a WHILE loop of 2^31 - 1 steps when any input is non-zero;
    - ``tile on non-zero``: a TILE to 28e6 x 28 floats (3.1 GB) per sample then;
    - ``spin on digits`` and ``tile on digits``: the same, only for digit-like input (all values >= 0,
      mean in (0.05, 0.4)): not zeros, ones, random values in [-1, 1] or [0, 1], nor a range's ends,
      which is what the load-time probe feeds.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from keras_seq.export import integrity

    spec = tf.TensorSpec([None, 28, 28, 1], tf.float32)

    def non_zero(x):
        return tf.reduce_max(tf.abs(x)) > 0

    def digit_like(x):
        mean = tf.reduce_mean(x)
        return tf.logical_and(tf.reduce_min(x) >= 0, tf.logical_and(mean > 0.05, mean < 0.4))

    def spin(trigger):
        def graph(x):
            steps = tf.cast(trigger(x), tf.int32) * 2147483647
            _, count = tf.while_loop(lambda i, c: i < steps, lambda i, c: (i + 1, c + 1.0),
                                     (tf.constant(0), tf.constant(0.0)))
            return tf.nn.softmax(tf.reshape(x, [-1, 784])[:, :10] + count)
        return graph

    def tile(trigger):
        def graph(x):
            copies = tf.cast(trigger(x), tf.int32) * 1_000_000 + 1
            big = tf.tile(x, tf.stack([1, copies, 1, 1]))
            return tf.nn.softmax(tf.reshape(tf.reduce_sum(big, axis=1), [-1, 28])[:, :10])
        return graph

    files = {}
    for name, make, trigger in (("spin on non-zero", spin, non_zero), ("tile on non-zero", tile, non_zero),
                                ("spin on digits", spin, digit_like), ("tile on digits", tile, digit_like)):
        function = tf.function(make(trigger), input_signature=[spec])
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
        files[name] = integrity.stamp(converter.convert())
    return files


def _changed(make, original):
    """``make()`` again until its bytes differ from ``original`` (a zeroed block over zeros changes nothing)."""
    for _ in range(100):
        data = make()
        if data != original:
            return data
    return data


def mutants(originals, count, seed, data_dependent=None):
    """Yield ``count`` ``(group, base, bytes)``: about 70 % damaged, 15 % hostile, 15 % unverified;
    then each original once (``valid``) and, from ``data_dependent`` (:func:`data_dependent_files`),
    ``max(1, count // DATA_DEPENDENT_EVERY)`` files of each kind (not counted in ``count``)."""
    from keras_seq.export import integrity

    rng = np.random.default_rng(seed)
    stripped = {name: without_digest(data) for name, data in originals.items()}
    names = sorted(originals)
    for name in names:
        yield "valid original", name, originals[name]
    for name, data in sorted((data_dependent or {}).items()):
        for _ in range(max(1, count // DATA_DEPENDENT_EVERY)):
            yield f"data-dependent {name}", names[0], data
    for i in range(count):
        base = names[i % len(names)]
        roll = i % 20
        if roll < 14:  # damaged
            if roll < 10:
                region = BYTE_REGIONS[roll % len(BYTE_REGIONS)]
                yield f"damaged {region}", base, _changed(
                    functools.partial(byte_mutation, originals[base], rng, region), originals[base])
            else:
                kind = STRUCTURAL[int(rng.integers(0, len(STRUCTURAL)))]
                yield f"damaged structure: {kind}", base, _changed(
                    functools.partial(structural_mutation, originals[base], rng, kind), originals[base])
        elif roll < 17:  # hostile: the digest recomputed
            kind = STRUCTURAL[(i // 20 * 3 + roll - 14) % len(STRUCTURAL)]
            data = integrity.stamp(structural_mutation(originals[base], rng, kind))
            yield f"hostile {kind}", base, data
        else:  # unverified: no digest, then damaged
            region = ("weights", "tables", "truncated")[roll - 17]
            yield f"unverified {region}", base, _changed(
                functools.partial(byte_mutation, stripped[base], rng, region), stripped[base])


# ---- the worker: one process, many files --------------------------------------------------


def worker(originals_folder, time_limit=TIME_LIMIT, memory_limit_mib=MEMORY_LIMIT_MIB):
    """Read ``PATH BASE`` lines on stdin; answer one JSON line each on stdout."""
    from keras_seq.export import EdgeModel as BoundlessEdgeModel
    from keras_seq.export.bundled_inputs import digits
    from keras_seq.export.errors import UnverifiedModelWarning

    def EdgeModel(path):
        return BoundlessEdgeModel(path, time_limit=time_limit, memory_limit=memory_limit_mib << 20)

    x, _ = digits("test", max(BATCHES))
    inputs = {batch: x[:batch] for batch in BATCHES}
    expected = {}
    for path in sorted(pathlib.Path(originals_folder).glob("*.tflite")):
        edge = EdgeModel(path)
        expected[path.stem] = {batch: edge.predict(inputs[batch]) for batch in BATCHES}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        path, base = line.split()
        answer = {"outcome": "identical", "warned": False}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                edge = EdgeModel(path)
                for batch in BATCHES:
                    got, want = edge.predict(inputs[batch]), expected[base][batch]
                    if np.shape(got) != np.shape(want):
                        answer.update(outcome="different", wrong_shape=True)
                    elif not np.array_equal(got, want):
                        answer.update(outcome="different", nan=bool(np.isnan(got).any()),
                                      digit_changed=bool((got.argmax(-1) != want.argmax(-1)).any()))
            except ValueError as error:
                text = str(error)
                answer = {"outcome": "error", "one_line": "\n" not in text, "message": text[:300]}
            except Exception as error:  # any other exception type breaks the promise
                answer = {"outcome": "raw exception", "message": f"{type(error).__name__}: {error}"[:300]}
        answer["warned"] = any(issubclass(w.category, UnverifiedModelWarning) for w in caught)
        print(json.dumps(answer), flush=True)


class Worker:
    """The parent's handle on a worker process, restarted after a crash or a hang."""

    def __init__(self, originals_folder, time_limit=TIME_LIMIT, memory_limit_mib=MEMORY_LIMIT_MIB):
        self.originals_folder = originals_folder
        self.limits = ["--time-limit", str(time_limit), "--memory-limit", str(memory_limit_mib)]
        self.process = None

    def start(self):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(self.originals_folder), *self.limits],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        ready = self._read(300)
        if not ready or not ready.get("ready"):
            raise RuntimeError("the fuzz worker did not start")

    def _read(self, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return "hang"
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def run(self, path, base):
        if self.process is None or self.process.poll() is not None:
            self.start()
        self.process.stdin.write(f"{path} {base}\n")
        self.process.stdin.flush()
        answer = self._read(WATCHDOG_SECONDS)
        if answer == "hang":
            self.stop()
            return {"outcome": "hang"}
        if answer is None:
            code = self.process.wait()
            self.process = None
            return {"outcome": "crash", "message": f"worker exit {code}"}
        return answer

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def fuzz(originals, count, seed, folder, data_dependent=None, time_limit=TIME_LIMIT,
         memory_limit_mib=MEMORY_LIMIT_MIB):
    """Run ``count`` mutants of ``originals`` (name -> stamped bytes), the originals and the
    ``data_dependent`` files (see :func:`mutants`); returns ``{group: Counter}`` and failures."""
    folder = pathlib.Path(folder)
    (folder / "originals").mkdir(parents=True, exist_ok=True)
    for name, data in originals.items():
        (folder / "originals" / f"{name}.tflite").write_bytes(data)
    runner = Worker(folder / "originals", time_limit, memory_limit_mib)
    table = collections.defaultdict(collections.Counter)
    failures = []
    try:
        for i, (group, base, data) in enumerate(mutants(originals, count, seed, data_dependent)):
            path = folder / f"mutant-{i}.tflite"
            path.write_bytes(data)
            answer = runner.run(path, base)
            path.unlink()
            row = table[group]
            row["mutants"] += 1
            outcome = answer["outcome"]
            if outcome == "error":
                row["clean error"] += 1
                if not answer["one_line"]:
                    failures.append((group, "multi-line error", answer["message"]))
            elif outcome == "identical":
                row["ran, same"] += 1
            elif outcome == "different":
                column = ("ran, hostile" if group.startswith("hostile")
                          else "ran, warned" if answer["warned"] else "SILENT wrong")
                row[column] += 1
                for flag, name in (("digit_changed", "digit changed"), ("nan", "NaN"), ("wrong_shape", "wrong shape")):
                    row[name] += bool(answer.get(flag))
            else:
                row[outcome] += 1
            if outcome in ("crash", "hang", "raw exception") or (
                outcome == "different" and not group.startswith("hostile") and not answer["warned"]
            ):
                failures.append((group, outcome, answer.get("message", "")))
            elif group.startswith("valid") and outcome != "identical":
                row["FALSE refusal"] += 1
                failures.append((group, "false refusal", answer.get("message", "")))
            elif group.startswith("data-dependent") and outcome != "error":
                failures.append((group, f"{outcome}: ran away unstopped", ""))
    finally:
        runner.stop()
    return table, failures


def print_table(table):
    width = max(map(len, table)) + 2
    print(f"{'change':{width}s}" + "".join(f"{c:>15s}" for c in COLUMNS))
    total = collections.Counter()
    for group in sorted(table):
        total.update(table[group])
        print(f"{group:{width}s}" + "".join(f"{table[group][c]:15d}" for c in COLUMNS))
    print(f"{'total':{width}s}" + "".join(f"{total[c]:15d}" for c in COLUMNS))
    return total


def trained_lenet_files():
    """LeNet-5 trained one epoch on 2,000 MNIST digits, exported float32 and int8."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from keras_seq.export import to_tflite
    from keras_seq.export.bundled_inputs import digits

    from keras_seq.models import lenet5

    x, y = digits("train", 2000)
    keras.utils.set_random_seed(1)
    model = lenet5("modern")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return {"float32": to_tflite(model), "int8": to_tflite(model, quantization="int8", representative_data=x[:200])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                        help="seconds per run in the worker's EdgeModel (default %(default)s)")
    parser.add_argument("--memory-limit", type=int, default=MEMORY_LIMIT_MIB,
                        help="MiB the worker's EdgeModel may use per run (default %(default)s)")
    parser.add_argument("--no-data-dependent", action="store_true", help="skip the data-dependent files")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.time_limit, args.memory_limit)
    originals = trained_lenet_files()
    data_dependent = None if args.no_data_dependent else data_dependent_files()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        table, failures = fuzz(originals, args.mutants, args.seed, folder, data_dependent,
                               args.time_limit, args.memory_limit)
    seconds = time.perf_counter() - started
    total = print_table(table)
    for group, outcome, message in failures[:20]:
        print(f"FAILURE {group}: {outcome}: {message}")
    print(json.dumps({**{c: total[c] for c in COLUMNS}, "mutants": args.mutants, "files": total["mutants"],
                      "seed": args.seed, "seconds": round(seconds, 1), "failures": len(failures)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
