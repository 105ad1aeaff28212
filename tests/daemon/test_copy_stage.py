"""The copy stage in the pipeline, on real files: a worse copy goes to the quarantine with the
reason naming the library copy; a better new copy takes the old one's place (the old one
quarantined through the journaled mover); the owner taking a copy back out of the quarantine,
by restore or by hand, records "not a copy" and the pair is never proposed again; a model that
embeds has the last word on a pair the pixels call copies (at its own copy floor, if its
model.json records one), unless embedding fails."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import ExifTags, Image, ImageDraw, ImageFilter

from photosieve.cli import group
from photosieve.config import Config
from photosieve.daemon import pipeline
from photosieve.daemon.service import Service
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.files.plan import DryRunMover
from photosieve.model.contract import KeepAll
from photosieve.quarantine import reconcile, restore
from photosieve.state import FileState, State


def _scene(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (800, 600), tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        x, y = rng.integers(0, 800), rng.integers(0, 600)
        rx, ry = rng.integers(6, 80, 2)
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=tuple(rng.integers(30, 230, 3)))
    return img.filter(ImageFilter.GaussianBlur(0.8))


def _original(path: Path, seed: int = 1) -> Path:
    """The camera's photo: 800x600, EXIF camera and capture time."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Acme", "One"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:03 14:22:10"
    path.parent.mkdir(parents=True, exist_ok=True)
    _scene(seed).save(path, "JPEG", quality=92, exif=exif.tobytes())
    return path


def _messenger_copy(path: Path, seed: int = 1) -> Path:
    """The same photo sent through a messenger: 400x300, recompressed, EXIF stripped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _scene(seed).resize((400, 300), Image.Resampling.LANCZOS).save(path, "JPEG", quality=60)
    return path


def run(config: Config, state: State, model: KeepAll | None = None) -> list[pipeline.Photo]:
    mover = Mover(state, roots=config.roots)
    pipe = pipeline.Pipeline(config, state, mover, model or KeepAll(75))
    inbox = config.inboxes[0]
    return pipe.run([(p, inbox) for p in sorted(inbox.rglob("*.jpg"))])


def run_one(config: Config, state: State, path: Path) -> list[pipeline.Photo]:
    """Run the inbox, which now holds `path` (and nothing else new)."""
    assert path.exists()
    return run(config, state)


def test_a_worse_copy_goes_to_the_quarantine_with_the_library_path(
    config: Config, state: State
) -> None:
    inbox = config.inboxes[0]
    (first,) = run_one(config, state, _original(inbox / "IMG_1.jpg"))
    assert first.outcome == FileState.FILED and first.result is not None
    copy = _messenger_copy(inbox / "IMG-20240601-WA0001.jpg")
    (photo,) = run(config, state)
    assert photo.outcome == FileState.QUARANTINED
    assert f"copy of {first.result}" in photo.reasons
    assert not copy.exists() and first.result.exists()
    assert photo.result is not None and photo.result.is_relative_to(config.quarantine.path)
    stored = state.copyprint(sha256_file(photo.result))
    assert stored is not None and stored.copy_of == sha256_file(first.result)


def test_a_distinct_photo_is_filed_beside_the_library(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    run_one(config, state, _original(inbox / "IMG_1.jpg", seed=1))
    (photo,) = run_one(config, state, _messenger_copy(inbox / "IMG_2.jpg", seed=2))
    assert photo.outcome == FileState.FILED
    assert not any(r.startswith("copy of") for r in photo.reasons)


def test_a_better_new_copy_takes_the_old_ones_place(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    (old,) = run_one(config, state, _messenger_copy(inbox / "IMG-WA0001.jpg"))
    assert old.outcome == FileState.FILED and old.result is not None
    old_sha = sha256_file(old.result)
    (new,) = run_one(config, state, _original(inbox / "IMG_1.jpg"))
    assert new.outcome == FileState.FILED and new.result is not None and new.result.exists()
    assert not old.result.exists()
    (row,) = state.find_by_hash(old_sha, (FileState.QUARANTINED,))
    assert Path(row.path).is_relative_to(config.quarantine.path) and Path(row.path).exists()
    assert row.reason == f"copy of {new.result}"
    moves = state.execute("SELECT src, dst, kind, state FROM moves ORDER BY id").fetchall()
    assert (str(old.result), row.path, "quarantine", "done") in [tuple(m) for m in moves]
    stored = state.copyprint(old_sha)
    assert stored is not None and stored.copy_of == sha256_file(new.result)


def test_a_copy_restored_by_the_owner_is_never_proposed_again(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    (first,) = run_one(config, state, _original(inbox / "IMG_1.jpg"))
    (copy,) = run_one(config, state, _messenger_copy(inbox / "IMG-WA0001.jpg"))
    assert copy.result is not None and first.result is not None
    copy_sha, first_sha = sha256_file(copy.result), sha256_file(first.result)
    (done,) = restore.restore(config, state, [copy.result], source="restore")
    assert done.status == "restored" and done.target is not None
    assert state.is_not_copy(copy_sha, first_sha) and state.is_not_copy(first_sha, copy_sha)
    # The owner moves it back into the inbox by hand; without the keep label (so only the
    # "not a copy" memory can spare it) it is filed, not proposed again.
    state.delete_label(copy_sha)
    os.rename(done.target, inbox / "again.jpg")
    (again,) = run(config, state)
    assert again.outcome == FileState.FILED
    assert not any(r.startswith("copy of") for r in again.reasons)


def test_a_copy_taken_out_by_hand_records_not_a_copy(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    (first,) = run_one(config, state, _original(inbox / "IMG_1.jpg"))
    (copy,) = run_one(config, state, _messenger_copy(inbox / "IMG-WA0001.jpg"))
    assert copy.result is not None and first.result is not None
    assert not reconcile.reconcile(config, state).paused  # the quarantine is vouched for
    assert config.library.path is not None
    kept = config.library.path / "mine.jpg"
    os.rename(copy.result, kept)
    findings = reconcile.reconcile(config, state).findings
    assert [(f.verdict, f.found) for f in findings] == [("kept", kept)]
    assert state.is_not_copy(sha256_file(kept), sha256_file(first.result))


def test_two_copies_in_one_batch_the_worse_waits_a_pass(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    _messenger_copy(inbox / "a-copy.jpg")  # first in the batch, and the worse one
    _original(inbox / "b-original.jpg")
    by_name = {p.path.name: p for p in run(config, state)}
    original, copy = by_name["b-original.jpg"], by_name["a-copy.jpg"]
    assert original.outcome == FileState.FILED and original.result is not None
    assert copy.outcome == "pending" and copy.reason is not None
    assert "b-original.jpg" in copy.reason and copy.path.exists() and copy.again
    assert not original.again
    (again,) = run(config, state)
    assert again.outcome == FileState.QUARANTINED
    assert f"copy of {original.result}" in again.reasons and not copy.path.exists()


def test_a_dry_run_plans_the_displacement_and_moves_nothing(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    (old,) = run_one(config, state, _messenger_copy(inbox / "IMG-WA0001.jpg"))
    assert old.result is not None
    new = _original(inbox / "IMG_1.jpg")
    before = state.execute("SELECT COUNT(*) FROM moves").fetchone()[0]
    dry = pipeline.Pipeline(
        config, state, DryRunMover(state, config.roots), KeepAll(75), record_state=False
    )
    (photo,) = dry.run([(new, inbox)])
    assert photo.displaces == str(old.result) and photo.outcome == FileState.FILED
    assert new.exists() and old.result.exists()
    assert state.execute("SELECT COUNT(*) FROM moves").fetchone()[0] == before
    assert state.copyprint(sha256_file(new)) is None


@dataclass
class Embeds(KeepAll):
    """A stand-in model that embeds: every pair it is asked about gets `vectors` (or, with
    `fails`, the runtime's error); it keeps the shape of each batch it was given."""

    vectors: tuple[tuple[float, ...], ...] = ((1.0, 0.0), (1.0, 0.0))
    fails: bool = False
    embeds: bool = True
    batches: list[tuple[int, ...]] = field(default_factory=list)

    def embed(self, pixels: np.ndarray) -> np.ndarray | None:
        self.batches.append(pixels.shape)
        if self.fails:
            raise RuntimeError("the interpreter failed")
        return np.array(self.vectors, np.float32)


def _library_then_copy(config: Config, state: State, model: Embeds) -> pipeline.Photo:
    inbox = config.inboxes[0]
    (first,) = run_one(config, state, _original(inbox / "IMG_1.jpg"))
    assert first.outcome == FileState.FILED
    _messenger_copy(inbox / "IMG-WA0001.jpg")
    (photo,) = run(config, state, model)
    return photo


def test_embeddings_that_disagree_overrule_the_pixels(config: Config, state: State) -> None:
    model = Embeds("stand-in", 64, vectors=((1.0, 0.0), (0.0, 1.0)))
    photo = _library_then_copy(config, state, model)
    assert photo.outcome == FileState.FILED
    assert not any(r.startswith("copy of") for r in photo.reasons)
    assert model.batches == [(2, 64, 64, 3)]  # the pair, decoded at the model's input size


def test_embeddings_that_agree_confirm_the_copy(config: Config, state: State) -> None:
    model = Embeds("stand-in", 64, vectors=((0.6, 0.8), (1.2, 1.6)))  # one direction, any length
    photo = _library_then_copy(config, state, model)
    assert photo.outcome == FileState.QUARANTINED
    assert any(r.startswith("copy of") for r in photo.reasons)
    assert model.batches == [(2, 64, 64, 3)]


@pytest.mark.parametrize(
    ("floor", "copy"),
    [
        (None, False),  # no floor recorded: MIN_EMBED_COSINE (0.7) vetoes a cosine of 0.6
        (0.55, True),  # the model's own floor lets it through
        (0.65, False),
    ],
)
def test_the_models_own_floor_decides(
    config: Config, state: State, floor: float | None, copy: bool
) -> None:
    model = Embeds("stand-in", 64, vectors=((1.0, 0.0), (0.6, 0.8)), copy_floor=floor)
    photo = _library_then_copy(config, state, model)
    assert photo.outcome == (FileState.QUARANTINED if copy else FileState.FILED)
    assert any(r.startswith("copy of") for r in photo.reasons) is copy
    assert model.batches == [(2, 64, 64, 3)]


def test_a_floor_above_a_pairs_cosine_vetoes_it(config: Config, state: State) -> None:
    model = Embeds("stand-in", 64, vectors=((1.0, 0.0), (0.8, 0.6)), copy_floor=0.9)
    photo = _library_then_copy(config, state, model)  # 0.8 passes 0.7, not the model's 0.9
    assert photo.outcome == FileState.FILED


def test_a_failed_embedding_leaves_the_pixels_verdict(
    config: Config, state: State, caplog: pytest.LogCaptureFixture
) -> None:
    model = Embeds("stand-in", 64, fails=True)
    with caplog.at_level(logging.DEBUG, logger="photosieve.daemon.copy_stage"):
        photo = _library_then_copy(config, state, model)
    assert photo.outcome == FileState.QUARANTINED
    assert any(r.startswith("copy of") for r in photo.reasons)
    (record,) = [r for r in caplog.records if "interpreter failed" in r.getMessage()]
    assert record.levelno == logging.DEBUG


def test_a_model_without_the_embedding_is_never_asked(config: Config, state: State) -> None:
    model = Embeds("stand-in", 64, vectors=((1.0, 0.0), (0.0, 1.0)), embeds=False)
    photo = _library_then_copy(config, state, model)
    assert photo.outcome == FileState.QUARANTINED and model.batches == []


def test_within_a_batch_disagreeing_embeddings_keep_both(config: Config, state: State) -> None:
    inbox = config.inboxes[0]
    _messenger_copy(inbox / "a-copy.jpg")
    _original(inbox / "b-original.jpg")
    model = Embeds("stand-in", 64, vectors=((1.0, 0.0), (0.0, 1.0)))
    photos = run(config, state, model)
    assert [p.outcome for p in photos] == [FileState.FILED, FileState.FILED]
    assert model.batches == [(2, 64, 64, 3)]


def _written_long_ago(folder: Path) -> None:
    """Files settled an hour ago: the settle gate lets them through at its second look."""
    for path in folder.iterdir():
        os.utime(path, (time.time() - 3600, time.time() - 3600))


def test_one_scan_files_the_better_copy_and_quarantines_the_worse(config: Config) -> None:
    """`photosieve scan` offers the worse copy again once its batch is filed: one scan leaves
    nothing pending in the inbox, and the tally counts each photo once, as it ended."""
    inbox = config.inboxes[0]
    copy = _messenger_copy(inbox / "a-copy.jpg")
    copy_bytes = copy.read_bytes()
    _original(inbox / "b-original.jpg")
    _written_long_ago(inbox)
    assert config.source is not None
    args = ["--config", str(config.source), "scan", str(inbox)]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 0, result.output
    counts = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert counts == {"filed": "1", "quarantined": "1"}
    assert not copy.exists() and not any(inbox.iterdir())
    (quarantined,) = config.quarantine.path.rglob("*.jpg")
    assert quarantined.stat().st_size == len(copy_bytes)


def test_the_service_offers_the_worse_copy_again_after_its_batch(config: Config) -> None:
    inbox = config.inboxes[0]
    copy = _messenger_copy(inbox / "a-copy.jpg")
    original = _original(inbox / "b-original.jpg")
    _written_long_ago(inbox)
    service = Service(config)
    try:
        service.start()
        for path in (copy, original):  # the start's catch-up offered both: process them here
            service.gate.discard(path)
        service.process([(copy, inbox), (original, inbox)])
        assert copy.exists() and not original.exists()
        assert len(service.gate) == 1  # the worse copy waits in the gate, not for a rescan
        deadline = time.monotonic() + 30  # the gate lets it through once it has settled
        while copy.exists() and time.monotonic() < deadline:
            service.turn() or time.sleep(0.05)
        assert not copy.exists() and len(list(config.quarantine.path.rglob("*.jpg"))) == 1
    finally:
        service.shutdown()
