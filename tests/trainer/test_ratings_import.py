"""`photosieve label import --ratings`: labels from XMP ratings and picks, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner, Result
from PIL import Image

from photosieve.cli import group
from photosieve.state import open_state
from photosieve.trainer.labels import content_hash

XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    "{attrs}/></rdf:RDF></x:xmpmeta>"
)


def _photo(path: Path, seed: int, packet: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    extra = {"xmp": packet.encode()} if packet else {}
    Image.fromarray(pixels).save(path, quality=90, **extra)
    return path


def _run(tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "config.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\ninboxes: [{tmp_path / 'inbox'}]\n")
    return CliRunner().invoke(group, ["--config", str(config), "label", "import", *args])


def _labels(tmp_path: Path) -> dict[str, tuple[str, str]]:
    state = open_state(tmp_path / "state")
    try:
        return {row["sha256"]: (row["label"], row["source"]) for row in state.labels()}
    finally:
        state.close()


def _album(root: Path) -> dict[str, Path]:
    photos = {
        "darktable_reject": _photo(root / "a.jpg", 1),
        "digikam_reject": _photo(root / "b.jpg", 2),
        "digikam_accept": _photo(root / "sub" / "c.jpg", 3),
        "lightroom_4": _photo(root / "d.jpg", 4, XMP.format(attrs='xmp:Rating="4"')),
        "one_star": _photo(root / "e.jpg", 5, XMP.format(attrs='xmp:Rating="1"')),
        "unrated": _photo(root / "f.jpg", 6),
    }
    (root / "a.jpg.xmp").write_text(XMP.format(attrs='xmp:Rating="-1"'))
    (root / "b.jpg.xmp").write_text(XMP.format(attrs='digiKam:PickLabel="1" xmp:Rating="3"'))
    (root / "sub" / "c.xmp").write_text(XMP.format(attrs='digiKam:PickLabel="3"'))
    return photos


def test_ratings_become_labels_and_photos_stay_untouched(tmp_path: Path) -> None:
    photos = _album(tmp_path / "album")
    before = {p: p.read_bytes() for p in (tmp_path / "album").rglob("*") if p.is_file()}
    result = _run(tmp_path, "--ratings", str(tmp_path / "album"))
    assert result.exit_code == 0, result.output
    assert "read the XMP of 6 photos" in result.output
    assert "1  xmp:Rating -1 (rejected)" in result.output
    assert "1  digiKam pick label: rejected" in result.output
    assert "labelled 2 keep and 2 discard photos (4 new, 0 changed, 0 unchanged)" in result.output
    sha = {name: content_hash(path) for name, path in photos.items()}
    assert _labels(tmp_path) == {
        sha["darktable_reject"]: ("discard", "xmp-rating"),
        sha["digikam_reject"]: ("discard", "xmp-rating"),
        sha["digikam_accept"]: ("keep", "xmp-rating"),
        sha["lightroom_4"]: ("keep", "xmp-rating"),
    }
    assert {p: p.read_bytes() for p in before} == before


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    _album(tmp_path / "album")
    result = _run(tmp_path, "--dry-run", "--ratings", str(tmp_path / "album"))
    assert result.exit_code == 0, result.output
    assert "would label 2 keep and 2 discard" in result.output
    assert _labels(tmp_path) == {}


def test_keep_threshold_and_single_files(tmp_path: Path) -> None:
    photos = _album(tmp_path / "album")
    result = _run(
        tmp_path,
        "--keep-from",
        "1",
        "--ratings",
        str(photos["one_star"]),
        "--ratings",
        str(photos["unrated"]),
    )
    assert result.exit_code == 0, result.output
    assert _labels(tmp_path) == {content_hash(photos["one_star"]): ("keep", "xmp-rating")}


def test_copies_that_disagree_are_a_conflict(tmp_path: Path) -> None:
    first = _photo(tmp_path / "x" / "p.jpg", 9)
    second = tmp_path / "y" / "p.jpg"
    second.parent.mkdir()
    second.write_bytes(first.read_bytes())
    (tmp_path / "x" / "p.xmp").write_text(XMP.format(attrs='xmp:Rating="-1"'))
    (tmp_path / "y" / "p.xmp").write_text(XMP.format(attrs='xmp:Rating="5"'))
    result = _run(tmp_path, "--ratings", str(tmp_path / "x"), "--ratings", str(tmp_path / "y"))
    assert result.exit_code == 0, result.output
    assert "not labelled" in result.output
    assert _labels(tmp_path) == {}


def test_ratings_exclude_sorted_folders(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    result = _run(tmp_path, "--keep", str(tmp_path / "k"), "--ratings", str(tmp_path / "k"))
    assert result.exit_code != 0
    assert "--ratings" in result.output
