"""One module per `photosieve` command; each exposes `command` (a click.Command).

A command module imports heavy libraries (TensorFlow, LiteRT) inside its function body only.
"""
