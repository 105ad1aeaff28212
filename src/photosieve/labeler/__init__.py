"""The labeler: a loopback web page for labeling photos and reviewing the quarantine."""
