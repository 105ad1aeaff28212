"""Hostile files: everything that is not a usable photo, dropped into the inbox of the running
service, next to valid photos that are merely odd.

Bad files (truncated or corrupt JPEG/PNG/HEIC, zero bytes, text named .jpg, a decompression
bomb, a 30,000 x 30,000 header, symlinks out of the inbox, a FIFO, an unreadable file) stay
exactly where they were, byte for byte, each with one log line and a `photosieve status` entry
giving the reason, and are not looked at again until they change. An animated GIF is not a
supported format: reported once as unsupported and left. Valid but odd photos (1 x 1, CMYK,
16-bit PNG, names with a newline, emoji or 255 bytes, a photo inside a folder named x.jpg) are
filed like any other. The service runs on throughout and stops cleanly.
"""

from __future__ import annotations

import io
import os
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

LONG_NAME = "L" * 251 + ".jpg"  # 255 bytes, the longest name Linux allows


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _heic(image: Image.Image) -> bytes:
    from photosieve.vision.imaging import register_heif

    register_heif()
    buf = io.BytesIO()
    image.save(buf, "HEIF")
    return buf.getvalue()


def _garble(data: bytes, start: int, end: int, seed: int) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    return data[:start] + noise + data[end:]


def _bad_files(kit: Any) -> dict[str, tuple[bytes, str]]:
    """name -> (content, expected reason) for the regular files that must be refused."""
    rgb = Image.fromarray(np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    jpg, png, heic = kit.jpeg(900, (64, 48)), _png(rgb), _heic(rgb)
    idat = png.index(b"IDAT") + 4
    sof = jpg.index(b"\xff\xc0")
    huge = bytearray(jpg)
    struct.pack_into(">HH", huge, sof + 5, 30000, 30000)  # the header claims 900 MP
    bomb = _png(Image.new("1", (16000, 16000)))  # 31 kB on disk, 256 MP decoded
    return {
        "truncated.jpg": (jpg[: len(jpg) // 2], "truncated"),
        "corrupt.jpg": (_garble(jpg, 2, len(jpg), 1), ""),
        "truncated.png": (png[: len(png) // 2], "truncated"),
        "corrupt.png": (_garble(png, idat, idat + 200, 2), "corrupt"),
        "truncated.heic": (heic[: len(heic) // 2], "truncated"),
        "corrupt.heic": (_garble(heic, 24, 400, 3), ""),
        "empty.jpg": (b"", "empty file"),
        "notes.jpg": (b"shopping list: milk, eggs\n", "not an image"),
        "bomb.png": (bomb, "decompression bomb"),
        "huge-header.jpg": (bytes(huge), "decompression bomb"),
    }


def _odd_photos(kit: Any) -> dict[str, bytes]:
    """Valid photos that are merely odd: relative path -> content. All are filed."""
    noise = np.random.default_rng(6).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    cmyk, deep = io.BytesIO(), io.BytesIO()
    Image.fromarray(noise).convert("CMYK").save(cmyk, "JPEG")
    Image.fromarray(noise[:, :, 0].astype(np.uint16) * 257).save(deep, "PNG")
    one = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(one, "JPEG")
    return {
        "one-pixel.jpg": one.getvalue(),
        "cmyk.jpg": cmyk.getvalue(),
        "sixteen-bit.png": deep.getvalue(),
        "line\nbreak.jpg": kit.jpeg(901, (40, 30)),
        "sunset 🌅.jpg": kit.jpeg(902, (40, 30)),
        LONG_NAME: kit.jpeg(903, (40, 30)),
        "x.jpg/inside.jpg": kit.jpeg(904, (40, 30)),  # a folder named x.jpg holds a photo
    }


def test_hostile_files_are_left_alone_and_reported_once(
    folders: Any, daemon: Any, kit: Any, figure: Any, tmp_path: Path
) -> None:
    folders.write_config(settle=0.3, rescan_minutes=0.05)  # a rescan every 3 s
    inbox = folders.inbox
    daemon.start()

    bad = _bad_files(kit)
    for name, (data, _) in bad.items():
        (inbox / name).write_bytes(data)
    frames = [Image.new("RGB", (16, 16), (40 * i, 0, 0)) for i in range(3)]
    frames[0].save(inbox / "animated.gif", save_all=True, append_images=frames[1:], loop=0)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "elsewhere.jpg").write_bytes(kit.jpeg(905, (40, 30)))
    os.symlink(outside / "elsewhere.jpg", inbox / "link.jpg")
    os.symlink(outside, inbox / "linked-folder")
    os.mkfifo(inbox / "pipe.jpg")
    (inbox / "unreadable.jpg").write_bytes(kit.jpeg(906, (40, 30)))
    os.chmod(inbox / "unreadable.jpg", 0)
    odd = _odd_photos(kit)
    for rel, data in odd.items():
        (inbox / rel).parent.mkdir(exist_ok=True)
        (inbox / rel).write_bytes(data)
    special = {
        "link.jpg": "symbolic link",
        "linked-folder": "symbolic link",
        "pipe.jpg": "not a regular file",
        "unreadable.jpg": "unreadable",
        "animated.gif": "not a supported photo format",
    }
    refused = {**{n: r for n, (_, r) in bad.items()}, **special}
    if os.geteuid() == 0 and daemon.command()[0] != kit.SETPRIV:
        del refused["unreadable.jpg"]  # root without setpriv reads a mode-000 file
        print("\nNOTE running as root without setpriv: the unreadable file is readable")
    before = {n: _identity(inbox / n) for n in refused}

    library = folders.library
    kit.wait_until(
        # a copy in flight (hidden temp name) is not a filed photo yet
        lambda: (
            len([p for p in kit.files_below(library) if not kit.TEMP_NAME.match(p.name)])
            == len(odd)
        ),
        60,
        "odd photos",
        daemon.log,
    )
    kit.wait_until(lambda: all(_logged(daemon, n) for n in refused), 60, "reports", daemon.log)
    time.sleep(7)  # two more rescans: nothing may be looked at (or logged) again
    assert daemon.alive()

    status = kit.run_cli(folders, "status")
    assert status.returncode == 0, status.stderr
    reasons = {
        Path(r["path"]).name: (r["status"], r["reason"])
        for r in folders.rows(
            "SELECT path, status, reason FROM files WHERE status IN ('skipped', 'unsupported')"
        )
    }
    table = []
    for name, reason in refused.items():
        assert _identity(inbox / name) == before[name], f"{name} was touched"
        lines = _logged(daemon, name)
        assert len(lines) == 1, (name, lines)
        assert name in reasons, (name, reasons)
        assert reasons[name][1] and reason in reasons[name][1], (name, reasons[name])
        if reasons[name][0] == "skipped":
            assert f"{inbox / name}: {reasons[name][1]}" in status.stdout, name
        table.append(f"{name}: {reasons[name][0]} ({reasons[name][1]})")
    assert (outside / "elsewhere.jpg").read_bytes() == kit.jpeg(905, (40, 30))
    assert (inbox / "x.jpg").is_dir()
    figure("refused files and reasons", "; ".join(table))

    filed = {p.name: p for p in kit.files_below(library)}
    for rel, data in odd.items():
        original = Path(rel).name.replace("\n", "_")
        matches = [p for n, p in filed.items() if n.endswith(original[-40:])]
        assert len(matches) == 1, (rel, sorted(filed))
        assert matches[0].read_bytes() == data
        assert len(matches[0].name.encode()) <= 255
    assert not [line for line in daemon.text().splitlines() if line.startswith("break.jpg")], (
        "a file name with a newline split a log line in two"
    )
    shown = [
        repr(n) if len(n) < 60 else f"{n[:26]}...{n[-8:]} ({len(n.encode())} bytes)"
        for n in sorted(filed)
    ]
    figure("odd but valid photos filed as", ", ".join(shown))

    # Changed files are looked at again; the rest stay quiet.
    (inbox / "truncated.jpg").write_bytes(kit.jpeg(900, (64, 48)))
    with (inbox / "notes.jpg").open("ab") as fh:
        fh.write(b"bread\n")
    kit.wait_until(lambda: not (inbox / "truncated.jpg").exists(), 30, "repaired file", daemon.log)
    kit.wait_until(lambda: len(_logged(daemon, "notes.jpg")) == 2, 30, "changed file", daemon.log)
    for name in refused.keys() - {"truncated.jpg", "notes.jpg"}:
        assert len(_logged(daemon, name)) == 1, name
    assert daemon.stop() == 0


def _identity(path: Path) -> tuple[int, int, int, bytes | None]:
    st = os.lstat(path)
    content = None
    if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
        content = path.read_bytes()
    return (st.st_ino, st.st_size, st.st_mtime_ns, content)


def _logged(daemon: Any, name: str) -> list[str]:
    """Service log lines naming the file (by its full inbox path)."""
    needle = f"{daemon.folders.inbox / name}:"
    return [line for line in daemon.text().splitlines() if needle in line]
