"""The cost of dating a video: `video.read_times` on the fixtures and on a 4 GiB MP4.

The big file is sparse (no disk space used): the fixture phone.mp4's atoms with a 4 GiB `mdat`
inserted before its `moov`, the layout a phone writes when it does not move the header to the
front. It shows whether the reader touches the media data (it must not). Agreement with
exiftool on real videos is benchmarks/dates.py, with the photos.

    python benchmarks/video_dates.py
"""

from __future__ import annotations

import struct
import tempfile
import time
from pathlib import Path

from photosieve import video

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


def main() -> None:
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
