"""Reading and writing photo metadata: EXIF, IPTC and XMP, embedded and in sidecars."""
