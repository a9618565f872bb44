"""The base of the named sequence layers (``Elman``, ``LSTM``): a :class:`Recurrent`
that builds its own cell from the layer's arguments."""

import keras

from keras_seq.layers.recurrent import Recurrent


def cell_property(name):
    """A read-only attribute of a sequence layer that reads its cell's."""
    return property(lambda layer: getattr(layer.cell, name), doc=f"``cell.{name}``")


class CellSequence(Recurrent):
    """A :class:`Recurrent` over a cell made from the layer's own arguments.

    Subclasses set ``cell_class``, ``cell_name`` and ``cell_arguments`` (the
    cell's keyword arguments the layer accepts); the layer's config is flat
    (``units`` and those arguments beside the loop's), as in Keras's
    ``SimpleRNN`` and ``LSTM``. Each of them, and ``units``, is also a
    read-only attribute of the layer that reads the cell's (``layer.units``,
    ``layer.kernel_initializer``, ...), as Keras's layers have.
    """

    cell_class = None
    cell_name = None
    cell_arguments = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("units",) + tuple(cls.cell_arguments):
            if name not in cls.__dict__:
                setattr(cls, name, cell_property(name))

    def __init__(self, units, **kwargs):
        """``kwargs``: the cell's arguments, then :class:`Recurrent`'s (the loop's
        and the layer's: ``return_sequences``, ``stateful``, ``name``, ...)."""
        cell_kwargs = {k: kwargs.pop(k) for k in self.cell_arguments if k in kwargs}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=self.cell_name,
            **cell_kwargs,
        )
        super().__init__(cell, **kwargs)

    def get_config(self):
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        config["units"] = cell_config["units"]
        config.update({k: cell_config[k] for k in self.cell_arguments})
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
