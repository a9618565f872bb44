"""Hand-written Keras 3 layers: the lecture's convolution and recurrent layers.

Every layer is registered serializable under the package ``keras_seq``, so a
``.keras`` file holding them loads with ``safe_mode=True`` and no
``custom_objects``.
"""

# --- convolutional layers (filter bank, LeNet, 1x1 bottleneck) ---

# --- recurrent layers (cells, sequence layers, deep and bidirectional) ---
