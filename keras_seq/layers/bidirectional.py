"""The bidirectional RNN: one layer reads the sequence forward, one backward."""

import copy

import keras
from keras import ops

from keras_seq import arguments
from keras_seq.layers.keras_backend import require_tensorflow_backend

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def merge(forward, backward, merge_mode):
    if merge_mode == "concat":
        return ops.concatenate([forward, backward], axis=-1)
    if merge_mode == "sum":
        return forward + backward
    if merge_mode == "mul":
        return forward * backward
    if merge_mode == "ave":
        return (forward + backward) / 2
    return (forward, backward)


@keras.saving.register_keras_serializable(package="keras_seq")
class Bidirectional(keras.layers.Layer):
    """Bidirectional RNN: context from the past and the future of each step.

    The bidirectional RNN of Schuster & Paliwal (1997) (Graves 2012, ch. 3)::

        h_t^(f) = theta(W_f^(1) x_t + W_f h_{t-1}^(f))      forward in time
        h_t^(b) = theta(W_b^(1) x_t + W_b h_{t+1}^(b))      backward in time
        o_t = theta(W_f^(2) h_t^(f) + W_b^(2) h_t^(b))

    This layer returns the two hidden sequences merged at each t (the
    backward one flipped back into the input's time order). With
    ``merge_mode="concat"`` the output layer ``o_t`` is a ``Dense`` on the
    concatenation: ``[h^(f), h^(b)] @ [[W_f^(2)], [W_b^(2)]]`` is exactly
    ``W_f^(2) h^(f) + W_b^(2) h^(b)``, separate weights per direction.

    Same arguments, behaviour, weights (forward then backward) and results as
    ``keras.layers.Bidirectional``; it wraps our layers or Keras's. Outputs and
    states are in the wrapper's compute dtype (Keras's wrapper casts only the
    outputs), and ``use_cudnn``, which Keras's layers leave out of their
    config, is copied from ``layer`` to both directions, as Keras's wrapper does.

    Args:
        layer: a recurrent layer (``Elman``, ``LSTM``, ``Recurrent`` or a
            Keras RNN); a fresh copy of it is the forward layer.
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"``, or
            ``None`` (return both outputs as a pair).
        weights: optional initial weights, the forward layer's then the
            backward layer's (as ``get_weights()`` returns them), set when the
            layer is built. (Keras 3.15's wrapper accepts and stores them
            without setting them; here they are set.)
        backward_layer: optional layer for the backward direction, with
            ``go_backwards`` opposite to ``layer`` and the same
            ``return_sequences``/``return_state``/``stateful``; default a copy
            of ``layer`` with ``go_backwards=True``.

    Call arguments:
        sequences: (batch, T, features) floats.
        initial_state: forward states then backward states (e.g.
            ``[h_f, c_f, h_b, c_b]`` for LSTMs).
        mask: (batch, T) booleans; masked steps give zero outputs in sequences.
        training: whether dropout applies.

    Returns:
        The merged output (two outputs when ``merge_mode=None``), then, with
        ``return_state``, the forward states and the backward states.

    Example:
        >>> bi = Bidirectional(LSTM(8, return_sequences=True))
        >>> bi(np.zeros((2, 5, 3), "float32")).shape
        TensorShape([2, 5, 16])
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        require_tensorflow_backend(type(self).__name__)
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(f"layer must be a keras Layer (a `keras.layers.Layer` instance), got {layer!r}")
        for attribute in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attribute):
                raise ValueError(f"layer must be a recurrent layer with a `{attribute}` attribute, got {layer!r}")
        arguments.choice(merge_mode, "merge_mode", MERGE_MODES)
        if backward_layer is not None and not isinstance(backward_layer, keras.layers.Layer):
            raise ValueError(f"backward_layer must be a keras Layer, got {backward_layer!r}")
        weights = self.check_weights(weights)
        super().__init__(**kwargs)
        self.forward_layer = self.copy_of(layer, "forward", layer.go_backwards)
        if backward_layer is None:
            self.backward_layer = self.copy_of(layer, "backward", not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):  # not in Keras's configs: copied by hand
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                "backward_layer must have go_backwards opposite to layer's (forward layer "
                "and backward layer should have different `go_backwards` value), got "
                f"both {self.forward_layer.go_backwards}"
            )
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward_value = getattr(self.forward_layer, attribute, False)
            backward_value = getattr(self.backward_layer, attribute, False)
            if forward_value != backward_value:
                raise ValueError(
                    f"layer and backward_layer must agree on {attribute}, got {forward_value} and {backward_value}"
                )
        # Sequences are zero at masked steps in both directions (as Keras).
        for direction in (self.forward_layer, self.backward_layer):
            if getattr(direction, "zero_output_for_mask", None) is not None:
                direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = getattr(self.forward_layer, "stateful", False)
        self.supports_masking = True
        self.input_spec = layer.input_spec
        self.initial_weights = weights

    @staticmethod
    def check_weights(weights):
        if weights is None:
            return None
        if not isinstance(weights, (list, tuple)) or len(weights) % 2:
            arguments.refuse(
                "weights",
                weights,
                "None or a list of arrays, the forward layer's weights then the backward layer's (an even count)",
            )
        return list(weights)

    @staticmethod
    def copy_of(layer, direction, go_backwards):
        """A fresh layer from ``layer``'s config, named ``{direction}_...``."""
        config = keras.saving.serialize_keras_object(layer)
        config = copy.deepcopy(config)
        name = layer.name.removeprefix(f"{direction}_")
        config["config"]["name"] = f"{direction}_{name}"
        config["config"]["go_backwards"] = go_backwards
        return keras.saving.deserialize_keras_object(config)

    def build(self, sequences_shape, initial_state_shape=None):
        if not self.forward_layer.built:
            self.forward_layer.build(sequences_shape)
        if not self.backward_layer.built:
            self.backward_layer.build(sequences_shape)
        if self.initial_weights is not None:
            half = len(self.initial_weights) // 2
            self.forward_layer.set_weights(self.initial_weights[:half])
            self.backward_layer.set_weights(self.initial_weights[half:])
            self.initial_weights = None

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward_layer.compute_output_shape(sequences_shape)
        backward = self.backward_layer.compute_output_shape(sequences_shape)
        forward_states = backward_states = ()
        if self.return_state:
            forward, forward_states = forward[0], tuple(forward[1:])
            backward, backward_states = backward[0], tuple(backward[1:])
        forward, backward = tuple(forward), tuple(backward)
        if self.merge_mode is None:
            outputs = (forward, backward)
        elif self.merge_mode == "concat":
            outputs = (forward[:-1] + (forward[-1] + backward[-1],),)
        else:
            outputs = (forward,)
        if self.return_state:
            return outputs + forward_states + backward_states
        return outputs if self.merge_mode is None else outputs[0]

    def compute_mask(self, sequences, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask] if self.merge_mode is not None else [output_mask] * 2
        if self.return_state:
            count = sum(
                len(layer.compute_output_shape((None, None, 1))) - 1
                for layer in (self.forward_layer, self.backward_layer)
            )
            return masks + [None] * count
        return masks[0] if self.merge_mode is not None else masks

    def call(self, sequences, initial_state=None, mask=None, training=False):
        forward_state = backward_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) % 2:
                raise ValueError(
                    f"{self.name}: initial_state must be a list of the forward "
                    "states then the backward states (an even count), got "
                    f"{initial_state!r}"
                )
            half = len(initial_state) // 2
            forward_state = list(initial_state[:half])
            backward_state = list(initial_state[half:])
        forward = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
        backward = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
        states = ()
        if self.return_state:
            states = keras.tree.map_structure(
                lambda s: ops.cast(s, self.compute_dtype), tuple(forward[1:]) + tuple(backward[1:])
            )
            forward, backward = forward[0], backward[0]
        forward = ops.cast(forward, self.compute_dtype)
        backward = ops.cast(backward, self.compute_dtype)
        if self.return_sequences:
            # The backward layer's outputs run from t = T down to 1.
            backward = ops.flip(backward, axis=1)
        output = merge(forward, backward, self.merge_mode)
        if self.return_state:
            outputs = output if self.merge_mode is None else (output,)
            return outputs + states
        return output

    @property
    def states(self):
        forward = getattr(self.forward_layer, "states", None)
        backward = getattr(self.backward_layer, "states", None)
        if forward and backward:
            return tuple(forward) + tuple(backward)
        return None

    def reset_state(self):
        """Zero the states of both directions (stateful layers)."""
        if not self.stateful:
            raise ValueError(f"{self.name}: reset_state needs stateful=True layers (Layer must be stateful)")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        self.reset_state()

    def get_config(self):
        config = {
            "layer": keras.saving.serialize_keras_object(self.forward_layer),
            "merge_mode": self.merge_mode,
            "backward_layer": keras.saving.serialize_keras_object(self.backward_layer),
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        config = copy.deepcopy(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = keras.saving.deserialize_keras_object(config["backward_layer"])
        return cls(**config)
