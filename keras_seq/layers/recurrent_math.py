"""The arithmetic of one recurrent step, written once: the LSTM step, the Elman
step and the masking rule.

Pure functions of pre-activations, states and masks, with no weights and no
loop: the cells (:class:`~keras_seq.layers.LSTMCell`,
:class:`~keras_seq.layers.ElmanCell`), the sequence layer
(:class:`~keras_seq.layers.Recurrent`), the hand-written BPTT
(:mod:`keras_seq.layers.bptt_scan`) and the TFLite lowerings
(``keras_seq.export.recurrent_loop``, ``recurrent_unrolled``,
``fused_lstm``) all compute their steps with them, so a step means the same
thing in training, in Keras inference and in every exported file.

All take and return backend tensors (``keras.ops``; under the TensorFlow
backend these are the plain ``tf`` ops the TFLite converter maps to builtin
``LOGISTIC``, ``TANH``, ``MUL``, ``ADD``, ``SELECT``).
"""

import keras
from keras import ops

KERAS_GATE_ORDER = "ifco"  # the column blocks of Keras's LSTM kernels: input, forget, candidate, output
SIGMOID_GATES_FIRST = "ifoc"  # the three sigma gates side by side: one activation covers them


def lstm_gates(z, recurrent_activation, activation, gate_order=KERAS_GATE_ORDER):
    """The four gates of an LSTM from its pre-activations
    ``z = x_t W + h_{t-1} W_h + b`` (batch, 4 units)::

        I_t = sigma(z^i),  F_t = sigma(z^f),  O_t = sigma(z^o),  G_t = theta(z^c)

    Args:
        z: (batch, 4 units) pre-activations, column blocks in ``gate_order``.
        recurrent_activation: sigma, applied to the input, forget and output gates.
        activation: theta, applied to the candidate ``G_t``.
        gate_order: ``"ifco"`` (Keras's layout) or ``"ifoc"`` (the three sigma
            gates first: one sigma call covers them, as the export does).

    Returns:
        ``(I_t, F_t, G_t, O_t)``, each (batch, units).
    """
    if gate_order == KERAS_GATE_ORDER:
        z_input, z_forget, z_candidate, z_output = ops.split(z, 4, axis=-1)
        return (recurrent_activation(z_input), recurrent_activation(z_forget),
                activation(z_candidate), recurrent_activation(z_output))
    if gate_order == SIGMOID_GATES_FIRST:
        z_gates, z_candidate = ops.split(z, [3 * (z.shape[-1] // 4)], axis=-1)
        input_gate, forget_gate, output_gate = ops.split(recurrent_activation(z_gates), 3, axis=-1)
        return input_gate, forget_gate, activation(z_candidate), output_gate
    raise ValueError(f"gate_order must be {KERAS_GATE_ORDER!r} or {SIGMOID_GATES_FIRST!r}, got {gate_order!r}")


def lstm_state(input_gate, forget_gate, candidate, output_gate, c_prev, output_activation):
    """The LSTM's new states from its gates (Hochreiter & Schmidhuber 1997, with
    the forget gate of Gers et al. 2000)::

        C_t = F_t * C_{t-1} + I_t * G_t
        h_t = O_t * s(C_t)      s = output_activation (tanh in the standard
                                LSTM), or the identity when it is None

    Returns:
        ``(h_t, C_t, s(C_t))``.
    """
    c = forget_gate * c_prev + input_gate * candidate
    squashed = c if output_activation is None else output_activation(c)
    return output_gate * squashed, c, squashed


def lstm_step(z, c_prev, recurrent_activation, activation, output_activation, gate_order=KERAS_GATE_ORDER):
    """One LSTM step after its one product: :func:`lstm_gates` then :func:`lstm_state`::

        I_t, F_t, O_t = sigma(z^i), sigma(z^f), sigma(z^o)
        C_t = F_t * C_{t-1} + I_t * theta(z^c)
        h_t = O_t * s(C_t)

    ``c_prev=None`` is the zero state, where ``C_t = I_t * theta(z^c)``: the
    forget gate is then not computed at all (each other gate is its own
    slice of ``z``), so no op makes a value nothing reads (LiteRT.js's
    WebGPU accelerator fails on an int8 ``SPLIT`` with an unused output).

    Returns:
        ``(h_t, C_t)``.
    """
    if c_prev is None:
        units = z.shape[-1] // 4
        block = {gate: gate_order.index(gate) for gate in "ico"}

        def gate(name, function):
            return function(ops.slice(z, (0, block[name] * units), (z.shape[0], units)))

        c = gate("i", recurrent_activation) * gate("c", activation)
        squashed = c if output_activation is None else output_activation(c)
        return gate("o", recurrent_activation) * squashed, c
    input_gate, forget_gate, candidate, output_gate = lstm_gates(z, recurrent_activation, activation, gate_order)
    h, c, _ = lstm_state(input_gate, forget_gate, candidate, output_gate, c_prev, output_activation)
    return h, c


def elman_step(z, activation):
    """One Elman step (Elman 1990) after its one product: ``h_t = theta(z)``,
    ``z = x_t W^(1) + h_{t-1} W_h + b``."""
    return activation(z)


def keep_where_masked(mask_t, new_states, old_states):
    """Keras's masking rule for states: where ``mask_t`` is False a row keeps
    its old state::

        s_t = m_t ? s_t' : s_{t-1}

    A float mask of 0s and 1s gives the same states by arithmetic, for
    runtimes without a select op (LiteRT's GPU accelerator)::

        s_t = s_{t-1} + m_t (s_t' - s_{t-1})

    (within one rounding of ``s_t'`` where m_t = 1). This form, not
    ``m_t s_t' + (1 - m_t) s_{t-1}``, is what int8 calibration can quantize:
    at a step every calibration sequence reaches, ``1 - m_t`` is always 0,
    and an int8 ``ADD`` of a real input into such an empty range is refused
    by LiteRT's kernels (the classic interpreter aborts).

    Args:
        mask_t: (batch, 1) booleans, or floats 0/1, or ``None`` (nothing masked).
        new_states, old_states: lists of (batch, size) tensors.

    Returns:
        The list of states to carry.
    """
    return [_masked(mask_t, new, old) for new, old in zip(new_states, old_states)]


def masked_output(mask_t, output, prev_output, zero_output_for_mask):
    """Keras's masking rule for outputs: a masked step repeats the previous
    output, or outputs zeros with ``zero_output_for_mask``::

        y_t = m_t ? y_t' : (0 if zero_output_for_mask else y_{t-1})

    ``mask_t`` as in :func:`keep_where_masked`.
    """
    if mask_t is not None and zero_output_for_mask:
        if _is_bool(mask_t):
            return ops.where(mask_t, output, ops.zeros_like(output))
        return mask_t * output
    return _masked(mask_t, output, prev_output)


def _is_bool(mask_t):
    return keras.backend.standardize_dtype(mask_t.dtype) == "bool"


def _masked(mask_t, new, old):
    if mask_t is None:
        return new
    if _is_bool(mask_t):
        return ops.where(mask_t, new, old)
    return old + mask_t * (new - old)
