"""The cost of reading a photo's metadata: one row of run.py's table, or alone from the shell.

    python benchmarks/metadata_cost.py [--photos N]

What is timed is `metadata.reader.read`, the call the pipeline makes for every photo (libexiv2
through python-exiv2: EXIF, IPTC, XMP and the sidecar look-ups), in CPU time of the calling
thread (`time.thread_time`), so other sessions on a shared machine do not inflate it. The
photos are the benchmark's generated 12 MP JPEGs (photos.ensure_photos; the first SAMPLE of
them), each copied once with a camera-like EXIF block (Make, Model, DateTime,
DateTimeOriginal, SubSecTimeOriginal, OffsetTimeOriginal) and an XMP packet spliced in after
the SOI marker, so the reader parses what a camera writes; the pixels are not re-encoded.
Each copy is read once to warm the imports and the page cache, then ROUNDS times; the row
gives the median and the maximum of the per-read figures over all photos, against the <= 5 ms
target of issue 16 (on the median).
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from photos import ensure_photos  # noqa: E402

from photosieve.metadata import reader  # noqa: E402

TARGET_MS = 5.0
ROUNDS = 5
SAMPLE = 30  # photos copied with metadata (each ~4 MB on disk)
XMP_NS = b"http://ns.adobe.com/xap/1.0/\x00"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmp:Rating="3" xmp:CreateDate="2024-05-03T14:22:10+02:00"/></rdf:RDF></x:xmpmeta>'
)


def _exif_block() -> bytes:
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Canon", "Canon EOS 5D Mark IV"
    exif[ExifTags.Base.DateTime] = "2024:05:03 15:00:00"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2024:05:03 14:22:10"
    sub[ExifTags.Base.SubsecTimeOriginal] = "123"
    sub[ExifTags.Base.OffsetTimeOriginal] = "+02:00"
    return exif.tobytes()  # starts with b"Exif\0\0"


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_metadata(photo: Path, folder: Path) -> Path:
    """A copy of `photo` in `folder` with the EXIF block and XMP packet spliced in."""
    target = folder / photo.name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        data = photo.read_bytes()
        if data[:2] != b"\xff\xd8":
            raise ValueError(f"{photo} is no JPEG")
        block = _app1(_exif_block()) + _app1(XMP_NS + XMP)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data[:2] + block + data[2:])
        tmp.rename(target)
    return target


def read_cpu_ms(paths: list[Path], rounds: int = ROUNDS) -> list[float]:
    """CPU milliseconds of each `reader.read` (every photo read once to warm, then `rounds`)."""
    samples: list[float] = []
    for path in paths:
        if "Exif.Photo.DateTimeOriginal" not in reader.read(path):
            raise RuntimeError(f"reader found no DateTimeOriginal in {path.name}")
        for _ in range(rounds):
            start = time.thread_time()
            reader.read(path)
            samples.append((time.thread_time() - start) * 1000)
    return samples


def metadata_row(photos: list[Path]) -> tuple[str, str, str, bool]:
    """(name, value, target, ok) of the table row, for run.py's Row(*...)."""
    copies = [with_metadata(p, p.parent.parent / "photos-metadata") for p in photos[:SAMPLE]]
    samples = read_cpu_ms(copies)
    median = statistics.median(samples)
    return (
        "read metadata of a 12 MP JPEG (libexiv2, metadata.reader), CPU ms/img",
        f"{median:.2f} ms (max {max(samples):.2f}, {len(samples)} reads)",
        f"<= {TARGET_MS:.0f} ms",
        median <= TARGET_MS,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=SAMPLE, help="how many 12 MP JPEGs")
    args = parser.parse_args()
    photos = ensure_photos(HERE / ".cache" / "photos", args.photos)
    name, value, target, ok = metadata_row(photos)
    print(f"{name}  {value}  {target}  {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
