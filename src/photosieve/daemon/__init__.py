"""The watcher service: the pipeline, the watcher, the settle gate and the main loop."""
