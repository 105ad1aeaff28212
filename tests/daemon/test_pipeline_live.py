"""Live Photos through `Pipeline.run`: Apple's content identifier decides a pair where both
halves carry one, and a video whose still is left in the inbox waits with it, recorded with a
reason `photosieve status` shows, until the still is fixed (they move together) or gone (the
video is filed alone)."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result

from photosieve.config import Config
from photosieve.daemon import pipeline
from photosieve.files.mover import Mover
from photosieve.state import State

FIXTURES = Path(__file__).parents[1] / "fixtures" / "video"
UUID = "5B8E9A7C-2D4F-4E61-9A3B-0C1D2E3F4A5B"  # in live_id.mov
OTHER = "0F1E2D3C-4B5A-4968-8776-655443322110"
STEM = "2023-07-04_10-15-00_IMG_1"


@dataclasses.dataclass
class Discards:
    """A model that says discard to every photo (videos are never scored: they are kept)."""

    version: str | None = "test-1"
    input_size: int = 75
    fit: str = "crop"
    threshold: float = 0.5

    def score(self, pixels: np.ndarray) -> np.ndarray:
        return np.ones(len(pixels))


def run(config: Config, state: State) -> dict[str, pipeline.Photo]:
    """One pass over every file in the inbox, as a scan hands them over; outcomes by name."""
    pipe = pipeline.Pipeline(config, state, Mover(state, config.roots), Discards())  # type: ignore[arg-type]
    inbox = config.inboxes[0]
    photos = pipe.run([(p, inbox) for p in sorted(inbox.iterdir()) if p.is_file()])
    return {p.path.name: p for p in photos}


def drop(config: Config, make_photo: Callable[..., Path], still_id: str | None) -> Path:
    """IMG_1.JPG (identifier `still_id`) and live_id.mov as IMG_1.MOV in the inbox."""
    inbox = config.inboxes[0]
    shutil.copy(FIXTURES / "live_id.mov", inbox / "IMG_1.MOV")
    return make_photo(inbox / "IMG_1.JPG", "2023:07:04 10:15:00", seed=4, content_id=still_id)


@pytest.mark.parametrize("still_id", [UUID, None])
def test_matching_or_missing_identifiers_keep_the_pair_together(
    config: Config, state: State, make_photo: Callable[..., Path], still_id: str | None
) -> None:
    drop(config, make_photo, still_id)
    done = run(config, state)
    assert (done["IMG_1.JPG"].outcome, done["IMG_1.MOV"].outcome) == ("quarantined", "companion")
    assert sorted(p.name for p in config.quarantine.path.iterdir()) == [
        f"{STEM}.MOV",
        f"{STEM}.jpg",
    ]
    assert not list(config.inboxes[0].iterdir())


def test_different_identifiers_file_the_video_on_its_own(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    drop(config, make_photo, OTHER)
    done = run(config, state)
    assert done["IMG_1.JPG"].outcome == "quarantined"
    assert (done["IMG_1.MOV"].outcome, done["IMG_1.MOV"].reasons) == ("filed", ["video"])
    assert sorted(p.name for p in config.quarantine.path.iterdir()) == [f"{STEM}.jpg"]
    filed = config.library.path / "2023/07" / f"{STEM}.mov"  # type: ignore[operator]
    assert done["IMG_1.MOV"].result == filed
    assert filed.read_bytes() == (FIXTURES / "live_id.mov").read_bytes()
    assert not list(config.inboxes[0].iterdir())


def broken_still(config: Config) -> Path:
    """A Live Photo whose still cannot be decoded: it stays, and so does its video."""
    inbox = config.inboxes[0]
    shutil.copy(FIXTURES / "live_id.mov", inbox / "IMG_1.MOV")
    still = inbox / "IMG_1.JPG"
    still.write_bytes(b"\xff\xd8\xff\xe0garbage")
    return still


def test_a_video_whose_still_is_refused_waits_with_a_reason(
    config: Config,
    state: State,
    cli: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken_still(config)
    inbox = config.inboxes[0]
    done = run(config, state)
    still, clip = done["IMG_1.JPG"], done["IMG_1.MOV"]
    assert still.outcome == "skipped" and still.reason
    reason = f"waits with IMG_1.JPG (skipped: {still.reason})"
    assert (clip.outcome, clip.reason) == ("waiting", reason)
    row = state.get_file(inbox / "IMG_1.MOV")
    assert row is not None and (row.status, row.reason) == ("waiting", reason)
    assert sorted(p.name for p in inbox.iterdir()) == ["IMG_1.JPG", "IMG_1.MOV"]
    shown = cli(config.inboxes[0].parent / "photosieve.yaml", "status").output
    assert f"{inbox / 'IMG_1.MOV'}: {reason} (waiting)" in shown
    # A rescan offers the waiting video again (its still may have gone); nothing new: silence.
    assert set(state.known_files(inbox)) == {str(inbox / "IMG_1.JPG")}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="photosieve"):
        again = run(config, state)
    assert {name: p.outcome for name, p in again.items()} == {
        "IMG_1.JPG": "unchanged",
        "IMG_1.MOV": "unchanged",
    }
    assert [r.getMessage() for r in caplog.records] == []  # not even the still's bad metadata


def test_a_fixed_still_takes_its_waiting_video_along(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    still = broken_still(config)
    run(config, state)
    make_photo(still, "2023:07:04 10:15:00", seed=4, content_id=UUID)  # the owner fixes it
    done = run(config, state)
    assert (done["IMG_1.JPG"].outcome, done["IMG_1.MOV"].outcome) == ("quarantined", "companion")
    assert sorted(p.name for p in config.quarantine.path.iterdir()) == [
        f"{STEM}.MOV",
        f"{STEM}.jpg",
    ]
    assert state.get_file(config.inboxes[0] / "IMG_1.MOV") is None  # no stale 'waiting' row
    assert "waiting" not in state.counts_by_status()


def test_a_video_whose_still_is_gone_is_filed_alone(config: Config, state: State) -> None:
    still = broken_still(config)
    run(config, state)
    still.unlink()  # the owner deletes the broken still
    done = run(config, state)
    assert done["IMG_1.MOV"].outcome == "filed"
    assert not list(config.inboxes[0].iterdir())
    assert state.counts_by_status().get("waiting") is None


def test_a_video_arriving_after_its_refused_still_gets_the_stills_recorded_reason(
    config: Config, state: State
) -> None:
    inbox = config.inboxes[0]
    (inbox / "IMG_1.JPG").write_bytes(b"\xff\xd8\xff\xe0garbage")
    (still,) = run(config, state).values()
    assert still.outcome == "skipped"
    shutil.copy(FIXTURES / "live_id.mov", inbox / "IMG_1.MOV")  # synced minutes later
    done = run(config, state)
    assert done["IMG_1.JPG"].outcome == "unchanged"  # its reason comes from its row
    assert (done["IMG_1.MOV"].outcome, done["IMG_1.MOV"].reason) == (
        "waiting",
        f"waits with IMG_1.JPG (skipped: {still.reason})",
    )
