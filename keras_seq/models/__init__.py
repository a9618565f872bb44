"""Model builders returning ``keras.Model``s ready to compile."""

# --- convolutional models ---
from keras_seq.models.lenet import lenet5  # noqa: F401

# --- recurrent models ---
from keras_seq.models.digits_rnn import digits_rnn  # noqa: F401
from keras_seq.models.handwriting import handwriting  # noqa: F401
from keras_seq.models.word_reader import word_reader  # noqa: F401
from keras_seq.models.ctc import decode_ctc  # noqa: F401
