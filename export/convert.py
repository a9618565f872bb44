"""Convert a Keras model to a ``.tflite`` flatbuffer: float32, float16, dynamic-range or int8."""

import dataclasses
import json

import keras
import numpy as np

# tensorflow directly: the TFLite converter lives only there.
import tensorflow as tf

from keras_seq import arguments, atomic_files
from keras_seq.export import calibration, integrity, quantized_ranges
from keras_seq.export.errors import ConversionError
from keras_seq.export.export_options import (
    DYNAMIC_BATCH,
    FUSED_LSTM,
    LOOP,
    NO_QUANTIZATION,
    QUANTIZATIONS,
    RECURRENT_LOWERINGS,
)
from keras_seq.export.gpu_delegation import MAX_RANK
from keras_seq.export.recurrent_lowering import AUTO, OWN_LOOP, lower_recurrent_layers, settled
from keras_seq.export.tflite_file import (
    INPUT_METADATA,
    LOWERING_METADATA,
    SEQUENCE_METADATA,
    padded_to_length,
    read_tflite,
    with_metadata,
)
from keras_seq.models.word_reader import fixed_width_copy, is_word_reader, reads_word_strips
from keras_seq.quiet_output import quiet_native_output

# The most batches of representative_data the int8 calibrator runs (the rest are not read).
MAX_CALIBRATION_BATCHES = 200


def _check_arguments(model, quantization, representative_data, int8_io, batch_size, dense_per_channel,
                     max_length, recurrent):
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    arguments.choice(quantization, "quantization", (None,) + QUANTIZATIONS)
    arguments.boolean(int8_io, "int8_io")
    arguments.boolean(dense_per_channel, "dense_per_channel")
    arguments.choice(recurrent, "recurrent", (None,) + RECURRENT_LOWERINGS)
    for flag, value in (("int8_io", int8_io), ("dense_per_channel", dense_per_channel)):
        if value and quantization != "int8":
            raise ValueError(f"{flag}=True needs quantization='int8', got quantization={quantization!r}")
    if quantization == "int8" and representative_data is None:
        raise ValueError("quantization='int8' needs representative_data (a few hundred typical inputs)")
    if batch_size != DYNAMIC_BATCH:
        arguments.positive_int(batch_size, "batch_size", allow_none=True)
    arguments.positive_int(max_length, "max_length", allow_none=True)
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            f"model {model.name!r} has no defined inputs; build it from keras.Input(...) "
            "(a functional or Sequential model with an Input)"
        )
    if len(inputs) != 1:
        raise ValueError(f"to_tflite exports single-input models; {model.name!r} has {len(inputs)} inputs")
    if max_length is not None and not is_word_reader(model):
        _check_max_length(model, max_length)


def _check_max_length(model, max_length):
    """A fixed length needs a time axis the model leaves open and a mask for the padding."""
    shape = tuple(model.inputs[0].shape)
    if len(shape) < 3:
        raise ValueError(
            f"max_length={max_length} applies to sequence inputs (batch, time, ...); "
            f"{model.name!r} takes {shape}"
        )
    if shape[1] is not None and shape[1] != max_length:
        raise ValueError(
            f"max_length={max_length} conflicts with {model.name!r}'s fixed sequence length {shape[1]}"
        )
    if shape[1] is None and not any(isinstance(layer, keras.layers.Masking) for layer in _walk(model)):
        raise ValueError(
            f"max_length={max_length} pads shorter sequences with zeros, which {model.name!r} would "
            "read as data: it has no keras.layers.Masking to mask them"
        )


def _walk(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _walk(layer)


def _calibration_batches(representative_data, spec, max_length=None, drop_channel=False):
    """A generator of calibration batches shaped like ``spec`` (less its last axis when ``drop_channel``).

    ``representative_data`` is an array (N, ...) or a list of single samples
    without the batch axis (e.g. words of different lengths). With
    ``max_length``, shorter sequences are padded with zero steps, as
    ``EdgeModel.predict`` pads them for the file; a word reader's narrower
    strips are padded with zero columns to its fixed width, as
    :func:`keras_seq.datasets.word_strips.model_input` pads them (column mask 0).
    """
    feature_shape = tuple(spec.shape[1:])
    strip_width = feature_shape[1] if reads_word_strips(spec.shape) else None  # None: any width
    representative_data, input_range = calibration.unwrap(representative_data)
    if isinstance(representative_data, (list, tuple)):
        samples = [np.asarray(s, dtype=np.float32)[None] for s in representative_data]
    else:
        samples = [np.asarray(representative_data, dtype=np.float32)]
    for k, data in enumerate(samples):
        if max_length is not None and data.ndim >= 2 and 0 < data.shape[1] <= max_length:
            data = samples[k] = padded_to_length(data, max_length)
        if strip_width and data.ndim == 4 and 0 < data.shape[2] < strip_width:
            data = samples[k] = np.pad(data, [(0, 0), (0, 0), (0, strip_width - data.shape[2]), (0, 0)])
        if data.ndim != len(feature_shape) + 1 or any(
            d is not None and d != actual for d, actual in zip(feature_shape, data.shape[1:])
        ):
            longer = max_length is not None and data.ndim >= 2 and data.shape[1] > max_length
            raise ValueError(
                f"representative_data has samples of shape {data.shape[1:]}; expected {feature_shape}"
                + (f" (at most max_length={max_length} steps)" if longer else "")
            )
        if data.size == 0 or not np.all(np.isfinite(data)):
            raise ValueError("representative_data must be non-empty and finite")
    batch = spec.shape[0] or 1
    calibration.check_samples(samples, input_range, batch)  # usable, and in the model's input range

    def batches():
        given = 0
        for data in samples:
            for start in range(0, len(data) - batch + 1, batch):
                if given == MAX_CALIBRATION_BATCHES:
                    return
                given += 1
                chunk = data[start:start + batch]
                yield [chunk[..., 0] if drop_channel else chunk]

    return batches


WORD_READER_FUSED = (
    "word reader: {why}; that op has no column mask, so the file gets a dynamic width and reads each word "
    "unpadded at its own width (the classic LiteRT interpreter runs it; CompiledModel and LiteRT.js do not)"
)


def _word_reader_policy(model, quantization, recurrent, max_length, batch_size):
    """``(model to convert, recurrent, note)`` for a word reader (else ``model`` and ``recurrent`` as given).

    A word reader (:func:`keras_seq.models.word_reader.is_word_reader`) reads
    strips of its model's width, padded columns masked. With the fused LSTM
    op, the recurrence int8 needs (TensorFlow's int8 calibrator crashes on the
    loop, tensorflow/tensorflow#75140), that mask is lost and a fixed width
    would make the backward LSTM read the padding first: the file gets a
    dynamic width instead, one word at a time at its own width. What cannot
    work with that is refused.
    """
    if not is_word_reader(model):
        return model, recurrent, ""
    width = model.inputs[0].shape[2]
    if max_length is not None:
        raise ValueError(
            f"max_length={max_length} fixes the length of a sequence model with an open time axis; "
            f"a word reader reads a strip of {width or 'any'} columns and keeps its model's width "
            "(keras_seq.models.word_reader.fixed_width_copy gives it another)"
        )
    int8 = quantization == "int8"
    if not (recurrent == FUSED_LSTM or (int8 and recurrent is None)):
        if int8 and recurrent == LOOP:
            raise ValueError(
                "recurrent='loop' cannot be used with quantization='int8' of a word reader: TensorFlow's int8 "
                "calibrator crashes on the loop (tensorflow/tensorflow#75140); int8 needs TFLite's fused LSTM "
                "op, which has no column mask, so the file reads one word at a time at its own width. Leave "
                "recurrent out, or use quantization='dynamic' or 'float16' for a file at the model's width"
            )
        return model, recurrent, ""
    if batch_size not in (None, 1):
        raise ValueError(
            f"batch_size={batch_size!r} cannot be used for a word reader with the fused LSTM op: it has no "
            "column mask, so the file reads one word at a time (batch 1) at its own width"
        )
    why = ("int8 needs TFLite's fused LSTM op (the int8 calibrator cannot run the loop)" if int8
           else "recurrent='fused-lstm'")
    return fixed_width_copy(model, None), FUSED_LSTM, WORD_READER_FUSED.format(why=why)


def _confirm_fusion(data, lowerings):
    """Mark fused lowerings as loops if the converter did not emit all the fused ops."""
    expected = sum(item.directions for item in lowerings if item.lowering == FUSED_LSTM)
    found = sum(ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") for ops in read_tflite(data).subgraph_ops)
    if found >= expected:
        return lowerings
    return [
        dataclasses.replace(item, lowering=OWN_LOOP, reason="the converter declined to fuse it")
        if item.lowering == FUSED_LSTM else item
        for item in lowerings
    ]


def _refuse_int8_loops(float_data, lowerings, name):
    """Raise :class:`ConversionError` if the float32 conversion has a loop.

    TensorFlow's int8 calibrator crashes the whole process (a segmentation
    fault, not an exception) on any ``WHILE`` op: tensorflow/tensorflow#75140,
    reproduced with TensorFlow 2.21 for Keras 3's LSTM loop, GRU, our Elman
    and the LSTM with h_t = O_t * C_t."""
    if not any("WHILE" in ops for ops in read_tflite(float_data).subgraph_ops):
        return
    loops = [item.layer for item in lowerings if item.lowering != FUSED_LSTM]
    where = f" (layers {', '.join(map(repr, loops))})" if loops else ""
    raise ConversionError(
        f"cannot convert {name!r} with quantization='int8': the model converts to a WHILE "
        f"loop{where}, and TensorFlow's int8 calibrator crashes the process on loops "
        "(tensorflow/tensorflow#75140). Use recurrent='unroll' at a fixed length (no loop: int8 "
        "that runs in every LiteRT runtime), quantization='dynamic' or 'float16', or standard "
        "LSTMs with recurrent='fused-lstm', which quantize to int8."
    )


def to_tflite(
    model,
    path=None,
    quantization=None,
    representative_data=None,
    int8_io=False,
    batch_size=None,
    max_length=None,
    recurrent=None,
    dense_per_channel=False,
):
    """Convert ``model`` to TFLite; write it atomically to ``path`` when given.

    Recurrent layers (see :mod:`keras_seq.export.recurrent_lowering`):
        LSTM and Elman/SimpleRNN layers, alone or in ``Bidirectional``, are
        by default unrolled when the traced sequence length is fixed and
        short (at most 64 steps, fewer for wide cells: 16 steps of an
        LSTM(128), 64 of an LSTM(32), where XNNPACK runs it faster than the
        loop; see :mod:`keras_seq.export.recurrent_unrolled`): every step written out in builtin
        ops without control flow, the weights stored once, which every LiteRT
        runtime loads and LiteRT's GPU accelerator delegates whole
        (``recurrent="unroll"`` unrolls any fixed length). Longer or
        run-time lengths get a lean ``WHILE`` loop of builtin ops
        (``recurrent="loop"`` asks for it at any length) that loads in every
        runtime and runs on the CPU. ``recurrent="fused-lstm"`` uses TFLite's
        fused LSTM kernel for standard LSTMs: it keeps state in variable
        tensors, which only the classic ``Interpreter`` loads; it is the
        default for ``quantization="int8"`` (the smallest int8 file, and the
        only int8 of a run-time length). TensorFlow's int8 calibrator also
        quantizes an unrolled recurrence (it cannot quantize a loop):
        ``quantization="int8", recurrent="unroll"`` is the int8 file every
        runtime loads, LiteRT's GPU accelerator included. Other recurrent layers (GRU,
        custom cells, stateful layers) keep their own loop. What became of
        each layer, and why, is stored in the file's metadata and shown by
        :func:`keras_seq.export.op_report`.

    Quantization:
        ``None``: float32. ``"float16"``: weights stored as float16.
        ``"dynamic"``: int8 weights, float activations. ``"int8"``: weights
        and activations int8 (q = round(x / scale) + zero_point), calibrated
        on ``representative_data``; inputs and outputs stay float32 unless
        ``int8_io``. ``"int8"`` is refused (:class:`ConversionError`) for a
        model whose recurrence stays a loop: TensorFlow's calibrator crashes
        on loops (tensorflow/tensorflow#75140).

    Args:
        model: a functional or Sequential ``keras.Model`` with one input.
        path: where to write the ``.tflite`` file, or ``None``.
        quantization: ``None`` or ``"none"`` (float32), ``"dynamic"``,
            ``"float16"`` or ``"int8"``
            (:data:`keras_seq.export.export_options.QUANTIZATIONS`, the
            words of ``keras-seq export --quantize`` too).
        representative_data: typical inputs for ``"int8"``: (N, ...), or a
            list of samples without the batch axis (the first
            ``MAX_CALIBRATION_BATCHES`` = 200 batches are used).
        int8_io: int8 input and output tensors (``"int8"`` only).
        batch_size: fixed batch dimension, or ``"dynamic"``; default 1 when
            the model has recurrent layers (unrolled steps, loops and fused
            ops want static state shapes), else dynamic. Devices, LiteRT's
            ``CompiledModel`` and LiteRT.js want every dimension fixed.
        max_length: fixed sequence length for a model whose time axis is
            open and that masks zero padding (``keras.layers.Masking``):
            :class:`keras_seq.export.EdgeModel` pads shorter sequences with
            zeros and refuses longer ones. Default: the model's own.
        recurrent: ``"unroll"``, ``"loop"`` or ``"fused-lstm"``; ``None``
            unrolls short fixed lengths and loops otherwise, or picks
            ``"fused-lstm"`` for ``quantization="int8"``.
        dense_per_channel: ``"int8"`` only. Convolutions always get one
            weight scale per output channel; fully connected layers get one
            scale per layer unless this is True: TFLite's classic scheme,
            which every int8 kernel and delegate runs, and a smaller file
            (per-channel scales and zero points cost 24 bytes per output unit).

    Inputs: a rank-5 input whose last axis is 1 (the handwriting model's
        (batch, T, 16, 8, 1) letters) reaches the file without that axis,
        (batch, T, 16, 8), and the file's first op restores it: LiteRT's GPU
        accelerator takes no tensor of rank 5. :class:`keras_seq.export.EdgeModel`
        still takes the model's shape (the file's metadata says so);
        other runtimes give the file its own shape (the same values).

    Word readers (:func:`keras_seq.models.word_reader.is_word_reader`):
        with the fused LSTM (``quantization="int8"``'s default, or
        ``recurrent="fused-lstm"``), which has no mask, the file gets a
        dynamic width and reads each word unpadded at its own width (classic
        interpreter only); ``max_length``, ``batch_size`` above 1 and
        ``recurrent="loop"`` with int8 are refused. The reason is in each
        recurrent layer's lowering record.

    The converter's native log lines stay off the terminal (replayed on
    stderr when it fails).

    Returns:
        The flatbuffer bytes.

    Example:
        >>> data = to_tflite(model, "words.tflite", max_length=16)   # runs in LiteRT.js too
    """
    _check_arguments(model, quantization, representative_data, int8_io, batch_size, dense_per_channel,
                     max_length, recurrent)
    if path is not None:
        atomic_files.check_target(path, "path")  # before the conversion, not after it
    quantization = None if quantization == NO_QUANTIZATION else quantization
    name = model.name
    model, recurrent, note = _word_reader_policy(model, quantization, recurrent, max_length, batch_size)
    if recurrent is None:
        recurrent = FUSED_LSTM if quantization == "int8" else AUTO
    lowered, lowerings = lower_recurrent_layers(model, recurrent)
    if note:
        lowerings = [dataclasses.replace(item, reason="; ".join(r for r in (note, item.reason) if r))
                     for item in lowerings]
    if batch_size is None:
        batch_size = 1 if lowerings else None  # recurrent layers want static state shapes
    spec = _input_spec(model, None if batch_size == DYNAMIC_BATCH else batch_size, max_length)
    drop_channel = _drops_channel(spec)
    converter = _converter_factory(lowered, spec, drop_channel)
    # The converter's native log lines (SavedModel reading, MLIR passes) stay
    # off the terminal; replayed on stderr if it fails.
    with quiet_native_output():
        try:
            if quantization == "int8":
                _refuse_int8_loops(converter().convert(), settled(lowerings), name)
            tflite_converter = converter()
            _set_quantization(tflite_converter, quantization, representative_data, spec, max_length, int8_io,
                              dense_per_channel, drop_channel)
            data = tflite_converter.convert()
            lowerings = settled(lowerings)  # the unrolling stand-ins decided when traced
        except ValueError:  # ours (ConversionError is one), with their messages
            raise
        except Exception as error:  # the converter raises its own ConverterError and others
            raise ConversionError(
                f"cannot convert {name!r} with quantization={quantization!r}: "
                f"{str(error).strip().splitlines()[-1][:500]}"
            ) from error
    if quantization == "int8":
        quantized_ranges.check(data, name, max_length)  # our own refusal: no converter log to replay
    data = _annotate(data, lowerings, max_length, quantization, representative_data, drop_channel)
    if path is not None:
        atomic_files.write_bytes(data, path)
    return data


def _input_spec(model, batch_size, max_length):
    """The traced input: the model's shape with the batch (and the time axis) fixed where asked."""
    input_spec = model.inputs[0]
    shape = (batch_size,) + tuple(input_spec.shape[1:])
    if max_length is not None:
        shape = shape[:1] + (max_length,) + shape[2:]
    return tf.TensorSpec(shape, input_spec.dtype or "float32")


def _drops_channel(spec):
    """Whether the file takes ``spec`` without its last axis: a rank-5 input whose last axis is 1
    (the handwriting model's (batch, T, 16, 8, 1) letters). LiteRT's GPU accelerator takes no tensor
    of rank 5; the file's first op restores the axis, and :class:`~keras_seq.export.EdgeModel` still
    takes the model's shape."""
    return len(spec.shape) == MAX_RANK + 1 and spec.shape[-1] == 1


def _converter_factory(lowered, spec, drop_channel=False):
    """A function making a fresh ``TFLiteConverter`` for ``lowered`` at ``spec``
    (without its last axis of 1 when ``drop_channel``, given back inside the file).

    Every variable is read as a constant while tracing: the converter then
    needs no resource variables, and the fused-LSTM functions see plain
    tensors, the only form it fuses.
    """
    values = [(v, keras.ops.convert_to_numpy(v.value)) for v in lowered.variables]
    if drop_channel:
        spec = tf.TensorSpec(spec.shape[:-1], spec.dtype)

    @tf.function
    def serve(x):
        with keras.StatelessScope(state_mapping=[(v, tf.constant(a)) for v, a in values]):
            return lowered(tf.expand_dims(x, -1) if drop_channel else x, training=False)

    def converter():
        concrete = serve.get_concrete_function(spec)
        # The converter keeps the fused-LSTM function attributes only on its
        # SavedModel route, which needs a trackable that saves cleanly: a
        # bare module holding just ``serve`` (it captures no variables).
        holder = tf.Module()
        holder.serve = serve
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], holder)

    return converter


def _set_quantization(tflite_converter, quantization, representative_data, spec, max_length, int8_io,
                      dense_per_channel, drop_channel):
    if quantization is not None:
        tflite_converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        tflite_converter.target_spec.supported_types = [tf.float16]
    if quantization == "int8":
        tflite_converter.representative_dataset = _calibration_batches(representative_data, spec, max_length,
                                                                       drop_channel)
        tflite_converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # The converter's own switch (an experimental attribute in TF 2.21).
        tflite_converter._experimental_disable_per_channel_quantization_for_dense_layers = not dense_per_channel
        if int8_io:
            tflite_converter.inference_input_type = tf.int8
            tflite_converter.inference_output_type = tf.int8


def _annotate(data, lowerings, max_length, quantization, representative_data, drop_channel):
    """The file's metadata: each recurrent layer's lowering, the fixed length, a dropped input
    channel, the calibrated range, then the digest of it all."""
    if lowerings:
        lowerings = _confirm_fusion(data, lowerings)
        notes = [item.as_json() for item in lowerings]
        data = with_metadata(data, LOWERING_METADATA, json.dumps(notes).encode())
    if max_length is not None:
        data = with_metadata(data, SEQUENCE_METADATA, json.dumps({"max_length": max_length}).encode())
    if drop_channel:
        data = with_metadata(data, INPUT_METADATA, json.dumps({"dropped_channel": True}).encode())
    if quantization == "int8":
        data = calibration.record(data, representative_data)  # the range predict warns outside of
    return integrity.stamp(data)  # last: any later change to the bytes would not match it
