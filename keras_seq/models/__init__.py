"""Model builders returning ``keras.Model``s ready to compile."""

# --- convolutional models ---
from keras_seq.models.lenet import lenet5  # noqa: F401

# --- recurrent models ---
from keras_seq.models.digits_rnn import digits_rnn  # noqa: F401
from keras_seq.models.handwriting import handwriting  # noqa: F401
