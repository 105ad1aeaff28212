"""`photosieve status`: the files left in place, with their reasons, and how many more."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from photosieve.config import load_config
from photosieve.state import State


def test_status_says_how_many_left_in_place_it_does_not_list(
    tmp_path: Path, write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    """status lists the newest 50 of each state. On the test images of exiftool, Exiv2 and
    Pillow 90 were skipped; the list stopped at 50 without a word, so 40 skipped files had no
    reason anywhere in status (only the count, 90, at the top)."""
    config_file = write_config(tmp_path / "config.yaml")
    state = State(load_config(config_file, required=True).db_path)
    for n in range(53):
        state.put_file(
            tmp_path / "inbox" / f"bad{n}.jpg",
            size=1,
            mtime_ns=n,
            status="skipped",
            reason="truncated",
        )
    state.put_file(
        tmp_path / "inbox" / "a.gif",
        size=1,
        mtime_ns=0,
        status="unsupported",
        reason="not a supported photo format",
    )
    state.close()
    lines = cli(config_file, "status").output.splitlines()
    assert sum(line.endswith(": truncated (skipped)") for line in lines) == 50
    assert "  ... and 3 more skipped" in lines
    assert not any("more unsupported" in line for line in lines)
