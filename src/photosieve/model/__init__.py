"""The exported model at run time: its contract, the LiteRT and TensorFlow runtimes, the
model store, and the one batch scorer."""
