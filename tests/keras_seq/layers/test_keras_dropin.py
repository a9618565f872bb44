"""Code written for Keras's recurrent layers runs unchanged on ours (issue 11):
mixed precision, stacked cells with nested states, Keras's arguments
(``implementation``, ``use_cudnn``, ``weights``), integer inputs, Keras's
attributes, Keras's wording in errors, no private Keras import, and a clear
error on a backend other than TensorFlow."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_seq
from keras_seq import layers
from keras_seq.layers import dropout_rnn_cell

RNG = np.random.default_rng(5)
X = RNG.normal(size=(2, 4, 3)).astype("float32")
POLICIES = {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}

LAYERS = {
    "Recurrent(LSTMCell)": lambda dtype: layers.Recurrent(layers.LSTMCell(3), return_state=True, dtype=dtype),
    "Recurrent([cells])": lambda dtype: layers.Recurrent(
        [layers.LSTMCell(3), keras.layers.SimpleRNNCell(2)], return_state=True, dtype=dtype
    ),
    "Elman": lambda dtype: layers.Elman(3, return_sequences=True, return_state=True, dtype=dtype),
    "Bidirectional": lambda dtype: layers.Bidirectional(layers.LSTM(3, return_state=True), dtype=dtype),
}


# --- 1. mixed precision ---


def test_outputs_states_and_spec_are_in_the_compute_dtype():
    for policy, name in ((p, n) for p in POLICIES for n in LAYERS):
        layer = LAYERS[name](policy)
        eager = keras.tree.flatten(layer(X))
        spec = keras.tree.flatten(layer.compute_output_spec(keras.KerasTensor(X.shape)))
        dtypes = {keras.backend.standardize_dtype(t.dtype) for t in eager + spec}
        assert dtypes == {POLICIES[policy]}, (policy, name)


def test_trains_under_mixed_float16_with_loss_scaling():
    inputs = keras.Input(X.shape[1:])
    h = layers.LSTM(4, return_sequences=True, dtype="mixed_float16")(inputs)
    h = layers.Bidirectional(layers.Elman(3), dtype="mixed_float16")(h)
    model = keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(h))
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.05))
    y = X.sum(axis=(1, 2))[:, None]
    losses = []
    for _ in range(4):  # the custom training loop Keras documents for loss scaling
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(X, training=True) - y) ** 2)
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_weights)
        assert all(g.dtype == tf.float32 for g in gradients)
        optimizer.apply(gradients, model.trainable_weights)
        losses.append(float(loss))
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


# --- 2. stacked cells, nested states ---


def test_stacked_rnn_cells_give_keras_shape_and_values():
    ours = layers.Recurrent(keras.layers.StackedRNNCells([layers.ElmanCell(3), layers.ElmanCell(2)]))
    theirs = keras.layers.RNN(keras.layers.StackedRNNCells([layers.ElmanCell(3), layers.ElmanCell(2)]))
    theirs(X)
    ours(X)
    ours.set_weights(theirs.get_weights())
    assert tuple(ours(X).shape) == (2, 2)
    np.testing.assert_allclose(ours(X), theirs(X), atol=1e-6)


def test_list_of_cells_returns_nested_states_and_keeps_them_when_stateful():
    layer = layers.Recurrent([layers.LSTMCell(3), keras.layers.GRUCell(2)], return_state=True, stateful=True)
    output, lstm_states, gru_state = layer(X)
    assert [tuple(s.shape) for s in lstm_states] == [(2, 3), (2, 3)]
    assert tuple(gru_state.shape) == (2, 2)
    np.testing.assert_allclose(output, gru_state)
    second, *_ = layer(X)  # starts from the states the first call left
    layer.reset_state()
    again, *_ = layer(X)
    np.testing.assert_allclose(again, output, atol=1e-6)
    assert not np.allclose(second, output)
    # Initial states nested as the cells', or flat in the same order.
    states = [np.ones((2, 3), "float32"), np.ones((2, 3), "float32"), np.ones((2, 2), "float32")]
    nested = layers.Recurrent([layers.LSTMCell(3), keras.layers.GRUCell(2)])
    np.testing.assert_allclose(nested(X, initial_state=[states[:2], states[2]]), nested(X, initial_state=states))


def test_stacked_builds_one_loop_over_the_cells():
    deep = layers.stacked([4, 3], layer="lstm", stack="cells", return_sequences=True)
    assert isinstance(deep.cell, keras.layers.StackedRNNCells)
    by_hand = layers.Recurrent([layers.LSTMCell(4), layers.LSTMCell(3)], return_sequences=True)
    by_hand(X)
    deep(X)
    by_hand.set_weights(deep.get_weights())
    np.testing.assert_allclose(deep(X), by_hand(X), atol=1e-6)
    with pytest.raises(ValueError, match="stack='cells'"):
        layers.stacked([4, 3], stack="cells", bidirectional=True)
    with pytest.raises(ValueError, match="stack='rows'"):
        layers.stacked([4, 3], stack="rows")


# --- 3. Keras's arguments ---


def test_implementation_is_accepted_as_keras():
    for implementation, masks in ((1, 4), (2, None)):
        layer = layers.LSTM(3, implementation=implementation, dropout=0.5, seed=1)
        assert layer.cell.implementation == implementation
        assert getattr(layer.cell, "dropout_mask_count", None) == masks
        assert layers.LSTM.from_config(layer.get_config()).cell.implementation == implementation
        assert layer(X, training=True).shape == (2, 3)  # one dropout mask per gate with 1
    assert layers.LSTM(3, recurrent_dropout=0.1).cell.implementation == 1  # as Keras
    with pytest.raises(ValueError, match="implementation=3"):
        layers.LSTM(3, implementation=3)


def test_use_cudnn_is_accepted_as_keras():
    for value in ("auto", False):
        assert layers.LSTM(3, use_cudnn=value)(X).shape == (2, 3)
    layer = layers.LSTM(3, use_cudnn=True)  # accepted; no cuDNN path: fails when called
    with pytest.raises(ValueError, match="use_cudnn=True was specified"):
        layer(X)
    assert layers.LSTM.from_config(layer.get_config()).use_cudnn is True
    with pytest.raises(ValueError, match="use_cudnn='yes'"):
        layers.LSTM(3, use_cudnn="yes")


def test_bidirectional_keeps_use_cudnn_and_takes_weights():
    for wrapped in (keras.layers.GRU(4, use_cudnn=False), layers.LSTM(4, use_cudnn=False)):
        bi = layers.Bidirectional(wrapped)
        assert bi.forward_layer.use_cudnn is False and bi.backward_layer.use_cudnn is False
    reference = keras.layers.Bidirectional(keras.layers.LSTM(2))
    reference(X)
    ours = layers.Bidirectional(layers.LSTM(2), weights=reference.get_weights())
    np.testing.assert_allclose(ours(X), reference(X), atol=1e-6)
    with pytest.raises(ValueError, match="weights="):
        layers.Bidirectional(layers.LSTM(2), weights=reference.get_weights()[:3])


# --- 4. integer sequences ---


def test_integer_sequences_are_cast_to_the_compute_dtype():
    ints = np.arange(24).reshape(2, 4, 3) % 3
    layer = layers.LSTM(3)
    np.testing.assert_allclose(layer(ints), layer(ints.astype("float32")), atol=1e-6)
    assert layers.Elman(3, dtype="mixed_float16")(ints).dtype == tf.float16


# --- 5. Keras's attributes ---


KERAS_AND_OURS = {
    "LSTM": (lambda: keras.layers.LSTM(3), lambda: layers.LSTM(3)),
    "SimpleRNN": (lambda: keras.layers.SimpleRNN(3), lambda: layers.Elman(3)),
    "RNN": (
        lambda: keras.layers.RNN(keras.layers.LSTMCell(3)),
        lambda: layers.Recurrent(layers.LSTMCell(3)),
    ),
    "Bidirectional": (
        lambda: keras.layers.Bidirectional(keras.layers.LSTM(3)),
        lambda: layers.Bidirectional(layers.LSTM(3)),
    ),
    "LSTMCell": (lambda: keras.layers.LSTMCell(3), lambda: layers.LSTMCell(3)),
    "SimpleRNNCell": (lambda: keras.layers.SimpleRNNCell(3), lambda: layers.ElmanCell(3)),
}


def test_every_public_attribute_of_keras_is_on_ours():
    for name, (make_theirs, make_ours) in KERAS_AND_OURS.items():
        theirs, ours = make_theirs(), make_ours()
        public = {attribute for attribute in dir(theirs) if not attribute.startswith("_")}
        assert public - set(dir(ours)) == set(), name
        for attribute in ("kernel_initializer", "recurrent_regularizer", "bias_constraint", "units"):
            if hasattr(theirs, attribute):
                assert type(getattr(ours, attribute)) is type(getattr(theirs, attribute)), name


# --- 6. Keras's wording in errors ---


def test_errors_use_the_words_keras_users_search_for():
    stateful = layers.Elman(3, stateful=True)
    stateful(X)
    with pytest.raises(ValueError, match="batch size"):
        stateful(np.zeros((3, 4, 3), "float32"))
    with pytest.raises(ValueError, match="Cannot unroll"):
        layers.Elman(3, unroll=True)(keras.Input((None, 3)))
    with pytest.raises(ValueError, match="batch size must be static"):
        layers.LSTM(3, stateful=True)(keras.Input((4, 3)))


# --- 7. no private Keras import; TensorFlow backend only ---


def test_no_private_keras_import_and_keras_dropout_mixin_found():
    folder = pathlib.Path(keras_seq.__file__).parent / "layers"
    private = re.compile(r"^\s*(from|import)\s+keras\.src", re.MULTILINE)
    assert not [p.name for p in folder.glob("*.py") if private.search(p.read_text())]
    assert dropout_rnn_cell.DropoutRNNCell is not dropout_rnn_cell.FallbackDropoutRNNCell
    assert isinstance(layers.LSTMCell(2), dropout_rnn_cell.DropoutRNNCell)


def test_fallback_dropout_mixin_keeps_one_mask_per_sequence():
    class NoMixin(keras.layers.Layer):  # a Keras release without the mixin in its bases
        pass

    mixin = dropout_rnn_cell.keras_dropout_mixin(NoMixin)
    assert mixin is dropout_rnn_cell.FallbackDropoutRNNCell

    class Cell(mixin):
        dropout, recurrent_dropout = 0.5, 0.0
        seed_generator = keras.random.SeedGenerator(3)

    cell, step = Cell(), np.ones((4, 6), "float32")
    first = cell.get_dropout_mask(step)
    assert cell.get_dropout_mask(step) is first  # cached for the whole sequence
    assert set(np.unique(first)) <= {0.0, 2.0}  # kept units scaled by 1 / (1 - rate)
    assert cell.get_recurrent_dropout_mask(step) is None
    cell.reset_dropout_mask()
    cell.dropout_mask_count = 4
    assert len(cell.get_dropout_mask(step)) == 4


def test_another_backend_is_refused_at_construction(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    for make in (
        lambda: layers.LSTM(2),
        lambda: layers.ElmanCell(2),
        lambda: layers.Recurrent(keras.layers.SimpleRNNCell(2)),
        lambda: layers.Bidirectional(keras.layers.LSTM(2)),
    ):
        with pytest.raises(RuntimeError, match="TensorFlow backend.*'jax'"):
            make()


@pytest.mark.skipif(
    not any(importlib.util.find_spec(m) for m in ("jax", "torch")),
    reason="needs a second Keras backend (jax or torch) installed",
)
def test_another_backend_is_refused_in_a_fresh_process():
    backend = "jax" if importlib.util.find_spec("jax") else "torch"
    code = "import keras_seq.layers as L\ntry:\n L.LSTM(2)\nexcept RuntimeError as e:\n print(e)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "needs the TensorFlow backend" in result.stdout, result.stderr[-2000:]


def test_one_rule_for_use_bias_in_every_layer():
    for make in (
        lambda: layers.ElmanCell(2, use_bias=1),
        lambda: layers.LSTM(2, use_bias="yes"),
        lambda: layers.Bottleneck1x1(2, use_bias=1),
        lambda: layers.ConnectionTableConv2D(2, 3, np.ones((1, 2), bool), use_bias=0),
    ):
        with pytest.raises(ValueError, match="use_bias=.* is not allowed; expected True or False"):
            make()
