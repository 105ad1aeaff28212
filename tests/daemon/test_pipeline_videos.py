"""Videos through the pipeline: a Live Photo's video travels with its photo (filed,
quarantined, restored and undone together); other videos are filed by their container's time and
never decoded or scored."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from photosieve.config import Config
from photosieve.daemon import pipeline
from photosieve.files.mover import Mover
from photosieve.files.undo import undo_since
from photosieve.quarantine.restore import restore
from photosieve.state import State

FIXTURES = Path(__file__).parents[1] / "fixtures" / "video"


@dataclasses.dataclass
class Counting:
    """A model that says discard to everything and counts the images it was shown."""

    version: str | None = "test-1"
    input_size: int = 75
    fit: str = "crop"
    threshold: float = 0.5
    seen: int = 0

    def score(self, pixels: np.ndarray) -> np.ndarray:
        self.seen += len(pixels)
        return np.ones(len(pixels))


def run(config: Config, state: State, classifier: Counting) -> list[pipeline.Photo]:
    pipe = pipeline.Pipeline(config, state, Mover(state, config.roots), classifier)  # type: ignore[arg-type]
    inbox = config.inboxes[0]
    return pipe.run([(p, inbox) for p in sorted(inbox.rglob("*")) if p.is_file()])


def test_phone_video_is_filed_by_its_header_and_never_scored(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    shutil.copy(FIXTURES / "phone.mp4", inbox / "VID_20230704_101500.mp4")
    model = Counting()
    (photo,) = run(config, state, model)
    assert model.seen == 0
    assert (photo.outcome, photo.decision, photo.reasons) == ("filed", "keep", ["video"])
    assert photo.taken is not None and photo.taken.source == "quicktime:CreateDate"
    # conftest pins TZ=UTC: the header's 08:15Z is 08:15 on the local wall clock
    expected = config.library.path / "2023/07/2023-07-04_08-15-00_VID_20230704_101500.mp4"  # type: ignore[operator]
    assert photo.result == expected
    assert expected.read_bytes() == (FIXTURES / "phone.mp4").read_bytes()
    record = state.get_file(expected)
    assert record is not None and record.status == "filed"


def test_a_file_that_is_no_video_is_left_with_a_reason(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    (inbox / "notes.mp4").write_bytes(b"shopping list\n")
    (photo,) = run(config, state, Counting())
    assert (photo.outcome, photo.reason) == ("skipped", "not a video (no container hachoir knows)")
    assert (inbox / "notes.mp4").read_bytes() == b"shopping list\n"


def test_videos_leave_keeps_them_in_the_inbox(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    shutil.copy(FIXTURES / "phone.mp4", inbox / "VID_1.mp4")
    leave = dataclasses.replace(config, videos="leave")
    (photo,) = run(leave, state, Counting())
    assert photo.outcome == "unsupported" and (inbox / "VID_1.mp4").exists()


def quarantine_pair(config: Config, state: State, make_photo: Callable[..., Path]) -> str:
    """A Live Photo pair dropped in the inbox and quarantined; returns the stamped stem."""
    inbox, quarantine = config.inboxes[0], config.quarantine.path
    make_photo(inbox / "IMG_1234.JPG", "2023:07:04 10:15:00", seed=4)
    shutil.copy(FIXTURES / "live.mov", inbox / "IMG_1234.MOV")
    photos = run(config, state, Counting())
    outcomes = sorted((p.path.name, p.outcome) for p in photos)
    assert outcomes == [("IMG_1234.JPG", "quarantined"), ("IMG_1234.MOV", "companion")]
    stem = "2023-07-04_10-15-00_IMG_1234"
    assert sorted(p.name for p in quarantine.iterdir()) == [f"{stem}.MOV", f"{stem}.jpg"]
    assert not list(inbox.iterdir())
    return stem


def test_live_photo_pair_is_quarantined_and_restored_together(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    stem = quarantine_pair(config, state, make_photo)
    (done,) = restore(config, state, [config.quarantine.path / f"{stem}.jpg"], source="restore")
    assert done.status == "restored" and done.target is not None
    assert sorted(p.name for p in done.target.parent.iterdir()) == [f"{stem}.MOV", f"{stem}.jpg"]
    assert (done.target.parent / f"{stem}.MOV").read_bytes() == (FIXTURES / "live.mov").read_bytes()
    assert not list(config.quarantine.path.iterdir())


def test_live_photo_pair_is_undone_together(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    quarantine_pair(config, state, make_photo)
    undo_since(config, state, 0.0, dry_run=False)
    inbox = config.inboxes[0]
    assert sorted(p.name for p in inbox.iterdir()) == ["IMG_1234.JPG", "IMG_1234.MOV"]
    assert (inbox / "IMG_1234.MOV").read_bytes() == (FIXTURES / "live.mov").read_bytes()
    assert not list(config.quarantine.path.iterdir())
