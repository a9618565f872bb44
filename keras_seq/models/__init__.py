"""Model builders returning ``keras.Model``s ready to compile."""

# --- convolutional models ---
from keras_seq.models.lenet import lenet5  # noqa: F401

# --- recurrent models ---
