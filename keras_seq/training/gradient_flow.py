"""Gradient flow through time: ||dL/dh_t|| at every step of a recurrent layer.

Backpropagation through time multiplies one Jacobian per step,

    dL/dh_t = dL/dh_T * prod_{s=t+1..T} dh_s/dh_{s-1}   (+ the output terms),

so over many steps the gradient reaching early states shrinks (vanishes) or
grows (explodes) geometrically. The LSTM's additive cell state,
``C_t = F_t * C_{t-1} + I_t * theta(...)``, lets it flow further.
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_seq import layers as seq_layers

# The recurrent layers the training tools know: ours and Keras's.
RECURRENT_TYPES = (keras.layers.RNN, seq_layers.Recurrent)
BIDIRECTIONAL_TYPES = (keras.layers.Bidirectional, seq_layers.Bidirectional)


def gradient_flow(model, x, y, layer=None, loss=None):
    """Return ``||dL/dh_t||_2`` for t = 0..T-1 as a float64 numpy array (T,).

    ``h_t`` is the hidden state a recurrent layer computes at step t: the
    state it passes on to step t+1, which is also its output at t (``h_t``
    of an Elman cell, ``h_t = O_t * theta(C_t)`` of an LSTM, not the cell
    state ``C_t``). The derivative is the *total* one: through the layer's
    outputs and through all later steps. ``L`` is the model's loss on the
    whole batch (as in training: the mean over examples), and the norm is
    taken over the batch and the units together. Index t is the input's time
    step, also for a layer with ``go_backwards=True``. Dropout is off
    (``training=False``).

    Args:
        model: a built Keras model holding ``keras_seq.layers`` or
            ``keras.layers`` recurrent layers (Recurrent, Elman, LSTM,
            SimpleRNN, GRU, RNN ...), possibly nested.
        x: the model's input batch.
        y: the targets for the loss.
        layer: the recurrent layer to measure (its name, or the layer);
            defaults to the first one in the model. For a ``Bidirectional``
            layer, its forward direction is measured. A stateful layer starts
            from, and updates, its stored states as in any call.
        loss: a Keras loss (name, function or ``keras.losses.Loss``); defaults
            to the compiled model's loss.

    Example:
        >>> profile = gradient_flow(model, x[:32], y[:32])   # shape (T,)
        >>> profile[0] / profile[-1]   # tiny for an Elman RNN over 100 steps
    """
    rnn = find_recurrent_layer(model, layer)
    loss_fn = _loss_function(model, loss)
    check_finite("x", x)
    check_finite("y", y)
    x_batch = _batch_size(x)
    y_batch = _batch_size(y)
    if x_batch != y_batch:
        raise ValueError(f"x and y must hold the same number of examples, got {x_batch} and {y_batch}")

    hidden_states = []
    with tf.GradientTape() as tape, recording_hidden_states(rnn, hidden_states):
        y_pred = model(x, training=False)
        value = loss_fn(y, y_pred)
    if not hidden_states:
        raise RuntimeError(f"layer {rnn.name!r} ran no recurrent step on x; cannot measure its gradient flow")
    grads = tape.gradient(value, hidden_states)
    # A state the loss does not depend on at all has no gradient (None), not
    # a zero one: Keras's TF loop calls the cell once before the loop only to
    # learn its output shape; that call is no time step.
    norms = np.array(
        [float(np.linalg.norm(ops.convert_to_numpy(g).astype(np.float64))) for g in grads if g is not None]
    )
    if norms.size == 0:
        raise ValueError(f"the loss does not depend on the hidden states of layer {rnn.name!r}")
    return norms[::-1].copy() if rnn.go_backwards else norms


def find_recurrent_layer(model, name=None):
    """The recurrent layer ``name`` of ``model`` (the first one when None).

    A ``Bidirectional`` layer stands for its forward layer.
    """
    if not isinstance(model, keras.layers.Layer):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    # Layer._flatten_layers: every layer inside, nested models and wrappers
    # included, in the order they were added.
    candidates = [
        sub
        for sub in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(sub, RECURRENT_TYPES + BIDIRECTIONAL_TYPES)
    ]
    if not candidates:
        raise ValueError(f"model {model.name!r} has no recurrent layer to measure the gradient flow of")
    if isinstance(name, keras.layers.Layer):
        name = name.name
    if name is None:
        chosen = candidates[0]
    else:
        matches = [sub for sub in model._flatten_layers(include_self=False, recursive=True) if sub.name == name]
        if not matches:
            raise ValueError(
                f"layer={name!r} is not in model {model.name!r}; its recurrent layers are "
                f"{[c.name for c in candidates]}"
            )
        chosen = matches[0]
        if chosen not in candidates:
            raise ValueError(
                f"layer={name!r} is a {type(chosen).__name__}, not a recurrent layer; the model's "
                f"recurrent layers are {[c.name for c in candidates]}"
            )
    if isinstance(chosen, BIDIRECTIONAL_TYPES):
        chosen = chosen.forward_layer
    return chosen


@contextlib.contextmanager
def recording_hidden_states(rnn, hidden_states):
    """Within the block, every step of ``rnn`` appends its new ``h_t`` to the list.

    Where the step returns an output tensor distinct from ``h_t`` but equal
    to it, ``h_t`` itself is passed on as the output, so that the gradient
    with respect to it includes both the output and the recurrent path.
    """

    def record(output, new_states):
        h = new_states[0] if isinstance(new_states, (list, tuple)) else new_states
        if output is not h:
            if tuple(output.shape) != tuple(h.shape) or not bool(ops.all(output == h)):
                raise ValueError(
                    f"layer {rnn.name!r}: its cell's output is not its first state h_t, so "
                    "gradient_flow cannot tell which tensor is h_t"
                )
            output = h
        hidden_states.append(h)
        return output, new_states

    if isinstance(rnn, seq_layers.Recurrent):
        # Our loop calls layer.step(inputs_t, states, training) once per step.
        step = rnn.step

        def recorded_step(inputs_t, states, training):
            return record(*step(inputs_t, states, training))

        with _attribute(rnn, "step", recorded_step):
            yield
    else:
        # keras.layers.RNN calls cell.call(inputs, states, ...) once per step;
        # the fused cuDNN LSTM/GRU kernel would bypass the cell, so turn it off.
        call = rnn.cell.call

        def recorded_call(inputs, states, *args, **kwargs):
            return record(*call(inputs, states, *args, **kwargs))

        with _attribute(rnn.cell, "call", recorded_call):
            if hasattr(rnn, "use_cudnn"):
                with _attribute(rnn, "use_cudnn", False, restore=True):
                    yield
            else:
                yield


@contextlib.contextmanager
def _attribute(obj, name, value, restore=False):
    """Set ``obj.name = value`` for the block; afterwards delete it (or put the old value back)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if restore:
            setattr(obj, name, old)
        else:
            delattr(obj, name)


def _loss_function(model, loss):
    if loss is None:
        if getattr(model, "loss", None) is None:
            raise ValueError("gradient_flow needs a loss: compile the model with one or pass loss=...")
        return lambda y, y_pred: model.compute_loss(x=None, y=y, y_pred=y_pred, training=False)
    try:
        loss_object = keras.losses.get(loss)
    except ValueError:
        loss_object = None
    if loss_object is None:
        raise ValueError(f"loss={loss!r} is not a Keras loss (a name, function or keras.losses.Loss)")
    return lambda y, y_pred: ops.mean(loss_object(y, y_pred))


def check_finite(name, value):
    for array in keras.tree.flatten(value):
        array = np.asarray(array)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")


def _batch_size(value):
    arrays = keras.tree.flatten(value)
    if not arrays or np.ndim(arrays[0]) == 0:
        raise ValueError(f"expected a batch of examples, got {value!r}")
    return np.shape(arrays[0])[0]
