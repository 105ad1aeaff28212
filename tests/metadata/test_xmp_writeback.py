"""The XMP write-back through the real pipeline, restore, review and undo: the sidecar is
written before the move group is planned, travels with its photo, and the photo's bytes never
change; after an undo it says where its photo is (rejected in the quarantine, not elsewhere),
read back by exiftool where it is installed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_xmp_cli_e2e import exiftool_xmp  # exiftool's reading, beside this file

from photosieve.config import Config, MetadataConfig
from photosieve.daemon import pipeline
from photosieve.files.mover import Mover
from photosieve.files.plan import DryRunMover
from photosieve.files.undo import undo_since
from photosieve.labeler.review import Verdict, apply_review
from photosieve.metadata import xmp_sidecar as xs
from photosieve.quarantine.restore import restore
from photosieve.state import State

OWNER = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
    b'rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="2"><dc:subject><rdf:Bag>'
    b"<rdf:li>cats</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
)


@dataclasses.dataclass
class Verdicts:
    """A model that discards every photo, with score 0.9."""

    version: str | None = "v7"
    input_size: int = 75
    fit: str = "crop"
    threshold: float = 0.5

    def score(self, pixels: np.ndarray) -> np.ndarray:
        return np.full(len(pixels), 0.9)


@pytest.fixture
def on(config: Config) -> Config:
    return dataclasses.replace(config, metadata=MetadataConfig(write_xmp="sidecar"))


def run(config: Config, state: State, *, record: bool = True) -> list[pipeline.Photo]:
    """The pipeline over the inbox (a dry run as `scan --dry-run` makes it); the photos only."""
    mover = Mover(state, config.roots) if record else DryRunMover(state, config.roots)
    model: object = Verdicts()
    pipe = pipeline.Pipeline(config, state, mover, model, record_state=record)  # type: ignore[arg-type]
    inbox = config.inboxes[0]
    photos = pipe.run([(p, inbox) for p in sorted(inbox.rglob("*")) if p.is_file()])
    return [p for p in photos if p.path.suffix == ".jpg"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rating(car: Path) -> str | None:
    return xs.value(car.read_bytes(), xs.RATING)


def quarantine_one(on: Config, state: State, make_photo: Callable[..., Path]) -> tuple[Path, str]:
    src = make_photo(on.inboxes[0] / "IMG_1.jpg", "2024:05:03 14:22:10", seed=2)
    before = digest(src)
    (photo,) = run(on, state)
    assert photo.outcome == "quarantined" and photo.result is not None
    return photo.result, before


def test_quarantine_writes_a_rejection_beside_the_photo(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    result, before = quarantine_one(on, state, make_photo)
    car = result.with_name(result.name + ".xmp")
    assert digest(result) == before  # the photo's bytes never change
    assert rating(car) == "-1"
    assert xs.value(car.read_bytes(), xs.SCORE) == "0.900"
    assert xs.value(car.read_bytes(), xs.MODEL) == "v7"
    assert sorted(p.name for p in on.quarantine.path.iterdir()) == [result.name, car.name]
    assert not [p for p in on.inboxes[0].iterdir()]  # no temp file left behind


def test_off_by_default_and_in_dry_runs(
    config: Config, on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    make_photo(config.inboxes[0] / "IMG_1.jpg", seed=2)
    (photo,) = run(on, state, record=False)  # a dry run with write_xmp on: nothing written
    assert not list(config.inboxes[0].glob("*.xmp"))
    (photo,) = run(config, state)
    assert photo.outcome == "quarantined"
    assert not list(config.quarantine.path.glob("*.xmp"))


def test_owner_sidecar_is_merged_and_restore_gives_the_rating_back(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    (on.inboxes[0] / "IMG_1.jpg.xmp").write_bytes(OWNER)
    result, before = quarantine_one(on, state, make_photo)
    car = result.with_name(result.name + ".xmp")
    assert rating(car) == "-1" and b"cats" in car.read_bytes()
    (done,) = restore(on, state, [result], source="restore")
    assert done.status == "restored" and done.target is not None
    back = done.target.with_name(done.target.name + ".xmp")
    assert digest(done.target) == before
    assert (
        rating(back) == "2"
        and b"cats" in back.read_bytes()
        and b"photosieve" not in back.read_bytes()
    )
    assert not list(on.quarantine.path.iterdir())


def test_review_keep_clears_the_rejection(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    result, _ = quarantine_one(on, state, make_photo)
    record = state.get_file(result)
    assert record is not None and record.sha256 is not None
    (outcome,) = apply_review(on, state, [Verdict(record.sha256, result, "keep")])
    assert outcome.status == "restored" and outcome.target is not None
    back = outcome.target.with_name(outcome.target.name + ".xmp")
    assert rating(back) is None and b"photosieve" not in back.read_bytes()


def test_undo_takes_the_sidecar_back_with_its_photo(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    (on.inboxes[0] / "IMG_1.jpg.xmp").write_bytes(OWNER)
    quarantine_one(on, state, make_photo)
    undo_since(on, state, 0.0, dry_run=False)
    assert sorted(p.name for p in on.inboxes[0].iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]
    assert not list(on.quarantine.path.iterdir())
    back = (on.inboxes[0] / "IMG_1.jpg.xmp").read_bytes()  # undecided again: the owner's own
    assert xs.value(back, xs.RATING) == "2" and b"cats" in back and b"photosieve" not in back


def test_undoing_a_restore_marks_the_sidecar_rejected_again(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    (on.inboxes[0] / "IMG_1.jpg.xmp").write_bytes(OWNER)
    result, before = quarantine_one(on, state, make_photo)
    car = result.with_name(result.name + ".xmp")
    marked = car.read_bytes()
    restored_at = time.time()
    (done,) = restore(on, state, [result], source="restore")
    assert (
        done.target is not None and rating(done.target.with_name(done.target.name + ".xmp")) == "2"
    )
    undone = undo_since(on, state, restored_at, dry_run=False)
    assert (done.target, result) in undone  # only the restore was undone
    assert sorted(p.name for p in on.quarantine.path.iterdir()) == [result.name, car.name]
    assert digest(result) == before
    back = car.read_bytes()
    # Quarantined again: rejected again, with the recorded decision, the owner's data merged.
    assert xs.value(back, xs.RATING) == "-1" and xs.value(back, xs.PICK_LABEL) == "1"
    assert xs.value(back, xs.SCORE) == "0.900" and xs.value(back, xs.MODEL) == "v7"
    assert xs.value(back, f"{xs._OURS}PriorRating") == "2" and b"cats" in back
    assert back == marked  # the same mark as the quarantine first wrote
    read_back = exiftool_xmp(car)
    if read_back is not None:  # exiftool where installed; our own reader above everywhere
        assert read_back["XMP-xmp:Rating"] == -1
        assert read_back["XMP-digiKam:PickLabel"] == 1
        assert read_back["XMP-photosieve:Decision"] == "discard"
        assert read_back["XMP-photosieve:PriorRating"] == 2
        assert read_back["XMP-dc:Subject"] == "cats"
    # Undoing the quarantine move too: back in the inbox, undecided, the owner's rating again.
    undo_since(on, state, 0.0, dry_run=False)
    inbox_car = on.inboxes[0] / "IMG_1.jpg.xmp"
    assert sorted(p.name for p in on.inboxes[0].iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]
    assert rating(inbox_car) == "2" and b"photosieve" not in inbox_car.read_bytes()
    read_back = exiftool_xmp(inbox_car)
    if read_back is not None:
        assert read_back["XMP-xmp:Rating"] == 2 and read_back["XMP-dc:Subject"] == "cats"
        assert not [key for key in read_back if key.startswith("XMP-photosieve:")]


def test_undoing_restore_and_quarantine_at_once_leaves_the_owners_sidecar(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    (on.inboxes[0] / "IMG_1.jpg.xmp").write_bytes(OWNER)
    result, _ = quarantine_one(on, state, make_photo)
    restore(on, state, [result], source="restore")
    undo_since(on, state, 0.0, dry_run=False)  # both moves, newest first, in one run
    assert sorted(p.name for p in on.inboxes[0].iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]
    assert not list(on.quarantine.path.iterdir())
    back = (on.inboxes[0] / "IMG_1.jpg.xmp").read_bytes()
    assert xs.value(back, xs.RATING) == "2" and b"photosieve" not in back
    row = state.get_file(on.inboxes[0] / "IMG_1.jpg")
    assert row is not None and row.status == "undone"
    assert state.get_file(result) is None  # no row left where the photo only passed through


def test_undo_with_write_back_off_leaves_sidecars_alone(
    config: Config, on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    result, _ = quarantine_one(on, state, make_photo)
    car = result.with_name(result.name + ".xmp")
    restored_at = time.time()
    (done,) = restore(on, state, [result], source="restore")
    assert done.target is not None
    kept = done.target.with_name(done.target.name + ".xmp").read_bytes()
    undo_since(config, state, restored_at, dry_run=False)  # the owner has turned it off since
    assert car.read_bytes() == kept and rating(car) is None


def test_an_unreadable_sidecar_is_left_as_it_was_and_still_travels(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    (on.inboxes[0] / "IMG_1.jpg.xmp").write_bytes(b"<not xmp")
    result, _ = quarantine_one(on, state, make_photo)
    assert result.with_name(result.name + ".xmp").read_bytes() == b"<not xmp"


def test_a_failed_write_leaves_the_old_sidecar_and_no_temp(
    on: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    photo = folder / "IMG_2.jpg"
    photo.write_bytes(b"photo")
    car = folder / "IMG_2.jpg.xmp"
    car.write_bytes(OWNER)

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    assert xs.sync(on, photo, [car], "discard", score=0.9) == [car]
    assert car.read_bytes() == OWNER
    assert sorted(p.name for p in folder.iterdir()) == ["IMG_2.jpg", "IMG_2.jpg.xmp"]


def test_a_photo_moved_out_of_the_quarantine_by_hand_loses_the_rejection(
    on: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    from photosieve.quarantine.reconcile import reconcile

    (on.inboxes[0] / "IMG_1.jpg.xmp").write_bytes(OWNER)
    result, _ = quarantine_one(on, state, make_photo)
    assert reconcile(on, state).findings == []  # seen in place: the quarantine is vouched for
    assert on.library.path is not None
    mine = on.library.path / "mine"
    mine.mkdir()
    for path in (result, result.with_name(result.name + ".xmp")):
        shutil.move(path, mine / path.name)  # the owner, in a file manager, photo and sidecar
    (finding,) = reconcile(on, state).findings
    assert finding.verdict == "kept"
    back = (mine / (result.name + ".xmp")).read_bytes()
    assert xs.value(back, xs.RATING) == "2" and b"photosieve" not in back
