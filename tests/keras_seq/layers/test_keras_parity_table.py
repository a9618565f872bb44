"""Keras's recurrent layers and ours side by side, one row per scenario.

Each row runs one small scenario (shapes, dtypes, masks, states, config round
trip, ``.keras`` round trip, a training step) through every pair of layers in
``PAIRS``: a Keras layer and ours built from the same arguments, ours holding
the Keras layer's weights. A future difference between the two shows up as
one failing row whose message names the pairs that differ.
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq import layers

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 5, 4)).astype("float32")
MASK = np.ones((3, 5), bool)
MASK[1, 3:] = False
MASK[2, 1:] = False

# name -> (Keras's layer, ours), from the same keyword arguments.
PAIRS = {
    "LSTM": (
        lambda **kw: keras.layers.LSTM(4, **kw),
        lambda **kw: layers.LSTM(4, **kw),
    ),
    "SimpleRNN/Elman": (
        lambda **kw: keras.layers.SimpleRNN(4, **kw),
        lambda **kw: layers.Elman(4, **kw),
    ),
    "RNN(stacked cells)": (
        lambda **kw: keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.SimpleRNNCell(3)], **kw),
        lambda **kw: layers.Recurrent([layers.LSTMCell(4), keras.layers.SimpleRNNCell(3)], **kw),
    ),
    "Bidirectional(LSTM)": (
        lambda **kw: keras.layers.Bidirectional(keras.layers.LSTM(4, **kw)),
        lambda **kw: layers.Bidirectional(layers.LSTM(4, **kw)),
    ),
}


def twins(name, **kwargs):
    """Keras's layer and ours, built, ours holding Keras's weights."""
    make_keras, make_ours = PAIRS[name]
    theirs, ours = make_keras(**kwargs), make_ours(**kwargs)
    theirs(X)
    ours(X)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def flat(outputs):
    return [np.asarray(o, "float32") for o in keras.tree.flatten(outputs)]


def assert_same(a, b, atol=1e-5):
    a, b = flat(a), flat(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=atol)


def shapes(name):
    theirs, ours = twins(name, return_sequences=True, return_state=True)
    assert [o.shape for o in flat(ours(X))] == [o.shape for o in flat(theirs(X))]
    assert keras.tree.flatten(ours.compute_output_shape(X.shape)) == keras.tree.flatten(
        theirs.compute_output_shape(X.shape)
    )


def dtypes(name):
    make_keras, make_ours = PAIRS[name]
    kwargs = dict(return_state=True, dtype="mixed_float16")
    if name.startswith("Bidirectional"):
        theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, return_state=True), dtype="mixed_float16")
        ours = layers.Bidirectional(layers.LSTM(4, return_state=True), dtype="mixed_float16")
    else:
        theirs, ours = make_keras(**kwargs), make_ours(**kwargs)
    eager = keras.tree.flatten(ours(X))
    spec = keras.tree.flatten(ours.compute_output_spec(keras.KerasTensor(X.shape)))
    assert {keras.backend.standardize_dtype(o.dtype) for o in eager + spec} == {"float16"}
    assert keras.backend.standardize_dtype(keras.tree.flatten(theirs(X))[0].dtype) == "float16"


def masks(name):
    theirs, ours = twins(name, return_sequences=True)
    assert_same(ours(X, mask=MASK), theirs(X, mask=MASK))


def states(name):
    theirs, ours = twins(name, return_state=True)
    initial = [RNG.normal(size=s.shape).astype("float32") for s in flat(theirs(X))[1:]]
    if name.startswith("RNN"):  # a stack's states are nested by cell
        initial = [initial[:2], initial[2:]]
    assert_same(ours(X, initial_state=initial), theirs(X, initial_state=initial))


def config_round_trip(name):
    # (Keras's Bidirectional refuses a wrapped layer with go_backwards=True.)
    backwards = {} if name.startswith("Bidirectional") else {"go_backwards": True}
    theirs, ours = twins(name, return_sequences=True, **backwards)
    assert set(theirs.get_config()) <= set(ours.get_config())
    again = type(ours).from_config(ours.get_config())
    again(X)
    again.set_weights(ours.get_weights())
    assert again.get_config() == ours.get_config()
    assert_same(again(X, mask=MASK), theirs(X, mask=MASK))


def keras_file_round_trip(name):
    theirs, ours = twins(name)
    inputs = keras.Input(X.shape[1:])
    model = keras.Model(inputs, ours(inputs))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    assert_same(loaded(X), theirs(X))


def training_step(name):
    """One SGD step on the same loss: the same updated weights (our training
    calls run the hand-written BPTT, Keras's automatic differentiation)."""
    theirs, ours = twins(name, return_sequences=True)
    for layer in (theirs, ours):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(layer(X, mask=MASK, training=True)))
        gradients = tape.gradient(loss, layer.trainable_weights)
        keras.optimizers.SGD(0.1).apply(gradients, layer.trainable_weights)
    assert_same(ours.get_weights(), theirs.get_weights(), atol=2e-5)


SCENARIOS = [shapes, dtypes, masks, states, config_round_trip, keras_file_round_trip, training_step]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_same_as_keras(scenario):
    failures = []
    for name in PAIRS:
        try:
            scenario(name)
        except Exception as error:  # noqa: BLE001 - reported per pair below
            failures.append(f"{name}: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures)
