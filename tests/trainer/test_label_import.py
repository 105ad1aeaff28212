"""`photosieve label import`: labels from sorted folders, photos only read, bad files skipped."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from click.testing import CliRunner, Result
from PIL import Image

from photosieve.cli import group
from photosieve.state import open_state


def _photo(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\ninboxes: [{tmp_path / 'inbox'}]\n")
    return config


def _run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(group, ["--config", str(_config(tmp_path)), "label", "import", *args])


def _labels(tmp_path: Path) -> dict[str, str]:
    state = open_state(tmp_path / "state")
    try:
        return {row["sha256"]: row["label"] for row in state.labels()}
    finally:
        state.close()


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_article_layout_is_imported_and_photos_stay_untouched(tmp_path: Path) -> None:
    root = tmp_path / "sorted"
    keep = [_photo(root / "keep_it" / f"k{i}.jpg", i) for i in range(3)]
    discard = [_photo(root / "dont_keep_it" / "sub" / f"d{i}.jpg", 10 + i) for i in range(2)]
    (root / "keep_it" / "notes.txt").write_text("not a photo")
    (root / "dont_keep_it" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nothing more")
    (root / "keep_it" / ".hidden.jpg").write_bytes(keep[0].read_bytes())
    before = _snapshot(root)
    result = _run(tmp_path, str(root))
    assert result.exit_code == 0, result.output
    assert "labelled 3 keep and 2 discard photos (5 new" in result.output
    assert "skipped" in result.output and "notes.txt" in result.output
    assert "broken.jpg" in result.output
    labels = _labels(tmp_path)
    expected = {hashlib.sha256(p.read_bytes()).hexdigest(): "keep" for p in keep}
    expected |= {hashlib.sha256(p.read_bytes()).hexdigest(): "discard" for p in discard}
    assert labels == expected
    assert _snapshot(root) == before  # nothing moved, renamed or rewritten


def test_keep_and_discard_options_dry_run_and_reimport(tmp_path: Path) -> None:
    keep = [_photo(tmp_path / "good" / f"{i}.jpg", i) for i in range(2)]
    _photo(tmp_path / "bad" / "x.jpg", 20)
    dry = _run(
        tmp_path, "--keep", str(tmp_path / "good"), "--discard", str(tmp_path / "bad"), "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    assert "would label 2 keep and 1 discard" in dry.output
    assert _labels(tmp_path) == {}
    first = _run(tmp_path, "--keep", str(tmp_path / "good"), "--discard", str(tmp_path / "bad"))
    assert "(3 new, 0 changed, 0 unchanged)" in first.output
    # The owner changes their mind about one photo: moving it between folders relabels it.
    moved = tmp_path / "bad" / "0.jpg"
    moved.write_bytes(keep[0].read_bytes())
    _photo(keep[0], 99)  # its old place now holds a different photo
    again = _run(tmp_path, "--keep", str(tmp_path / "good"), "--discard", str(tmp_path / "bad"))
    assert "labelled 2 keep and 2 discard" in again.output
    assert "(1 new, 1 changed, 2 unchanged)" in again.output
    assert _labels(tmp_path)[hashlib.sha256(moved.read_bytes()).hexdigest()] == "discard"


def test_a_photo_in_both_keep_and_discard_gets_no_label(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "a" / "same.jpg", 1)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "copy.jpg").write_bytes(photo.read_bytes())
    _photo(tmp_path / "b" / "other.jpg", 2)
    result = _run(tmp_path, "--keep", str(tmp_path / "a"), "--discard", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert "in both keep and discard" in result.output
    assert list(_labels(tmp_path).values()) == ["discard"]


def test_missing_layout_or_no_folders_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "sorted" / "keep_it").mkdir(parents=True)
    result = _run(tmp_path, str(tmp_path / "sorted"))
    assert result.exit_code == 2
    assert "dont_keep_it/" in result.output
    assert _run(tmp_path).exit_code == 2


def test_a_labelled_photo_is_found_again_after_the_service_filed_it(tmp_path: Path) -> None:
    from photosieve.trainer.dataset import decode_located, labeled_photos, locate

    original = _photo(tmp_path / "sorted" / "keep_it" / "a.jpg", 1)
    _photo(tmp_path / "sorted" / "dont_keep_it" / "b.jpg", 2)
    assert _run(tmp_path, str(tmp_path / "sorted")).exit_code == 0
    filed = tmp_path / "library" / "2024" / "a.jpg"
    filed.parent.mkdir(parents=True)
    filed.write_bytes(original.read_bytes())
    _photo(original, 3)  # the old path now holds other content: it must not be trusted
    state = open_state(tmp_path / "state")
    sha = hashlib.sha256(filed.read_bytes()).hexdigest()
    state.put_file(filed, size=filed.stat().st_size, mtime_ns=0, status="filed", sha256=sha)
    photos = {p.sha256: p for p in labeled_photos(state)}
    assert photos[sha].candidates == (original.resolve(), filed)
    assert locate(photos[sha]) == filed
    _photo(filed, 4)  # edited in place: no copy of the labelled content is left
    results = list(decode_located([photos[sha]], 32, "crop"))
    assert results[0][1] is None and "not found" in (results[0][2] or "")
    state.close()
