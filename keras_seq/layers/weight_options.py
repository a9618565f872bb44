"""The Keras objects a layer's weights are made with: each weight's initializer, regularizer and constraint.

A layer takes them, as Keras's layers do, as ``<weight>_initializer``,
``<weight>_regularizer`` and ``<weight>_constraint`` arguments (``kernel``,
``recurrent``, ``bias``). :func:`set_weight_options` resolves each with
Keras's getter and stores it on the layer under that name;
:func:`weight_options_config` serializes them back for ``get_config``.
"""

import keras

KINDS = {"initializer": keras.initializers, "regularizer": keras.regularizers, "constraint": keras.constraints}


def set_weight_options(layer, **weights):
    """``weights``: ``{weight: (initializer, regularizer, constraint)}``, e.g.
    ``kernel=("glorot_uniform", None, None)``; sets ``layer.kernel_initializer`` and the others."""
    for weight, options in weights.items():
        for (kind, module), option in zip(KINDS.items(), options, strict=True):
            setattr(layer, f"{weight}_{kind}", module.get(option))


def weight_options_config(layer, weights):
    """``{"<weight>_<kind>": serialized}`` for each of ``weights`` (names) and each kind."""
    return {f"{weight}_{kind}": module.serialize(getattr(layer, f"{weight}_{kind}"))
            for weight in weights for kind, module in KINDS.items()}
