"""libnoise: Pillow's warnings and log records reach photosieve's log with the path of the file
the raising thread reads, whichever thread that is; other warnings keep Python's display."""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

import pytest

from photosieve import libnoise

PILLOW_FILE = "/venv/site-packages/PIL/TiffImagePlugin.py"
PILLOW_REGISTRY: dict[object, object] = {}  # as the plugin module's __warningregistry__


def _pillow_warns(text: str) -> None:
    """A UserWarning as Pillow's TIFF plugin raises one (stacklevel 1: its own file)."""
    warnings.warn_explicit(
        text, UserWarning, PILLOW_FILE, 1, module="PIL.TiffImagePlugin", registry=PILLOW_REGISTRY
    )


def test_each_thread_collects_its_own_files_noise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two decode threads inside `attributed` at the same time, each warned at and logged to by
    Pillow in turn: every message lands on the thread's own file, none on the other's."""
    libnoise.install()
    both_inside = threading.Barrier(2)
    collected: dict[str, list[str]] = {}

    def decode(name: str) -> None:
        with libnoise.attributed(tmp_path / name) as noise:
            both_inside.wait()
            for n in range(3):
                _pillow_warns(f"warning {n} of {name}")
                logging.getLogger("PIL.TiffImagePlugin").error("error of %s", name)
            both_inside.wait()
        collected[name] = noise

    threads = [threading.Thread(target=decode, args=(name,)) for name in ("a.tif", "b.tif")]
    with caplog.at_level(logging.DEBUG):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for name in ("a.tif", "b.tif"):
        # Pillow's error first, then each warning once (the error repeats: kept once)
        warned = [f"warning {n} of {name}" for n in range(3)]
        assert collected[name] == [f"error of {name}", *warned]
    lines = [r.getMessage() for r in caplog.records if r.name == "photosieve.decode"]
    assert len(lines) == 12
    assert all(line.startswith(f"Pillow on {tmp_path}/") for line in lines)
    assert all(line.rsplit(" ", 1)[-1] in line.split(":", 1)[0] for line in lines)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_every_occurrence_is_noted_not_once_per_text(tmp_path: Path) -> None:
    """Python shows a warning text once per place by default; each may concern another file."""
    for name in ("a.jpg", "b.jpg"):
        with libnoise.attributed(tmp_path / name) as noise:
            _pillow_warns("Corrupt EXIF data.")
        assert noise == ["Corrupt EXIF data."]


def test_outside_a_read_pillow_goes_to_debug_and_others_to_python(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG), pytest.warns(UserWarning, match="not Pillow's"):
        libnoise.install()  # pytest.warns put Python's display back
        _pillow_warns("Truncated File Read")
        logging.getLogger("PIL.PngImagePlugin").warning("Invalid APNG")
        logging.getLogger("PIL.PngImagePlugin").debug("STREAM b'IHDR'")  # tracing: dropped
        warnings.warn("not Pillow's", UserWarning, stacklevel=1)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("photosieve.decode", logging.DEBUG, "Pillow: Truncated File Read"),
        ("photosieve.decode", logging.DEBUG, "Pillow: Invalid APNG"),
    ]


def test_a_long_or_repeated_message_is_bounded(tmp_path: Path) -> None:
    with libnoise.attributed(tmp_path / "fuzz.tif") as noise:
        _pillow_warns("x" * 5000)
        for tag in range(100):
            _pillow_warns(f"Tag data larger than file. Skipping tag {tag}")
    assert len(noise) == libnoise.MAX_MESSAGES
    assert noise[0] == "x" * libnoise.MAX_MESSAGE_CHARS
