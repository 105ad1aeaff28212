"""The quarantine after the service fills it: review by hand (`reconcile`), retention
(`purge`), and the one way a photo comes back (`restore`), with the rows they share (`rows`).

This room uses the shared rooms (files/, state, library) and nothing from daemon/, labeler/ or
commands/: those call into it.
"""
