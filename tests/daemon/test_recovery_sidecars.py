"""A restart after a kill between a photo's move and its sidecars': the photo gets its row and
the sidecars left behind follow it, renamed as the move would have renamed them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from photosieve.config import Config
from photosieve.daemon.recovery import record_finished_moves
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.state import State


def test_sidecars_left_by_a_kill_follow_their_photo_at_the_next_start(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    inbox = config.inboxes[0]
    photo = make_photo(inbox / "IMG_1.jpg", seed=3)
    cars = [inbox / "IMG_1.xmp", inbox / "IMG_1.jpg.aae"]
    for car in cars:
        car.write_text(car.name)
    other = inbox / "IMG_2.xmp"  # another photo's sidecar stays where it is
    other.write_text("not ours")
    assert config.library.path is not None
    dst_dir = config.library.path / "2024" / "05"
    moved = Mover(state, roots=config.roots).move(
        photo, dst_dir, "2024-05-03_14-22-10_IMG_1.jpg", kind="file", sha256=sha256_file(photo)
    )  # ... and the service was killed here, before the sidecars and the row
    assert moved.status == "moved" and moved.dst is not None
    assert record_finished_moves(state, config) == 1
    record = state.get_file(moved.dst)
    assert record is not None and record.status == "filed"
    assert (dst_dir / "2024-05-03_14-22-10_IMG_1.xmp").read_text() == "IMG_1.xmp"
    assert (dst_dir / "2024-05-03_14-22-10_IMG_1.jpg.aae").read_text() == "IMG_1.jpg.aae"
    assert sorted(p.name for p in inbox.iterdir()) == ["IMG_2.xmp"]
    assert record_finished_moves(state, config) == 0
