"""Dating videos: the cost of `video.read_times`, and agreement with exiftool on real files.

Cost: the tiny fixtures and a 4 GiB MP4. The big file is sparse (no disk space used): the
fixture phone.mp4's atoms with a 4 GiB `mdat` inserted before its `moov`, the layout a phone
writes when it does not move the header to the front. It shows whether the reader touches the
media data (it must not).

Agreement (`--corpus DIR`, needs exiftool): every video in DIR dated by photosieve from its
container compared with exiftool's DateTimeOriginal, then CreationDate, then CreateDate
(`-api QuickTimeUTC`, both in UTC), to the second, wall clock; every disagreement printed.

    python benchmarks/video_dates.py
    python benchmarks/video_dates.py --corpus DIR
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from photosieve import filekinds, video
from photosieve.errors import BadInput

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "video"
REPEAT = 20


def sparse_copy(src: Path, dst: Path, media_bytes: int) -> None:
    data = src.read_bytes()
    atoms, i = [], 0
    while i < len(data):
        size = struct.unpack(">I", data[i : i + 4])[0]
        atoms.append(data[i : i + size])
        i += size
    with open(dst, "wb") as out:
        out.write(atoms[0])  # ftyp
        out.write(struct.pack(">I4sQ", 1, b"mdat", media_bytes + 16))
        out.seek(media_bytes, 1)
        for atom in atoms[1:]:
            out.write(atom)


def timed(path: Path) -> tuple[float, dict[str, str]]:
    video.read_times(path)  # warm: imports, page cache
    start = time.perf_counter()
    for _ in range(REPEAT):
        fields = video.read_times(path)
    return (time.perf_counter() - start) / REPEAT * 1000, fields


def exiftool_times(folder: Path) -> dict[str, datetime]:
    """exiftool's capture time per file name, the first it has of the three tags, as UTC."""
    options = ["-j", "-q", "-m", "-api", "QuickTimeUTC", "-d", "%Y-%m-%dT%H:%M:%S%z"]
    tags = ["-DateTimeOriginal", "-CreationDate", "-CreateDate"]
    out = subprocess.run(
        ["exiftool", *options, *tags, str(folder)],
        capture_output=True,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    found: dict[str, datetime] = {}
    for row in json.loads(out or b"[]"):
        for tag in ("DateTimeOriginal", "CreationDate", "CreateDate"):
            value = row.get(tag)
            if isinstance(value, str) and not value.startswith(("0000", "1904")):
                try:
                    found[Path(row["SourceFile"]).name] = datetime.fromisoformat(value)
                except ValueError:
                    continue
                break
    return found


def agreement(folder: Path) -> None:
    theirs = exiftool_times(folder)
    agree, rows = 0, []
    for path in sorted(p for p in folder.iterdir() if filekinds.is_video(p.name)):
        try:
            mine = video.capture_time(path, 0.0, tz=UTC)
        except BadInput as exc:
            mine_text, mine_wall = f"refused ({exc.reason})", None
        else:
            dated = mine.source.startswith(("quicktime", "matroska", "container"))
            mine_wall = mine.taken.replace(tzinfo=None) if dated else None
            mine_text = f"{mine.taken.isoformat()} ({mine.source})"
        other = theirs.get(path.name)
        if other is None:
            continue
        other_wall = other.replace(tzinfo=None)
        if other.tzinfo is not None and mine_wall is not None and mine.taken.tzinfo is not None:
            other_wall = other.astimezone(mine.taken.tzinfo).replace(tzinfo=None)
        ok = mine_wall == other_wall
        agree += ok
        rows.append(
            f"{'ok ' if ok else 'NO '} {path.name}: exiftool {other}, photosieve {mine_text}"
        )
    print(f"{agree} of {len(rows)} videos exiftool dates agree with photosieve")
    print("\n".join(rows))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
        agreement(Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        huge = Path(tmp) / "huge.mp4"
        sparse_copy(FIXTURES / "phone.mp4", huge, 4 * 1024**3)
        paths = [*sorted(FIXTURES.glob("*.m*")), FIXTURES / "clip.avi", huge]
        print(f"{'file':<12} {'bytes':>12} {'ms/read':>8}  fields")
        for path in paths:
            ms, fields = timed(path)
            print(f"{path.name:<12} {path.stat().st_size:>12} {ms:>8.2f}  {fields}")


if __name__ == "__main__":
    main()
