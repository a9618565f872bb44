"""The layer test harness: ``check_layer(make, x)``, the checks every keras-seq layer must pass.

Like Keras's own ``run_layer_test``, one call checks what a user relies on
whenever they put a layer in a model:

1. config: ``type(layer).from_config(layer.get_config())`` has the same
   config and, with the same weights, the same outputs;
2. a ``.keras`` file round trip with ``safe_mode=True`` (the layer is
   registered and serializable without code): same class, same outputs;
3. mixed precision: built under ``mixed_float16`` it computes in float16
   and keeps float32 weights, within float16 rounding of the float32 layer;
4. masking, for sequence layers (``supports_masking``): the padded steps of a
   masked batch change nothing in the real steps' outputs.
"""

import keras
import numpy as np
import pytest


def _outputs(layer, x, **kwargs):
    """The layer's outputs on ``x`` as a list of float32 arrays (a layer may return a state list)."""
    y = layer(x, **kwargs)
    return [np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(t, "float32"))) for t in keras.tree.flatten(y)]


def _assert_same(got, expected, atol):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=atol, rtol=atol)


def _check_config(make, x):
    layer = make()
    expected = _outputs(layer, x)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert layer.get_config() == config, "from_config changed the config it was given"
    clone(x)  # builds it
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    _assert_same(_outputs(clone, x), expected, atol=1e-6)
    return layer, expected


def _check_keras_file(make, x, folder):
    inputs = keras.Input(x.shape[1:])
    layer = make()
    model = keras.Model(inputs, layer(inputs))
    path = folder / f"{type(layer).__name__}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.layers[1]) is type(layer)
    _assert_same(_outputs(loaded, x), _outputs(model, x), atol=1e-6)


def _check_mixed_precision(make, x):
    full = make()
    expected = _outputs(full, x)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half = make()
    finally:
        keras.config.set_dtype_policy(previous)
    y = half(x)
    assert all(t.dtype == "float16" for t in keras.tree.flatten(y)), [t.dtype for t in keras.tree.flatten(y)]
    assert all(v.dtype == "float32" for v in half.weights)
    half.set_weights(full.get_weights())
    scale = max(1.0, max(float(np.abs(e).max()) for e in expected))
    _assert_same(_outputs(half, x), expected, atol=2e-2 * scale)


def _check_masking(make, x):
    """Pad each sequence with garbage after its length; with the mask the real steps read the same."""
    layer = make()
    assert x.ndim == 3, "masking is checked on (batch, steps, features) sequences"
    steps = x.shape[1]
    lengths = np.maximum(1, steps - np.arange(len(x)) % steps)
    mask = np.arange(steps)[None, :] < lengths[:, None]
    padded = np.where(mask[..., None], x, np.float32(7.0))
    for n, length in enumerate(lengths):
        alone = _outputs(layer, x[n:n + 1, :length])
        together = _outputs(layer, padded, mask=mask)
        for a, t in zip(alone, together):
            row = t[n:n + 1]
            if a.ndim >= 2 and row.shape[1] == steps and a.shape[1] == length:  # a sequence: its real steps
                row = row[:, :length] if not getattr(layer, "go_backwards", False) else row[:, steps - length:]
            np.testing.assert_allclose(row, a, atol=1e-5)


@pytest.fixture
def check_layer(tmp_path):
    """``check_layer(make, x, masking=None)``: run the harness on layers from ``make()`` and inputs ``x``.

    ``masking`` defaults to the layer's ``supports_masking`` (recurrent layers).
    """

    def check(make, x, masking=None):
        x = np.asarray(x, np.float32)
        layer, _ = _check_config(make, x)
        _check_keras_file(make, x, tmp_path)
        _check_mixed_precision(make, x)
        if layer.supports_masking if masking is None else masking:
            _check_masking(make, x)

    return check
