"""Choose how each recurrent layer of a model becomes TFLite ops.

Four lowerings, named for what they emit:

* ``"unroll"``: every step written out as straight-line builtin ops, no
  control flow (:mod:`keras_seq.export.recurrent_unrolled`), for LSTM and
  Elman/SimpleRNN cells, alone or in ``Bidirectional``, at a fixed batch and
  sequence length. The only form LiteRT's GPU accelerator delegates whole.
* ``"loop"``: our lean ``WHILE`` loop of builtin ops
  (:mod:`keras_seq.export.recurrent_loop`), for the same layers at any
  length. Loads in every LiteRT runtime, runs on the CPU.
* ``"fused-lstm"``: TFLite's ``UNIDIRECTIONAL_SEQUENCE_LSTM`` kernel
  (:mod:`keras_seq.export.fused_lstm`), for standard LSTMs. It keeps its
  state in variable tensors, which LiteRT's ``CompiledModel`` and LiteRT.js
  refuse; the default for int8 (TensorFlow's int8 calibrator quantizes it
  and ``"unroll"``, not a loop).
* ``"own-loop"``: the layer's own computation traced as it is (GRU, custom
  cells, stateful layers): a correct ``WHILE`` loop made by the converter.

``AUTO`` (what ``to_tflite`` asks for by default) unrolls a call with a
fixed batch and length within the measured limits of
:func:`~keras_seq.export.recurrent_unrolled.why_not_unrollable` (at most 64
steps, and at most 16 x 512 gate pre-activations over all steps: 16 steps of
an LSTM(128), 64 of an LSTM(32)) and loops
otherwise; an explicit ``"unroll"`` unrolls any fixed length. Both decide when the model
is traced (only then is the length known, e.g. with ``max_length``):
:func:`settled` turns their records into what each layer got.

:func:`lower_recurrent_layers` clones the model with stand-ins and returns a
:class:`Lowering` per recurrent layer, saying which one it got and why.
"""

import dataclasses

import keras

from keras_seq.export.export_options import FUSED_LSTM, LOOP, RECURRENT_LOWERINGS, UNROLL  # noqa: F401
from keras_seq.export.fused_lstm import FusedBidirectional, FusedLSTM, why_not_fusable
from keras_seq.export.recurrent_loop import LoopBidirectional, LoopRecurrent, why_not_loopable
from keras_seq.export.recurrent_unrolled import UnrolledBidirectional, UnrolledRecurrent
from keras_seq.layers import Bidirectional, Recurrent, StackedRecurrent

OWN_LOOP = "own-loop"
AUTO = "auto"  # unroll a fixed length within recurrent_unrolled's measured limits, else loop


@dataclasses.dataclass(frozen=True)
class Lowering:
    """What became of one recurrent layer.

    Attributes:
        layer: the Keras layer's name.
        kind: its class, e.g. ``"LSTM"`` or ``"Bidirectional(LSTM)"``.
        lowering: ``"unroll"``, ``"loop"``, ``"fused-lstm"`` or ``"own-loop"``.
        reason: why it did not get the lowering asked for (``""`` if it did).
        directions: 2 for a ``Bidirectional`` layer (two loops or fused ops), else 1.
        stand_in: the unrolling stand-in that decides when traced, else None.
    """

    layer: str
    kind: str
    lowering: str
    reason: str = ""
    directions: int = 1
    stand_in: object = dataclasses.field(default=None, compare=False, repr=False)

    def __str__(self):
        return f"{self.layer} ({self.kind}): {self.lowering}" + (f" ({self.reason})" if self.reason else "")

    def as_json(self):
        """The file metadata's record of this layer."""
        return {"layer": self.layer, "kind": self.kind, "lowering": self.lowering, "reason": self.reason}


def is_bidirectional(layer):
    return isinstance(layer, (Bidirectional, keras.layers.Bidirectional))


def is_recurrent(layer):
    return isinstance(layer, (Recurrent, keras.layers.RNN)) or is_bidirectional(layer)


def _choose(parts, wanted):
    """``(lowering, reason)`` for one layer or the two halves of a ``Bidirectional``."""
    reasons = []
    if wanted == FUSED_LSTM:
        reasons = [r for r in dict.fromkeys(why_not_fusable(part) for part in parts) if r]
        if not reasons:
            return FUSED_LSTM, ""
    loop_reasons = [r for r in dict.fromkeys(why_not_loopable(part) for part in parts) if r]
    if not loop_reasons:
        return (wanted if wanted in (UNROLL, AUTO) else LOOP), "; ".join(reasons)
    return OWN_LOOP, "; ".join(reasons + loop_reasons)


def _lower_layer(layer, wanted, lowerings):
    """Return the stand-in for ``layer`` (or ``layer`` itself), noting recurrent ones."""
    if isinstance(layer, StackedRecurrent):  # a deep RNN: lower each level
        levels = [_lower_layer(level, wanted, lowerings) for level in layer.layers]
        return StackedRecurrent(levels, name=layer.name) if levels != layer.layers else layer
    if not is_recurrent(layer):
        return layer
    bidirectional = is_bidirectional(layer)
    if bidirectional:
        parts = (layer.forward_layer, layer.backward_layer)
        kind = f"Bidirectional({type(layer.forward_layer).__name__})"
    else:
        parts, kind = (layer,), type(layer).__name__
    lowering, reason = _choose(parts, wanted)
    if lowering == FUSED_LSTM and layer.return_state:
        lowering, reason = LOOP, "return_state=True; the fused kernel's final states are not outputs"
    if lowering in (UNROLL, AUTO):
        unrolled = UnrolledBidirectional if bidirectional else UnrolledRecurrent
        stand_in = unrolled(layer, by_default=lowering == AUTO)
        lowerings.append(Lowering(layer.name, kind, UNROLL, reason, len(parts), stand_in))
        return stand_in
    lowerings.append(Lowering(layer.name, kind, lowering, reason, directions=len(parts)))
    stand_ins = {
        LOOP: LoopBidirectional if bidirectional else LoopRecurrent,
        FUSED_LSTM: FusedBidirectional if bidirectional else FusedLSTM,
    }
    return stand_ins[lowering](layer) if lowering in stand_ins else layer


def settled(lowerings):
    """The records after tracing: an unrolling stand-in that fell back to the
    loop says so, with why (an explicit ``"unroll"`` that could not, as a
    reason; the default's choice of the loop for a long sequence too)."""
    result = []
    for item in lowerings:
        fallback = getattr(item.stand_in, "fallback", None)
        if fallback:
            reason = "; ".join(r for r in (item.reason, f"not unrolled: {fallback}") if r)
            item = dataclasses.replace(item, lowering=LOOP, reason=reason)
        result.append(item)
    return result


def lower_recurrent_layers(model, wanted=AUTO):
    """Clone ``model`` with its recurrent layers replaced by the stand-ins of ``wanted``
    (``AUTO``, or one of :data:`RECURRENT_LOWERINGS`); see the module docstring.

    Every other layer is shared with ``model`` (not copied). Nested
    functional/sequential models are lowered too; a subclassed model cannot
    be cloned and is returned as it is, each recurrent layer in its own loop.

    Returns:
        ``(lowered_model, lowerings)``: the clone (or ``model`` when nothing
        was replaced) and a list of :class:`Lowering`, one per recurrent layer.
    """
    lowerings = []
    try:
        lowered = keras.models.clone_model(
            model, clone_function=lambda layer: _lower_layer(layer, wanted, lowerings), recursive=True
        )
    except ValueError as error:
        if "subclass" not in str(error).lower():
            raise
        lowerings = [Lowering(layer.name, type(layer).__name__, OWN_LOOP, "subclassed model cannot be cloned")
                     for layer in _walk(model) if is_recurrent(layer)]
        return model, lowerings
    if all(item.lowering == OWN_LOOP for item in lowerings):
        return model, lowerings
    return lowered, lowerings


def _walk(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _walk(layer)
