"""Partial writes: photos still being written are never filed half-done.

All at once, into the running service's inbox (settle time 1 s):
- chunked: written in 12 chunks with 0.4 s pauses (shorter than the settle time);
- rsynced: written slowly under rsync's hidden temp name, with pauses longer than the settle
  time, then renamed into place;
- copied: a 50 MB JPEG copied in with `cp`;
- held-open: half written, a pause three times the settle time with the file still open, then
  the rest (a stalled upload or network copy);
- motion: a complete JPEG, a long pause with the file open, then a trailer after the JPEG's end
  (what phones' "motion photos" append), so the first half alone decodes fine;
- reopened: half written and closed, then appended to after a long pause (a resumed upload);
- abandoned: half written and closed for good.
Each photo that is completed must reach the library byte-identical to the whole (checked by
hash); reopened is first refused as truncated, then filed when it grows; abandoned stays in
the inbox with the reason "truncated". The library is on its own tmpfs when mounting is
allowed, so a premature move would be a copy that loses what is written afterwards.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

SETTLE = 1.0


def _big_jpeg(megabytes: int) -> bytes:
    """A noise JPEG at quality 100 of at least `megabytes` MB (noise barely compresses)."""
    rng = np.random.default_rng(50)
    height = 3000
    width = int(megabytes * 1e6 / (height * 2.0))
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
        buf, "JPEG", quality=100
    )
    return buf.getvalue()


def _write(path: Path, parts: list[bytes], pause: float, *, reopen: bool = False) -> None:
    """Write `parts` with `pause` seconds between them, closing in between only if `reopen`."""
    fh = path.open("wb")
    try:
        for i, part in enumerate(parts):
            if i and reopen:
                fh.close()
                time.sleep(pause)
                fh = path.open("ab")
            elif i:
                time.sleep(pause)
            fh.write(part)
            fh.flush()
    finally:
        fh.close()


def _halves(data: bytes) -> list[bytes]:
    return [data[: len(data) // 2], data[len(data) // 2 :]]


def test_files_being_written_are_not_filed_early(
    folders: Any, daemon: Any, mounts: Any, kit: Any, figure: Any, tmp_path: Path
) -> None:
    if mounts.refused is None:
        mounts.tmpfs(folders.library, "128m")
    else:
        print(f"\nNOTE library on the inbox's file system: {mounts.refused}")
    folders.write_config(settle=SETTLE, rescan_minutes=0.05)
    inbox = folders.inbox
    photo = {
        n: kit.jpeg(700 + i, (64, 48))
        for i, n in enumerate(
            ["chunked", "rsynced", "held-open", "motion", "reopened", "abandoned"]
        )
    }
    photo["motion"] += b"\0\0\0\x18ftypmp42" + os.urandom(30_000)  # a trailer after the JPEG
    photo["copied"] = _big_jpeg(50)
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "copied.jpg").write_bytes(photo["copied"])
    step = -(-len(photo["chunked"]) // 12)
    chunks = [photo["chunked"][i : i + step] for i in range(0, len(photo["chunked"]), step)]
    motion_split = len(photo["motion"]) - 30_012

    def rsync() -> None:
        temp = inbox / ".rsynced.jpg.Xa9f3Q"
        _write(temp, _halves(photo["rsynced"]), 2.5 * SETTLE)
        os.rename(temp, inbox / "rsynced.jpg")

    writers: list[Callable[[], None]] = [
        lambda: _write(inbox / "chunked.jpg", chunks, 0.4 * SETTLE),
        rsync,
        lambda: subprocess.run(["cp", str(staging / "copied.jpg"), str(inbox)], check=True),
        lambda: _write(inbox / "held-open.jpg", _halves(photo["held-open"]), 3 * SETTLE),
        lambda: _write(
            inbox / "motion.jpg",
            [photo["motion"][:motion_split], photo["motion"][motion_split:]],
            3 * SETTLE,
        ),
        lambda: _write(inbox / "reopened.jpg", _halves(photo["reopened"]), 3 * SETTLE, reopen=True),
        lambda: _write(inbox / "abandoned.jpg", _halves(photo["abandoned"])[:1], 0),
    ]
    daemon.start()
    threads = [threading.Thread(target=w) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    complete = set(photo) - {"abandoned"}
    library = folders.library

    def filed() -> dict[str, Path]:
        # A cross-file-system move shows its hidden temp copy in the library for a moment;
        # it is not a filed photo yet (the check after the wait proves none is left).
        return {
            p.name.split("_", 2)[2].removesuffix(".jpg"): p
            for p in kit.files_below(library)
            if not kit.TEMP_NAME.match(p.name)
        }

    kit.wait_until(lambda: set(filed()) == complete, 90, "every completed photo", daemon.log)
    assert sorted(kit.files_below(library)) == sorted(filed().values()), "a stray file is left"
    kit.wait_until(lambda: _lines(daemon, inbox, "abandoned.jpg"), 30, "abandoned", daemon.log)
    for name, path in filed().items():
        assert kit.sha_file(path) == kit.sha(photo[name]), f"{name} was filed incomplete"
    early = {n: _lines(daemon, inbox, f"{n}.jpg") for n in complete - {"reopened"}}
    assert early == {n: [] for n in early}, "a photo was looked at before it was complete"
    refused = _lines(daemon, inbox, "reopened.jpg")
    assert len(refused) == 1 and "truncated" in refused[0], refused
    abandoned = _lines(daemon, inbox, "abandoned.jpg")
    assert len(abandoned) == 1 and "truncated" in abandoned[0], abandoned
    assert (inbox / "abandoned.jpg").read_bytes() == _halves(photo["abandoned"])[0]
    assert ".rsynced.jpg.Xa9f3Q" not in daemon.text()
    assert daemon.stop() == 0
    figure("completed photos filed byte-identical", f"{len(complete)} of {len(complete)}")
    figure("copied file size", f"{len(photo['copied']) / 1e6:.1f} MB")
    figure("refused while incomplete", "reopened (truncated, then filed), abandoned (truncated)")


def _lines(daemon: Any, inbox: Path, name: str) -> list[str]:
    """Log lines that refused the file (skipped/pending) while it sat in the inbox."""
    needle = f"{inbox / name}: "
    return [line for line in daemon.text().splitlines() if needle in line]


def test_a_file_open_for_writing_never_settles(tmp_path: Path) -> None:
    """The gate's own check, without the service: settle time 0, yet a file still open for
    writing is not due, however long the writer pauses; once closed, it is."""
    from photosieve.daemon.settle import SettleGate

    gate = SettleGate(0)
    path = tmp_path / "upload.jpg"
    with path.open("wb") as fh:
        fh.write(b"\xff\xd8 half a photo")
        fh.flush()
        gate.offer(path, tmp_path)
        for _ in range(3):
            assert gate.due() == []
            time.sleep(0.05)
    assert gate.due() == [(path, tmp_path)]
