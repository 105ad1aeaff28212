"""The pipeline's stages on real files, with a fake classifier; routing as a pure function."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from photosieve.cli import group
from photosieve.config import Config
from photosieve.daemon import pipeline
from photosieve.dating import CaptureTime
from photosieve.files.mover import Mover
from photosieve.model.contract import KeepAll
from photosieve.state import State

TAKEN = CaptureTime(datetime(2024, 5, 3, 14, 22, 10), "exif:DateTimeOriginal", True)


@dataclasses.dataclass
class MeanBrightness:
    """A stand-in model: dark photos score high (discard)."""

    version: str | None = "test-1"
    input_size: int = 75
    fit: str = "crop"
    threshold: float = 0.5

    def score(self, pixels: np.ndarray) -> np.ndarray:
        return 1.0 - pixels.reshape(len(pixels), -1).mean(axis=1) / 255.0


@pytest.fixture
def setup(config: Config, state: State) -> tuple[Config, State, Path]:
    """The shared config in tmp_path (inbox, library, quarantine), its state, and the inbox."""
    return config, state, config.inboxes[0]


def run(
    config: Config, state: State, inbox: Path, classifier: object | None = None, **kwargs: object
) -> list[pipeline.Photo]:
    pipe = pipeline.Pipeline(
        config,
        state,
        Mover(state, roots=config.roots),
        classifier or KeepAll(input_size=75),
        **kwargs,
    )  # type: ignore[arg-type]
    paths = sorted(p for p in inbox.rglob("*") if p.is_file())
    return pipe.run([(p, inbox) for p in paths])


def test_files_by_exif_time_and_records(
    setup: tuple[Config, State, Path], make_photo: Callable[..., Path]
) -> None:
    config, state, inbox = setup
    make_photo(inbox / "IMG_1.jpg", "2024:05:03 14:22:10", seed=1)
    (photo,) = run(config, state, inbox)
    assert photo.outcome == "filed"
    target = config.library.path / "2024/05/2024-05-03_14-22-10_IMG_1.jpg"  # type: ignore[operator]
    assert photo.result == target and target.exists()
    record = state.get_file(target)
    assert record is not None and record.status == "filed"
    assert record.taken_source == "exif:DateTimeOriginal"
    assert state.get_quality(record.sha256 or "") is not None


def test_duplicate_content_goes_to_the_quarantine_as_a_copy(
    setup: tuple[Config, State, Path], make_photo: Callable[..., Path]
) -> None:
    config, state, inbox = setup
    make_photo(inbox / "IMG_1.jpg", seed=1)
    (first,) = run(config, state, inbox)
    make_photo(inbox / "copy of IMG_1.jpg", seed=1)
    (photo,) = run(config, state, inbox)
    assert photo.outcome == "quarantined"
    assert photo.reasons[0] == f"copy of {first.result}"
    assert not (inbox / "copy of IMG_1.jpg").exists() and first.result is not None
    assert first.result.exists() and photo.result is not None
    assert photo.result.read_bytes() == first.result.read_bytes()


def test_unsupported_and_bad_files_are_left_and_reported_once(
    setup: tuple[Config, State, Path], caplog: pytest.LogCaptureFixture
) -> None:
    config, state, inbox = setup
    (inbox / "notes.txt").write_text("hi")
    (inbox / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    outcomes = {p.path.name: p.outcome for p in run(config, state, inbox)}
    assert outcomes == {"notes.txt": "unsupported", "broken.jpg": "skipped"}
    caplog.clear()
    outcomes = {p.path.name: p.outcome for p in run(config, state, inbox)}
    assert outcomes == {"notes.txt": "unchanged", "broken.jpg": "unchanged"}
    assert caplog.records == []
    assert (inbox / "broken.jpg").read_bytes() == b"\xff\xd8\xff\xe0garbage"


def test_sidecars_travel_and_stamped_names_stay(
    setup: tuple[Config, State, Path], make_photo: Callable[..., Path]
) -> None:
    config, state, inbox = setup
    make_photo(inbox / "2024-05-03_14-22-10_IMG_2.jpg", "2024:05:03 14:22:10", seed=2)
    (inbox / "2024-05-03_14-22-10_IMG_2.xmp").write_text("<xmp/>")
    photos = run(config, state, inbox)
    filed = [p for p in photos if p.outcome == "filed"]
    assert [p.result.name for p in filed if p.result] == ["2024-05-03_14-22-10_IMG_2.jpg"]
    assert (config.library.path / "2024/05/2024-05-03_14-22-10_IMG_2.xmp").exists()  # type: ignore[operator]


def test_model_decides_and_decision_is_recorded(
    setup: tuple[Config, State, Path], tmp_path: Path
) -> None:
    config, state, inbox = setup
    Image.new("RGB", (80, 60), (10, 10, 10)).save(inbox / "dark.jpg")
    Image.new("RGB", (80, 60), (240, 240, 240)).save(inbox / "light.jpg")
    outcomes = {p.path.name: p for p in run(config, state, inbox, MeanBrightness())}
    assert outcomes["dark.jpg"].outcome == "quarantined"
    assert outcomes["light.jpg"].outcome == "filed"
    quarantined = outcomes["dark.jpg"].result
    assert quarantined is not None and quarantined.parent == config.quarantine.path
    row = state.last_decision(hashlib.sha256(quarantined.read_bytes()).hexdigest())
    assert row is not None and row["model_version"] == "test-1" and row["score"] > 0.5
    assert any(r.startswith("model 0.9") for r in json.loads(row["reasons"]))


def test_cold_start_quarantines_only_unmistakable(
    setup: tuple[Config, State, Path], make_photo: Callable[..., Path]
) -> None:
    config, state, inbox = setup
    config = dataclasses.replace(
        config, classifier=dataclasses.replace(config.classifier, defects_before_first_model=True)
    )
    Image.new("RGB", (800, 600), (0, 0, 0)).save(inbox / "pocket.jpg")
    make_photo(inbox / "IMG_3.jpg", seed=3, size=(800, 600))
    outcomes = {p.path.name: p for p in run(config, state, inbox)}
    assert outcomes["pocket.jpg"].outcome == "quarantined"
    assert "near-black" in outcomes["pocket.jpg"].reasons
    assert outcomes["IMG_3.jpg"].outcome == "filed"


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_scan_dry_run_touches_nothing(tmp_path: Path, make_photo: Callable[..., Path]) -> None:
    photos = tmp_path / "photos"
    for i in range(5):
        make_photo(photos / f"IMG_{i}.jpg", f"2020:01:0{i + 1} 00:00:00", seed=i)
    (photos / "bad.jpg").write_bytes(b"nope")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"inboxes: [{tmp_path / 'in'}]\nlibrary:\n  path: {tmp_path / 'lib'}\n"
        f"quarantine:\n  path: {tmp_path / 'q'}\nstate_dir: {tmp_path / 's'}\n"
        "watch:\n  settle_seconds: 0\n"
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "q").mkdir()
    before = tree_digest(tmp_path / "photos")
    result = CliRunner().invoke(group, ["--config", str(config), "scan", "--dry-run", str(photos)])
    assert result.exit_code == 0, result.output
    assert tree_digest(tmp_path / "photos") == before
    assert list((tmp_path / "lib").iterdir()) == []
    assert "would move" in result.output and "Dry run" in result.output
    result = CliRunner().invoke(group, ["--config", str(config), "scan", str(photos)])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "lib").rglob("*.jpg"))) == 5
    assert "filed" in result.output and "skipped" in result.output


def test_every_supported_format_is_filed_by_its_exif_time(
    setup: tuple[Config, State, Path], make_photo: Callable[..., Path]
) -> None:
    """JPEG, PNG, WebP, TIFF and HEIC (through pillow-heif) are dated from their own EXIF."""
    import pillow_heif

    config, state, inbox = setup
    pillow_heif.register_heif_opener()
    formats = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF", "heic": "HEIF"}
    for i, (ext, fmt) in enumerate(formats.items()):
        make_photo(inbox / f"shot_{ext}.{ext}", f"2021:0{i + 1}:02 03:04:05", seed=i, fmt=fmt)
    outcomes = {p.path.suffix: p for p in run(config, state, inbox)}
    assert set(outcomes) == {f".{ext}" for ext in formats}
    for i, ext in enumerate(formats):
        photo = outcomes[f".{ext}"]
        assert photo.outcome == "filed", (ext, photo.reason)
        assert photo.result is not None
        assert photo.result.name == f"2021-0{i + 1}-02_03-04-05_shot_{ext}.{ext}"
        assert photo.taken is not None and photo.taken.source.endswith("DateTimeOriginal"), ext
