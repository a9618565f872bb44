"""Vanishing and exploding gradients through time: ||dL/dh_t|| for Elman vs LSTM.

Backpropagation through time multiplies one Jacobian per step,

    dL/dh_t = dL/dh_T * prod_{s=t+1..T} dh_s/dh_{s-1},

so for the Elman RNN ``h_t = theta(W^(1) x_t + W_h h_{t-1})`` the gradient
reaching early steps shrinks geometrically when ``W_h`` is small and grows
geometrically when it is large. The LSTM's cell state
``C_t = F_t * C_{t-1} + I_t * theta(...)`` passes the gradient back through
``F_t`` alone, so with forget gates near 1 it carries far.

The task needs that long path: ``steps`` (>= 100) random inputs whose class
is the sign of the *first* input, read out after the last step. Four
networks are measured with ``keras_seq.training.gradient_flow`` on the same
batch: Elman with ``W_h`` orthogonal of gain 1 (Keras' default) and gain 2,
LSTM with forget-gate bias 1 (Keras' default) and 3 (gates open, as
training drives them on long-memory tasks).

Gradient clipping (Pascanu et al. 2013) with threshold tau replaces the
weight gradient ``g`` by

    G = g if ||g||_2 <= tau, else (tau / ||g||_2) g.

Backpropagation is linear in the loss gradient, so the clipped update is the
one every ``dL/dh_t`` scaled by the same ``min(1, tau / ||g||_2)``: the
dashed curves. Clipping bounds an exploding gradient; it does not change the
profile's shape, and it does nothing for a vanishing one.

Run ``keras-seq demo gradient-flow`` (or ``python -m keras_seq.demos.gradient_flow``).

Example:
    >>> result = run_gradient_flow(steps=120)
    >>> result["flow"]["elman, W_h gain 1"][0]      # ||dL/dh_0||: vanished
    >>> result["clip_scale"]["elman, W_h gain 2"]   # tau / ||g|| < 1: clipped
"""

import numpy as np

from keras_seq import arguments

DEFAULT = {"steps": 150, "units": 32, "batch": 32}
FAST = {"steps": 100, "units": 16, "batch": 8}
CLIP_NORM = 1.0
NETWORKS = {
    "elman, W_h gain 1": ("elman", 1.0),
    "elman, W_h gain 2": ("elman", 2.0),
    "lstm, forget bias 1": ("lstm", 1.0),
    "lstm, forget bias 3": ("lstm", 3.0),
}


def first_sign_task(count, steps, seed):
    """``count`` sequences (steps, 2) of N(0, 1) noise; label = first input > 0."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, steps, 2)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.float32)[:, None]
    return x, y


def build_model(cell, setting, units, steps, seed):
    """An ``Elman`` (``W_h`` orthogonal with gain ``setting``) or ``LSTM`` (forget bias
    ``setting``) from ``keras_seq.layers`` over ``steps`` steps, then a sigmoid readout."""
    import keras

    from keras_seq.layers import LSTM, Elman

    keras.utils.set_random_seed(seed)
    arguments.choice(cell, "cell", ("elman", "lstm"))
    if cell == "elman":
        layer = Elman(units, recurrent_initializer=keras.initializers.Orthogonal(gain=setting), name=cell)
    else:
        layer = LSTM(units, unit_forget_bias=False, name=cell)
    inputs = keras.Input((steps, 2))
    outputs = keras.layers.Dense(1, activation="sigmoid", name="readout")(layer(inputs))
    model = keras.Model(inputs, outputs, name=f"{cell}_first_sign")
    if cell == "lstm":
        bias = np.zeros(4 * units, dtype=np.float32)
        bias[units:2 * units] = setting  # gate order i, f, c, o as keras.layers.LSTM
        layer.cell.bias.assign(bias)
    return model


def weight_gradient_norm(model, x, y):
    """``||g||_2`` over all trainable weights for the binary cross-entropy on ``(x, y)``."""
    import keras
    import tensorflow as tf

    loss = keras.losses.BinaryCrossentropy()
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=False))
    grads = tape.gradient(value, model.trainable_variables)
    return float(np.sqrt(sum(np.sum(np.square(g.numpy().astype(np.float64))) for g in grads)))


def run_gradient_flow(steps=DEFAULT["steps"], units=DEFAULT["units"], batch=DEFAULT["batch"],
                      clipnorm=CLIP_NORM, out=None, seed=0):
    """Measure ||dL/dh_t|| and ||g|| for the four networks of ``NETWORKS``.

    Args:
        steps: sequence length T (>= 2; the demo uses 100+).
        units: hidden units of each RNN.
        batch: sequences in the measured batch.
        clipnorm: the clipping threshold tau.
        out: a folder; when given, writes ``gradient_flow.png``.
        seed: seeds data and initial weights.

    Returns:
        A dict keyed like ``NETWORKS``: ``flow`` (T,) arrays ||dL/dh_t||,
        ``weight_norm`` ||g||_2, ``clip_scale`` min(1, tau/||g||_2); and
        ``clipnorm``, ``path`` (the figure or None).
    """
    import keras

    from keras_seq.training import gradient_flow

    arguments.integer(steps, "steps", minimum=2)
    arguments.positive_int(units, "units")
    arguments.positive_int(batch, "batch")
    arguments.positive_real(clipnorm, "clipnorm")
    x, y = first_sign_task(batch, steps, seed)
    result = {"flow": {}, "weight_norm": {}, "clip_scale": {}, "clipnorm": clipnorm, "path": None}
    for name, (cell, setting) in NETWORKS.items():
        model = build_model(cell, setting, units, steps, seed)
        result["flow"][name] = gradient_flow(model, x, y, loss="binary_crossentropy")
        norm = weight_gradient_norm(model, x, y)
        result["weight_norm"][name] = norm
        result["clip_scale"][name] = min(1.0, clipnorm / norm)
        keras.backend.clear_session()
    if out is not None:
        import pathlib

        result["path"] = draw_gradient_flow(result, pathlib.Path(out) / "gradient_flow.png")
    return result


def draw_gradient_flow(result, path):
    """Left: ||dL/dh_t|| against t, log scale, clipped copies dashed. Right: ||g|| vs tau."""
    from keras_seq.demos import figures

    figure = figures.new_figure(12.0, 4.8)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1.0], "wspace": 0.3})
    colours = dict(zip(NETWORKS, ("tab:orange", "tab:red", "tab:cyan", "tab:blue")))
    for name, norms in result["flow"].items():
        t = np.arange(len(norms))
        left.semilogy(t, np.maximum(norms, 1e-30), "-", color=colours[name], label=name)
        scale = result["clip_scale"][name]
        if scale < 1.0:
            left.semilogy(t, np.maximum(norms * scale, 1e-30), "--", color=colours[name],
                          label=f"{name}, clipped (x{scale:.1e})")
    left.set_xlabel("time step t (the loss is read after the last step)")
    left.set_ylabel("||dL/dh_t||  (log scale)")
    left.set_title("Gradient reaching each hidden state, backpropagated through time", fontsize=10)
    left.grid(True, which="major", alpha=0.3)
    left.legend(fontsize=7, loc="best")
    names = list(result["weight_norm"])
    norms = [result["weight_norm"][n] for n in names]
    right.bar(range(len(names)), norms, color=[colours[n] for n in names], log=True)
    right.axhline(result["clipnorm"], color="black", linewidth=1.0, linestyle="--")
    right.text(-0.4, result["clipnorm"] * 1.3, f"tau = {result['clipnorm']:g}: above it, g is scaled to tau",
               fontsize=7)
    right.set_xticks(range(len(names)))
    right.set_xticklabels([n.replace(", ", "\n") for n in names], fontsize=7)
    right.set_ylabel("||g||_2 over all weights (log scale)")
    right.set_title("Weight-gradient norm vs the clipping threshold", fontsize=10)
    steps = len(next(iter(result["flow"].values())))
    figure.suptitle(f"Backprop through {steps} steps (task: class = sign of the first input): "
                    "Elman vanishes or explodes, the LSTM's open forget gates carry the gradient",
                    fontsize=10)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.14)
    return figures.save_png(figure, path)


def run_demo(out, fast=False, progress=None):
    """``keras-seq demo gradient-flow``: the measurement and its figure; see :func:`run_gradient_flow`."""
    from keras_seq.demos.progress import Progress

    settings = FAST if fast else DEFAULT
    progress = progress or Progress(total=2)
    progress.step(f"||dL/dh_t|| over {settings['steps']} steps for Elman and LSTM, "
                  f"clipping at tau = {CLIP_NORM:g}")
    result = run_gradient_flow(**settings, out=out)
    lines = []
    for name, norms in result["flow"].items():
        lines.append(f"  {name:<22} ||dL/dh_0|| = {norms[0]:.1e}  ||dL/dh_T|| = {norms[-1]:.1e}  "
                     f"||g|| = {result['weight_norm'][name]:.1e}  clip x{result['clip_scale'][name]:.1e}")
    progress.step("gradient reaching the first step vs the last:\n" + "\n".join(lines))
    progress.say(f"  wrote {result['path']}")
    return result


if __name__ == "__main__":
    from keras_seq.demos.command import main_for

    raise SystemExit(main_for("gradient-flow"))
