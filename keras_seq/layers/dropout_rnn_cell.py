"""Keras's dropout mixin for recurrent cells, found through public API.

``keras.layers.RNN`` draws a cell's dropout masks once per sequence, outside
its loop, when the cell is an instance of Keras's ``DropoutRNNCell`` mixin.
Keras does not export that class, so it is taken from the bases of the public
``keras.layers.SimpleRNNCell`` rather than imported from ``keras.src`` (whose
layout may change between releases). Should a Keras release drop it from those
bases, :class:`FallbackDropoutRNNCell` keeps the same behaviour for our layers
(one mask per sequence), and only Keras's own ``RNN`` layer would draw our
cells' masks per step.

:func:`prepare_dropout_masks` and :func:`reset_dropout_masks` draw and drop
a call's masks, for one cell or a ``keras.layers.StackedRNNCells``, as
``keras.layers.RNN`` does around its loop.
"""

import keras
from keras import ops


class FallbackDropoutRNNCell:
    """Dropout masks cached for a whole sequence (the mixin's contract).

    A cell using it has ``dropout``, ``recurrent_dropout``, ``seed_generator``
    and optionally ``dropout_mask_count`` (one mask per gate). Each mask keeps a
    unit with probability ``1 - rate`` and scales it by ``1 / (1 - rate)``.
    """

    def create_dropout_mask(self, step_input, rate):
        count = getattr(self, "dropout_mask_count", None)
        ones = ops.ones_like(step_input)
        masks = [keras.random.dropout(ones, rate=rate, seed=self.seed_generator) for _ in range(count or 1)]
        return masks if count else masks[0]

    def get_dropout_mask(self, step_input):
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self.create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input):
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self.create_dropout_mask(step_input, self.recurrent_dropout)
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


def keras_dropout_mixin(cell_class=keras.layers.SimpleRNNCell):
    """Keras's ``DropoutRNNCell`` from ``cell_class``'s bases, or the fallback."""
    for base in cell_class.__mro__:
        if base.__name__ == "DropoutRNNCell" and base.__module__.startswith("keras"):
            return base
    return FallbackDropoutRNNCell


DropoutRNNCell = keras_dropout_mixin()


def prepare_dropout_masks(cell, step_input, states):
    """Draw this call's dropout masks before the loop, as ``keras.layers.RNN``;
    in a stack each cell's masks are drawn for the inputs it receives."""
    if isinstance(cell, DropoutRNNCell):
        first = keras.tree.flatten(states)[0]
        cell.get_dropout_mask(step_input)
        cell.get_recurrent_dropout_mask(first)
    if isinstance(cell, keras.layers.StackedRNNCells):
        for inner, inner_states in zip(cell.cells, states):
            prepare_dropout_masks(inner, step_input, inner_states)
            inner_states = list(keras.tree.flatten(inner_states))
            step_input, _ = inner(step_input, inner_states)


def reset_dropout_masks(cell):
    if isinstance(cell, DropoutRNNCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    if isinstance(cell, keras.layers.StackedRNNCells):
        for inner in cell.cells:
            reset_dropout_masks(inner)
