"""Model builders returning ``keras.Model``s ready to compile."""

# --- convolutional models ---

# --- recurrent models ---
