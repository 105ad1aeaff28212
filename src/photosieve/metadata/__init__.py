"""Photo metadata: EXIF, IPTC and XMP (embedded and sidecars) read into plain strings.

A room of its own so that exactly one place talks to libexiv2; everything downstream
(dating, naming, bursts, labels) receives a plain ``dict[str, str]`` and stays pure.
"""
