"""photosieve: stamps, scores and files new photos; likely discards go to a quarantine."""

__version__ = "0.1.0"
