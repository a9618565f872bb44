"""What a ``.tflite`` file holds and where it runs: ops, loops, lowering, runtimes, GPU delegation, dynamic shapes."""

import collections
import dataclasses
import json

from keras_seq.export.gpu_delegation import gpu_unsupported
from keras_seq.export.runtimes import RUNTIMES, dynamic_dimensions, unsupported_reasons
from keras_seq.export.tflite_file import BUILTIN_NAMES, LOWERING_METADATA
from keras_seq.export.validate import open_tflite

FUSED_RECURRENT_OPS = (
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "BIDIRECTIONAL_SEQUENCE_LSTM",
    "UNIDIRECTIONAL_SEQUENCE_RNN",
    "BIDIRECTIONAL_SEQUENCE_RNN",
)
LOOP_OPS = ("WHILE",)


@dataclasses.dataclass(frozen=True)
class OpReport:
    """Ops of a ``.tflite`` model.

    Attributes:
        size: file size in bytes.
        ops: Counter of op name -> count, over every subgraph.
        main_ops: op names of the main subgraph, in order.
        subgraphs: number of subgraphs (a ``WHILE`` loop adds a cond and a body).
        loops: number of ``WHILE`` ops (a recurrence run step by step).
        fused_recurrent: number of fused recurrent ops.
        custom_ops: names of non-builtin ops (``Flex*`` need the TF runtime).
        lowering: per recurrent Keras layer, how it was exported (from
            :func:`keras_seq.export.to_tflite`'s metadata; empty for other files).
        runtimes: ``{runtime: reason}`` for each LiteRT runtime
            (:data:`keras_seq.export.runtimes.RUNTIMES`), ``""`` where it loads.
        dynamic: ``(name, shape)`` of inputs and outputs with a dynamic (-1)
            dimension.
        gpu: why LiteRT's GPU accelerator (LiteRT.js ``'webgpu'`` in a
            browser) cannot run the whole file, one reason per op kind
            (:func:`keras_seq.export.gpu_delegation.gpu_unsupported`, after
            the file's ``compiled-model`` reason, if any); empty when it is
            fully delegated.
    """

    size: int
    ops: collections.Counter
    main_ops: tuple
    subgraphs: int
    loops: int
    fused_recurrent: int
    custom_ops: tuple
    lowering: tuple
    runtimes: dict
    dynamic: tuple
    gpu: tuple

    @property
    def gpu_delegated(self):
        """Whether every op runs on LiteRT's GPU accelerator (none falls back to the CPU)."""
        return not self.gpu

    @property
    def loads_in(self):
        """The runtimes that load this file."""
        return tuple(name for name in RUNTIMES if not self.runtimes[name])

    def __str__(self):
        lines = [
            f"size: {self.size} bytes ({self.size / 1024:.1f} KiB), {self.subgraphs} subgraph(s)",
            "ops: " + ", ".join(f"{name} x{n}" for name, n in sorted(self.ops.items())),
            f"fused recurrent ops: {self.fused_recurrent}; WHILE loops: {self.loops}"
            + ("  <- recurrence runs as a loop" if self.loops else ""),
            "non-builtin ops: " + (", ".join(self.custom_ops) if self.custom_ops else "none"),
        ]
        for item in self.lowering:
            reason = f" ({item['reason']})" if item["reason"] else ""
            lines.append(f"  {item['layer']} [{item['kind']}]: {item['lowering']}{reason}")
        lines.append("dynamic dimensions: " + (
            ", ".join(f"{name} {list(shape)}" for name, shape in self.dynamic) if self.dynamic else "none"))
        lines.append("runtimes:")
        for name in RUNTIMES:
            why = self.runtimes[name]
            lines.append(f"  {name}: " + (f"no: {why}" if why else "yes"))
        lines.append("gpu accelerator (LiteRT GPU, LiteRT.js webgpu): " + (
            "fully delegated" if self.gpu_delegated else "not fully delegated, on the CPU: " + "; ".join(self.gpu)))
        return "\n".join(lines)


def op_report(tflite):
    """Report the ops of ``tflite`` (an ``EdgeModel``, path or bytes); never runs it."""
    data, file = getattr(tflite, "data", None), getattr(tflite, "file", None)
    if file is None:
        data, file = open_tflite(tflite, probe=False)  # digest and structure checked; not run
    ops = collections.Counter(op for subgraph in file.subgraph_ops for op in subgraph)
    builtins = set(BUILTIN_NAMES.values()) - {"CUSTOM"}
    custom = tuple(sorted(name for name in ops if name not in builtins))
    try:
        lowering = json.loads(file.metadata.get(LOWERING_METADATA, b"[]"))
    except ValueError:
        lowering = []
    keys = {"layer", "kind", "lowering", "reason"}
    if not isinstance(lowering, list) or not all(isinstance(i, dict) and keys <= set(i) for i in lowering):
        lowering = []
    runtimes = unsupported_reasons(file)
    return OpReport(
        size=file.size,
        ops=ops,
        main_ops=file.subgraph_ops[0],
        subgraphs=len(file.subgraph_ops),
        loops=sum(ops[name] for name in LOOP_OPS),
        fused_recurrent=sum(ops[name] for name in FUSED_RECURRENT_OPS),
        custom_ops=custom,
        lowering=tuple(lowering),
        runtimes=runtimes,
        dynamic=tuple(dynamic_dimensions(file)),
        gpu=tuple(([runtimes["compiled-model"]] if runtimes["compiled-model"] else []) + gpu_unsupported(data)),
    )
