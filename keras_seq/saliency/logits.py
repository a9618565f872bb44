"""The class scores ``S_c`` before a classifier's final softmax (the logits).

Gradient methods differentiate ``S_c`` rather than the softmax probability,
as Simonyan et al. (2014) do, so a saturated softmax does not flatten the map.
"""


def logits_model(model):
    """Return a model computing ``model``'s class scores before its final softmax.

    A last layer with ``activation=softmax`` (Dense, TimeDistributed Dense) is
    cloned with a linear activation and the trained weights; a last
    ``Softmax``/``Activation("softmax")`` layer is cut off. A model without a
    final softmax is returned as is.
    """
    import keras

    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)
    ):
        return keras.Model(model.inputs, last.input)
    inner = getattr(last, "layer", last)  # TimeDistributed(Dense(..., softmax))
    if not _is_softmax(getattr(inner, "activation", None)):
        return model
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    getattr(clone.layers[-1], "layer", clone.layers[-1]).activation = keras.activations.linear
    return clone


def _is_softmax(activation):
    import keras

    return activation is not None and (
        activation is keras.activations.softmax or getattr(activation, "__name__", "") == "softmax"
    )
