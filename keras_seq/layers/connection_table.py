"""LeNet's sparsely connected convolution (layer C3) and its connection table."""

import keras
import numpy as np
from keras import ops

from keras_seq.layers import conv_arguments
from keras_seq.layers.base_conv import BaseConv


def _table_from_rows(rows):
    return np.array([[mark == "X" for mark in row] for row in rows], dtype=bool)


# Table I of LeCun, Bottou, Bengio and Haffner (1998): row i, column j is True
# when C3 map j reads S2 map i. Columns 0-5 read 3 contiguous maps, 6-11 four
# contiguous, 12-14 four non-contiguous and 15 all six: 6*3 + 6*4 + 3*4 + 6 = 60
# connections. (Some reprints of the table add a 61st mark at row 5, column
# 12; the paper has 60.)
LENET_C3_TABLE = _table_from_rows(
    [
        "X...XXX..XXXX.XX",
        "XX...XXX..XXXX.X",
        "XXX...XXX..X.XXX",
        ".XXX..XXXX..X.XX",
        "..XXX..XXXX.XX.X",
        "...XXX..XXXX.XXX",
    ]
)
LENET_C3_TABLE.setflags(write=False)


@keras.saving.register_keras_serializable(package="keras_seq")
class ConnectionTableConv2D(BaseConv):
    """A convolution in which output map ``j`` sees only the input maps ``table[:, j]`` marks.

    For output map ``j`` with input maps ``S_j = {i : table[i, j]}``:

        y(r, c, j) = act(b_j + sum_{i in S_j} sum_{u, v} w_{ij}(u, v) x(s*r + u, s*c + v, i))

    Only connected kernels ``w_{ij}`` exist as weights, so the layer has
    ``sum_j |S_j| * h * w + filters`` trainable parameters: 1,516 for LeNet's
    C3 (60 connections of 5x5 kernels plus 16 biases). With an all-True table
    it is an ordinary ``Conv2D``.

    Args:
        filters: number of output maps (the table's columns).
        kernel_size: int or pair: the kernel's rows and columns.
        table: boolean array (input maps, filters); every column needs at
            least one True. ``LENET_C3_TABLE`` is LeNet-5's Table I.
        strides: int or pair >= 1.
        padding: ``"valid"``, ``"same"`` (odd kernels) or an int / pair >= 0
            of zeros on each side.
        activation: any Keras activation (default none).
        use_bias: whether each output map adds a bias ``b_j``.
        kernel_initializer: drawn as for a dense ``Conv2D`` kernel of shape
            (rows, cols, input maps, filters), keeping the connected entries.
        bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in ``keras.layers.Conv2D``
            (see :class:`BaseConv`); the kernel ones act on the (rows, cols,
            connections) weight.

    Call arguments:
        inputs: ``(batch, rows, cols, input maps)``, channels last.

    Example:
        >>> c3 = ConnectionTableConv2D(16, 5, LENET_C3_TABLE, activation="tanh")
        >>> c3(np.zeros((1, 14, 14, 6), "float32")).shape, c3.count_params()
        ((1, 10, 10, 16), 1516)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        table,
        strides=1,
        padding="valid",
        activation=None,
        **kwargs,
    ):
        super().__init__(filters, activation=activation, **kwargs)
        self.kernel_size = conv_arguments.pair(kernel_size, "kernel_size", 1)
        self.table = _check_table(table, self.filters)
        self.strides = conv_arguments.pair(strides, "strides", 1)
        self.padding = conv_arguments.padding_argument(padding, self.kernel_size)
        # Each connection (i, j), in row-major order of the table, owns one kernel slice.
        inputs_idx, outputs_idx = np.nonzero(self.table)
        self.connections = len(inputs_idx)
        # Which entry of the dense (input maps * filters) kernel each
        # connection's slice fills: a 0/1 matrix (connections, maps * filters).
        # A product with it places the slices exactly (one 1 per connected
        # column, zeros elsewhere) where an index gather would need a
        # multi-dimensional GATHER, which LiteRT's GPU accelerator refuses
        # when the kernel is not folded into a constant (int8 conversion).
        placement = np.zeros((self.connections, self.table.size), dtype=np.float32)
        placement[np.arange(self.connections), inputs_idx * self.filters + outputs_idx] = 1.0
        self._placement = placement

    def build(self, input_shape):
        rows, cols = self.kernel_size
        maps = conv_arguments.image_channels(
            self, input_shape, f"the {rows}x{cols} kernel with padding={self.padding!r}"
        )
        if maps != self.table.shape[0]:
            raise ValueError(
                f"{self.name}: the table has {self.table.shape[0]} rows (input maps) but the"
                f" input has {maps} channels (shape {input_shape})"
            )
        self.add_kernel((*self.kernel_size, self.connections), self._connected_initializer)
        self.add_bias()
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: maps})

    def _connected_initializer(self, shape, dtype=None):
        dense = self.kernel_initializer((*self.kernel_size, *self.table.shape), dtype=dtype)
        flat = ops.reshape(dense, (*self.kernel_size, self.table.size))
        return ops.take(flat, np.flatnonzero(self.table.reshape(-1)), axis=-1)

    def dense_kernel(self):
        """The equivalent ``Conv2D`` kernel (rows, cols, input maps, filters), zero where unconnected:
        ``w_{ij}`` for connected ``(i, j)``, the product of the (rows x cols, connections) weights with
        the 0/1 placement matrix (exact: each entry is one weight times 1 plus zeros)."""
        rows, cols = self.kernel_size
        connected = ops.reshape(self.kernel, (rows * cols, self.connections))
        placed = ops.matmul(connected, ops.cast(self._placement, self.kernel.dtype))
        return ops.reshape(placed, (rows, cols, *self.table.shape))

    def call(self, inputs):
        inputs, padding = conv_arguments.padded(inputs, self.padding)
        kernel = ops.cast(self.dense_kernel(), inputs.dtype)
        outputs = ops.conv(inputs, kernel, strides=self.strides, padding=padding)
        return self.bias_and_activation(outputs)

    def compute_output_shape(self, input_shape):
        return conv_arguments.output_shape(input_shape, self.kernel_size, self.strides, self.padding, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            kernel_size=list(self.kernel_size),
            table=self.table.tolist(),
            strides=list(self.strides),
            padding=conv_arguments.padding_config(self.padding),
        )
        return config


def _check_table(table, filters):
    array = np.asarray(table)
    if array.dtype != bool:
        raise ValueError(f"table must be a boolean array (True = connected), got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[1] != filters or array.shape[0] < 1:
        raise ValueError(f"table must have shape (input maps, filters={filters}), got shape {array.shape}")
    empty = np.flatnonzero(~array.any(axis=0))
    if empty.size:
        raise ValueError(
            f"table column(s) {empty.tolist()} mark no input map: every output map needs at least one input"
        )
    return array.copy()
