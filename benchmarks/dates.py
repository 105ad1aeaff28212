"""Capture-time benchmark: photosieve's dating chain against exiftool on public test images.

Why it exists: the dating chain must give the capture time exiftool gives, on files nobody
here made. The corpora are the test-image folders of exiftool (`t/images`) and Exiv2
(`test/data`); Pillow's `Tests/images` joins them for the bad-metadata sweep only (it has few
dated photos, many broken files).

    python benchmarks/dates.py                # agreement per corpus, every disagreement
    python benchmarks/dates.py --sweep        # + the reader over every file of all corpora
    python benchmarks/dates.py --cost         # + the reader's cost on a 12 MP JPEG

Corpora come from local git mirrors (`--mirrors`, default /work/.mirror; one directory per
repository, `owner+name/repo`) and are extracted once into benchmarks/.cache/corpora.

Agreement: exiftool's reference is `exiftool -j -DateTimeOriginal -CreateDate -d
"%Y:%m:%d %H:%M:%S"` (its DateTimeOriginal, else its CreateDate), a wall-clock time with any
offset and sub-second dropped. photosieve agrees when its capture time, read as the wall
clock it records (offset dropped, not converted; sub-seconds truncated), is the same second.
Offsets and sub-seconds are thus compared by neither side; the unit tests check that they
are carried. Only files photosieve ingests (filekinds.SUPPORTED_EXTENSIONS) are compared, and
only where exiftool's value is a valid date-time (exiftool also prints zeroed dates).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from photosieve import dating, filekinds
from photosieve.metadata import reader

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "corpora"
CORPORA = {
    "exiftool": ("exiftool+exiftool", "t/images"),
    "exiv2": ("Exiv2+exiv2", "test/data"),
    "pillow": ("python-pillow+Pillow", "Tests/images"),
}
DATED_CORPORA = ("exiftool", "exiv2")
EXIFTOOL_ARGS = ["-j", "-q", "-q", "-DateTimeOriginal", "-CreateDate", "-d", "%Y:%m:%d %H:%M:%S"]
WALL = "%Y:%m:%d %H:%M:%S"
SHOWN_KINDS = 25


@dataclass(frozen=True)
class Row:
    path: Path
    reference: str  # exiftool's value
    tag: str  # which exiftool tag it is
    ours: dating.CaptureTime

    @property
    def agrees(self) -> bool:
        return self.ours.taken.replace(tzinfo=None).strftime(WALL) == self.reference


def extract(mirrors: Path, name: str) -> Path:
    """The corpus folder, extracted from its git mirror on first use (blobs absent from a
    shallow mirror are skipped)."""
    mirror, sub = CORPORA[name]
    dest = CACHE / name
    if (dest / ".complete").exists():
        return dest / sub
    git_dir = mirrors / mirror / "repo"
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "HEAD", sub],
        check=True,
        capture_output=True,
    ).stdout
    for entry in filter(None, listing.split(b"\0")):
        meta, path = entry.split(b"\t", 1)
        sha = meta.split()[2].decode()
        blob = subprocess.run(
            ["git", "--git-dir", str(git_dir), "cat-file", "blob", sha], capture_output=True
        )
        if blob.returncode == 0:
            target = dest / path.decode("utf-8", "surrogateescape")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.stdout)
    (dest / ".complete").touch()
    return dest / sub


def exiftool_reference(files: list[Path]) -> dict[Path, tuple[str, str]]:
    """exiftool's (tag, value) for every file it dates with a valid date-time."""
    found: dict[Path, tuple[str, str]] = {}
    if not files:
        return found
    args = "\n".join(str(path) for path in files)
    run = subprocess.run(
        ["exiftool", *EXIFTOOL_ARGS, "-@", "-"], input=args, capture_output=True, text=True
    )
    for item in json.loads(run.stdout or "[]"):
        for tag in ("DateTimeOriginal", "CreateDate"):
            value = str(item.get(tag, ""))
            if _valid(value):
                found[Path(item["SourceFile"])] = (tag, value)
                break
    return found


def _valid(value: str) -> bool:
    try:
        datetime.strptime(value, WALL)
    except ValueError:
        return False
    return True


def photos(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in filekinds.SUPPORTED_EXTENSIONS
    )


def compare(folder: Path) -> list[Row]:
    files = photos(folder)
    rows = []
    for path, (tag, value) in sorted(exiftool_reference(files).items()):
        metadata = reader.read(path)
        ours = dating.resolve_capture_time(metadata, path.name, path.stat().st_mtime, tz=UTC)
        rows.append(Row(path, value, tag, ours))
    return rows


def report(name: str, rows: list[Row]) -> float:
    agree = sum(row.agrees for row in rows)
    share = agree / len(rows) if rows else 1.0
    print(
        f"{name:9s} exiftool dates {len(rows):4d} photos; photosieve agrees on {agree:4d}"
        f" = {share:.1%}"
    )
    for row in rows:
        if not row.agrees:
            ours = row.ours.taken.replace(tzinfo=None).strftime(WALL)
            print(
                f"    DISAGREE {row.path.name}: exiftool {row.tag} {row.reference}"
                f" | photosieve {ours} from {row.ours.source}"
            )
    return share


class _Reasons(logging.Handler):
    """Collects the reader's log lines (one per file with bad metadata)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def sweep(folders: dict[str, Path]) -> int:
    """The reader over every file of every corpus: no exception may escape. Prints per corpus
    how many files logged a reason and the slowest read, then each kind of reason (digits,
    offsets and quoted names folded) with how many files gave it."""
    handler = _Reasons()
    logger = logging.getLogger("photosieve.metadata.reader")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    escaped = 0
    for name, folder in folders.items():
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        handler.lines.clear()
        slowest = (0.0, Path())
        for path in files:
            start = time.perf_counter()
            try:
                reader.read(path)
            except Exception as exc:  # the reader's contract: never
                escaped += 1
                print(f"    EXCEPTION {path.name}: {type(exc).__name__}: {exc}")
            slowest = max(slowest, (time.perf_counter() - start, path))
        print(
            f"{name:9s} sweep: {len(files)} files read, {len(handler.lines)} logged a reason,"
            f" slowest {slowest[0] * 1000:.1f} ms ({slowest[1].name})"
        )
        kinds = Counter(kind for line in handler.lines for kind in dict.fromkeys(_kinds(line)))
        for kind, count in kinds.most_common(SHOWN_KINDS):
            print(f"    {count:4d} x {kind[:150]}")
        if len(kinds) > SHOWN_KINDS:
            print(f"    ... and {len(kinds) - SHOWN_KINDS} rarer kinds of reason")
    logger.removeHandler(handler)
    logger.propagate = True
    print(f"exceptions out of the reader: {escaped}")
    return escaped


def _kinds(line: str) -> list[str]:
    """The reasons of one log line, with numbers and names folded so alike ones group."""
    reasons = line.split(": ", 1)[-1]
    folded = re.sub(r"0x[0-9a-f]+|(?<![A-Za-z])\d+", "N", reasons)
    folded = re.sub(r"'[^']*'", "'…'", folded)
    return [part.strip() for part in folded.split(" | ") if part.strip()]


def synthetic_12mp(path: Path) -> Path:
    """A 4000x3000 q92 JPEG with a camera-like EXIF block and an XMP packet."""
    import numpy as np
    from PIL import ExifTags, Image

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize((4000, 3000), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Canon", "Canon EOS 5D Mark IV"
    exif[ExifTags.Base.DateTime] = "2024:05:03 15:00:00"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2024:05:03 14:22:10"
    sub[ExifTags.Base.DateTimeDigitized] = "2024:05:03 14:22:10"
    sub[ExifTags.Base.SubsecTimeOriginal] = "123"
    sub[ExifTags.Base.OffsetTimeOriginal] = "+02:00"
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmp:Rating="3" xmp:CreateDate="2024-05-03T14:22:10+02:00"/></rdf:RDF></x:xmpmeta>'
    )
    image.save(path, quality=92, exif=exif, xmp=xmp.encode())
    return path


def cost(paths: list[Path], rounds: int = 200) -> None:
    """Median wall time of `reader.read` per file (page cache warm, sidecar look-ups
    included), the figure the <= 5 ms per 12 MP JPEG target is about."""
    for path in paths:
        reader.read(path)
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            reader.read(path)
            samples.append(time.perf_counter() - start)
        size = path.stat().st_size / 1e6
        print(
            f"cost: reader.read {path.name} ({size:.1f} MB): median"
            f" {statistics.median(samples) * 1000:.3f} ms, max {max(samples) * 1000:.3f} ms"
            f" over {rounds} reads"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--sweep", action="store_true", help="bad-metadata sweep")
    parser.add_argument("--cost", action="store_true", help="reader cost per 12 MP JPEG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    folders = {name: extract(args.mirrors, name) for name in CORPORA}
    failed = False
    if shutil.which("exiftool") is None:
        print("exiftool not installed (Debian: libimage-exiftool-perl): no agreement rows")
    else:
        for name in DATED_CORPORA:
            failed |= report(name, compare(folders[name])) < 0.99
    if args.sweep:
        failed |= sweep(folders) > 0
    if args.cost:
        cost(
            [
                synthetic_12mp(HERE / ".cache" / "dates" / "synthetic_12mp.jpg"),
                folders["exiftool"] / "Canon.jpg",
                folders["exiftool"] / "Nikon.jpg",
            ]
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
