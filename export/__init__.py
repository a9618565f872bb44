"""Keras model -> .tflite, and running it with the LiteRT interpreter."""
