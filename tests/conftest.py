"""Shared fixtures: a pinned time zone, isolated XDG folders, photos generated in code."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No test may read or write the real user's config, data or trash."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("PHOTOSIEVE_CONFIG", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    yield home


def _photo_bytes(taken: str | None, seed: int, size: tuple[int, int], fmt: str) -> bytes:
    """A small, unique photo (noise seeded by `seed`) with EXIF DateTimeOriginal `taken`."""
    import io

    import numpy as np
    from PIL import ExifTags, Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    exif = Image.Exif()
    if taken is not None:
        exif[ExifTags.Base.Make] = "TestCam"
        exif[ExifTags.Base.Model] = "T1"
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    buf = io.BytesIO()
    image.save(buf, format=fmt, exif=exif.tobytes() if taken else b"")
    return buf.getvalue()


@pytest.fixture
def make_photo() -> object:
    """make_photo(path, taken="2024:05:03 14:22:10", seed=0, size=(96, 64), fmt="JPEG") -> path."""

    def make(
        path: Path,
        taken: str | None = "2024:05:03 14:22:10",
        seed: int = 0,
        size: tuple[int, int] = (96, 64),
        fmt: str = "JPEG",
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_photo_bytes(taken, seed, size, fmt))
        return path

    make.bytes = _photo_bytes  # type: ignore[attr-defined]
    return make
