"""Capture-time benchmark: photosieve's dating of photos and videos against exiftool.

Why it exists: photosieve must give a photo or a video the capture time exiftool gives, on files
nobody here made. The corpora are the test-image folders of exiftool (`t/images`) and Exiv2
(`test/data`); Pillow's `Tests/images` joins them for the bad-metadata sweep only (it has few
dated photos, many broken files). The cost of reading metadata is benchmarks/metadata_cost.py,
the cost of reading a video's container benchmarks/video_dates.py.

    python benchmarks/dates.py                # per corpus a photos and a videos line
    python benchmarks/dates.py --sweep        # + the reader over every file of all corpora

Corpora come from local git mirrors (`--mirrors`, default /work/.mirror; one directory per
repository, `owner+name/repo`) and are extracted once into benchmarks/.cache/corpora.

What is compared: every file photosieve ingests as a photo (filekinds.SUPPORTED_EXTENSIONS)
or files as a video (filekinds.VIDEO_EXTENSIONS) that exiftool dates. Photos: exiftool's
DateTimeOriginal, else its CreateDate (`exiftool -j -DateTimeOriginal -CreateDate`; where
several groups hold a tag, the value exiftool picks) against photosieve's reader and chain
(dating.resolve_capture_time). Videos: exiftool's DateTimeOriginal, else CreationDate (Apple's
key), else CreateDate, run with `-api QuickTimeUTC` and TZ=UTC, against video.capture_time
with tz=UTC, so the UTC container times are read as UTC wall clock on both sides. Zeroed
values (`0000:00:00 ...`, and an unset QuickTime header, which exiftool prints as 1904:01:01
00:00:00) are no date.

Agreement: both sides are compared as wall clock, any UTC offset dropped (not converted) and
sub-seconds truncated, to the precision of exiftool's value:
- second: exiftool's value has a date, hours, minutes and seconds read from the file. Then
  photosieve must give the same second. This is the rule; the others are exceptions.
- minute or day: exiftool's value has no seconds (`YYYY:MM:DD HH:MM`) or no time of day
  (`YYYY:MM:DD`), as it prints the value without -d (-d would pad it with zeros), or
  exiftool's converter read no seconds from the file and wrote `:00` itself. The one
  converter known to do so is RIFF.pm's ConvertRIFFDate: an AVI `IDIT` text of the slashed
  form `YYYY/M/D H:MM...` (Casio's form) is read to the minute even when seconds follow. This
  case is recognised from the raw text exiftool reports (the `DateTimeOriginal = ...` line of
  the `IDIT` tag in `exiftool -v2`) with exiftool's own pattern. Then photosieve must give the
  same minute (or day).
Every comparison made at a coarser precision is counted and listed, every disagreement printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from photosieve import dating, filekinds, video
from photosieve.errors import BadInput
from photosieve.metadata import reader

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "corpora"
CORPORA = {
    "exiftool": ("exiftool+exiftool", "t/images"),
    "exiv2": ("Exiv2+exiv2", "test/data"),
    "pillow": ("python-pillow+Pillow", "Tests/images"),
}
DATED_CORPORA = ("exiftool", "exiv2")
TARGET = 0.99
WALL = "%Y:%m:%d %H:%M:%S"
# The precisions of an exiftool value and how much of a WALL text each compares.
WIDTH = {"second": 19, "minute": 16, "day": 10}
# exiftool's value as it prints it (no -d): date, then optional hours:minutes, then optional
# seconds; sub-seconds and an offset may follow and are not compared.
VALUE = re.compile(r"(\d{4}:\d\d:\d\d)(?: (\d\d:\d\d)(:\d\d)?)?")
NO_DATE = ("0000:00:00", "1904:01:01 00:00:00")
# ConvertRIFFDate's Casio branch (RIFF.pm), taken for a slashed IDIT text not in the standard
# form; MONTHS are the names its standard branch knows.
MONTHS = frozenset(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
)
RIFF_TO_MINUTE = re.compile(r"(\d{4})/\s*(\d+)/\s*(\d+)/?\s+(\d+):\s*(\d+)\s*(P?)")
SHOWN_KINDS = 25


@dataclass(frozen=True)
class Kind:
    """Photos or videos: which files, which exiftool tags in order, which extra options."""

    extensions: frozenset[str]
    tags: tuple[str, ...]
    options: tuple[str, ...]


KINDS = {
    "photos": Kind(filekinds.SUPPORTED_EXTENSIONS, ("DateTimeOriginal", "CreateDate"), ()),
    "videos": Kind(
        filekinds.VIDEO_EXTENSIONS,
        ("DateTimeOriginal", "CreationDate", "CreateDate"),
        ("-api", "QuickTimeUTC"),
    ),
}


@dataclass(frozen=True)
class Reference:
    """exiftool's capture time of one file: its value, `Group:Tag` and that value's precision."""

    value: str  # as exiftool prints it
    tag: str
    precision: str  # "second", "minute" or "day"
    wall: str  # the value as WALL text, the fields exiftool does not give as zeros


@dataclass(frozen=True)
class Row:
    path: Path
    reference: Reference
    ours: str  # photosieve's wall clock (WALL), or "" when it refused the file
    source: str  # the dating source, or the reason it refused

    @property
    def agrees(self) -> bool:
        width = WIDTH[self.reference.precision]
        return self.ours[:width] == self.reference.wall[:width]


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


def _exiftool(args: list[str], files: list[Path]) -> str:
    run = subprocess.run(
        ["exiftool", *args, "-@", "-"],
        input="\n".join(str(path) for path in files),
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    )
    return run.stdout


def exiftool_reference(files: list[Path], kind: Kind) -> dict[Path, Reference]:
    """exiftool's reference for every file it dates with a valid date (first tag that has one).

    The value is the one `exiftool -TAG` prints (where groups hold the tag, its pick); a second
    run with -G1 names the group that holds that value."""
    if not files:
        return {}
    args = ["-j", "-q", "-q", *kind.options, *[f"-{tag}" for tag in kind.tags]]
    picked = json.loads(_exiftool(args, files) or "[]")
    grouped = {item["SourceFile"]: item for item in json.loads(_exiftool(["-G1", *args], files))}
    found: dict[Path, Reference] = {}
    for item in picked:
        for tag in kind.tags:
            value = str(item.get(tag, ""))
            parsed = parse_value(value)
            if parsed is not None:
                group = grouped.get(item["SourceFile"], {})
                key = next(
                    (k for k, v in group.items() if k.endswith(f":{tag}") and str(v) == value), tag
                )
                found[Path(item["SourceFile"])] = Reference(value, key, *parsed)
                break
    return {path: _riff_precision(path, ref) for path, ref in found.items()}


def parse_value(value: str) -> tuple[str, str] | None:
    """(precision, WALL text) of an exiftool value by its shape; None when it is no valid date.

    exiftool is run without -d because -d would pad a value without seconds or without a time
    to a full time, hiding its precision."""
    match = VALUE.match(value)
    if match is None or value.startswith(NO_DATE):
        return None
    date, clock, seconds = match.groups()
    precision = "day" if clock is None else "minute" if seconds is None else "second"
    wall = f"{date} {clock or '00:00'}{seconds or ':00'}"
    try:
        datetime.strptime(wall, WALL)
    except ValueError:
        return None
    return precision, wall


def _riff_precision(path: Path, ref: Reference) -> Reference:
    """`ref` at minute precision when exiftool read its AVI IDIT text only to the minute."""
    if ref.tag != "RIFF:DateTimeOriginal" or ref.precision != "second":
        return ref
    verbose = _exiftool(["-v2"], [path])
    raw = re.search(r"\| DateTimeOriginal = (.*)\n\s*\| - Tag 'IDIT'", verbose)
    if raw is None:
        raise RuntimeError(f"exiftool -v shows no DateTimeOriginal for {path}")
    if riff_reads_minutes(raw.group(1)):
        return Reference(ref.value, ref.tag, "minute", ref.wall)
    return ref


def riff_reads_minutes(raw: str) -> bool:
    """Whether exiftool's ConvertRIFFDate reads this IDIT text only to the minute: its first
    branch (the standard `Www Mmm D HH:MM:SS YYYY`: five or more words, the second a month)
    does not apply and its Casio branch matches."""
    words = raw.split()
    standard = len(words) >= 5 and words[1].capitalize() in MONTHS
    return not standard and RIFF_TO_MINUTE.search(raw) is not None


def files_of(folder: Path, kind: Kind) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in kind.extensions
    )


def photosieve_time(path: Path, kind: Kind) -> tuple[str, str]:
    """(wall clock, source) as photosieve dates the file; ("", reason) when it refuses it."""
    mtime = path.stat().st_mtime
    if kind is KINDS["videos"]:
        try:
            found = video.capture_time(path, mtime, tz=UTC)
        except BadInput as exc:
            return "", f"refused: {exc.reason}"
    else:
        found = dating.resolve_capture_time(reader.read(path), path.name, mtime, tz=UTC)
    return found.taken.replace(tzinfo=None).strftime(WALL), found.source


def compare(folder: Path, kind: Kind) -> tuple[int, list[Row]]:
    """How many files of `kind` the folder holds, and a row for each that exiftool dates."""
    files = files_of(folder, kind)
    references = exiftool_reference(files, kind)
    rows = [
        Row(path, ref, *photosieve_time(path, kind)) for path, ref in sorted(references.items())
    ]
    return len(files), rows


def report(name: str, kind_name: str, total: int, rows: list[Row]) -> bool | None:
    """Prints the line, the coarser comparisons and every disagreement; PASS/MISS as a bool,
    None when exiftool dates no file of this kind (nothing to measure)."""
    agree = sum(row.agrees for row in rows)
    coarse = [row for row in rows if row.reference.precision != "second"]
    line = f"{name:9s} {kind_name}: exiftool dates {len(rows):3d} (of {total:4d});"
    if not rows:
        print(f"{line} nothing to compare")
        return None
    share = agree / len(rows)
    verdict = "PASS" if share >= TARGET else "MISS"
    print(
        f"{line} photosieve agrees on {agree:3d} = {share:.1%}   >= {TARGET:.0%} {verdict};"
        f" {len(coarse)} at a coarser precision"
    )
    for row in coarse:
        print(f"    COARSER {row.reference.precision}: {_describe(row)}")
    for row in rows:
        if not row.agrees:
            print(f"    DISAGREE {_describe(row)}")
    return share >= TARGET


def _describe(row: Row) -> str:
    ours = row.ours or "no date"
    return (
        f"{row.path.name}: exiftool {row.reference.tag} {row.reference.value}"
        f" | photosieve {ours} from {row.source}"
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--sweep", action="store_true", help="bad-metadata sweep")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    folders = {name: extract(args.mirrors, name) for name in CORPORA}
    failed = False
    if shutil.which("exiftool") is None:
        print("exiftool not installed (Debian: libimage-exiftool-perl): no agreement rows")
    else:
        for name in DATED_CORPORA:
            for kind_name, kind in KINDS.items():
                failed |= report(name, kind_name, *compare(folders[name], kind)) is False
    if args.sweep:
        failed |= sweep(folders) > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
