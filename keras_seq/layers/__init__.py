"""Hand-written Keras 3 layers: convolutions (filter banks, LeNet-5 of LeCun et al.
1998, 1x1 bottlenecks) and recurrent layers (Elman 1990, LSTM of Hochreiter &
Schmidhuber 1997, deep and bidirectional RNNs), drop-ins for Keras's own.

Every layer is registered serializable under the package ``keras_seq``, so a
``.keras`` file holding them loads with ``safe_mode=True`` and no
``custom_objects``.
"""

# --- convolutional layers (filter bank, LeNet, 1x1 bottleneck) ---
from keras_seq.layers.bottleneck import Bottleneck1x1  # noqa: F401
from keras_seq.layers.connection_table import LENET_C3_TABLE, ConnectionTableConv2D  # noqa: F401
from keras_seq.layers.filter_bank import KERNEL_NAMES, filter_bank  # noqa: F401
from keras_seq.layers.fixed_conv import FixedConv2D  # noqa: F401
from keras_seq.layers.scaled_tanh import scaled_tanh  # noqa: F401
from keras_seq.layers.subsampling import Subsampling2D  # noqa: F401

# --- recurrent layers (cells, sequence layers, deep and bidirectional) ---
from keras_seq.layers.elman_cell import ElmanCell  # noqa: F401
from keras_seq.layers.lstm_cell import LSTMCell  # noqa: F401
from keras_seq.layers.recurrent import Recurrent  # noqa: F401
from keras_seq.layers.elman import Elman  # noqa: F401
from keras_seq.layers.lstm import LSTM  # noqa: F401
from keras_seq.layers.bidirectional import Bidirectional  # noqa: F401
from keras_seq.layers.stacked import StackedRecurrent, stacked  # noqa: F401
