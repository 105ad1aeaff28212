"""The leak-free split: perceptual hash, near-duplicate groups, deterministic stratified split."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from photosieve.trainer import split
from photosieve.trainer.split import PhotoFacts
from photosieve.vision import imaging


def _scene(seed: int, size: tuple[int, int] = (120, 90)) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)


def _save(
    img: Image.Image,
    path: Path,
    *,
    camera: str | None = None,
    when: str | None = None,
    software: str | None = None,
) -> Path:
    exif = Image.Exif()
    if camera:
        exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera.split(" ", 1)
    if software:
        exif[ExifTags.Base.Software] = software
    if when:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = when
    img.save(path, format="PNG", exif=exif)  # lossless: same pixels whatever the EXIF
    return path


def _facts(path: Path) -> PhotoFacts:
    decoded = imaging.load(path, 64)
    return split.facts_from(decoded.pixels, decoded.metadata)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dhash_is_64_bit_stable_and_tells_scenes_apart() -> None:
    a = np.asarray(_scene(1))
    b = np.asarray(_scene(2))
    ha, hb = split.dhash(a), split.dhash(b)
    assert ha is not None and hb is not None
    assert 0 <= ha < 2**64
    assert split.dhash(a.copy()) == ha
    assert bin(ha ^ hb).count("1") > 8


def test_flat_frames_get_no_perceptual_hash() -> None:
    black = np.full((64, 64, 3), 12, np.uint8)
    black[10:20, 10:20] = 15  # a trace of detail, well under the flatness limit
    assert split.dhash(black) is None


def test_identical_pixels_under_different_exif_are_one_group(tmp_path: Path) -> None:
    img = _scene(5)
    a = _save(img, tmp_path / "a.png", software="editor one")
    b = _save(img, tmp_path / "b.png", software="editor two")
    c = _save(_scene(6), tmp_path / "c.png")
    sha = {p: _sha(p) for p in (a, b, c)}
    assert sha[a] != sha[b]  # different files, same picture
    groups = split.near_duplicate_groups({sha[p]: _facts(p) for p in (a, b, c)})
    assert groups[sha[a]] == groups[sha[b]] == min(sha[a], sha[b])
    assert groups[sha[c]] == sha[c]


def test_same_camera_within_two_seconds_is_one_group(tmp_path: Path) -> None:
    shots = {
        "burst1": ("Canon EOS", "2024:05:01 10:00:00"),
        "burst2": ("Canon EOS", "2024:05:01 10:00:02"),
        "burst3": ("Canon EOS", "2024:05:01 10:00:04"),  # chains onto burst2
        "later": ("Canon EOS", "2024:05:01 10:00:07"),
        "other_camera": ("Nikon Z6", "2024:05:01 10:00:01"),
    }
    facts = {}
    for i, (name, (camera, when)) in enumerate(shots.items()):
        facts[name] = _facts(
            _save(_scene(10 + i), tmp_path / f"{name}.png", camera=camera, when=when)
        )
    assert facts["burst1"].camera == "Canon|EOS"
    groups = split.near_duplicate_groups(facts)
    assert groups["burst1"] == groups["burst2"] == groups["burst3"]
    assert groups["later"] == "later"
    assert groups["other_camera"] == "other_camera"


def _labels(n_keep: int, n_discard: int) -> dict[str, str]:
    labels = {hashlib.sha256(f"k{i}".encode()).hexdigest(): "keep" for i in range(n_keep)}
    labels |= {hashlib.sha256(f"d{i}".encode()).hexdigest(): "discard" for i in range(n_discard)}
    return labels


def test_split_is_deterministic_and_stratified() -> None:
    labels = _labels(200, 40)
    groups = {sha: sha for sha in labels}
    first = split.split_photos(labels, groups)
    shuffled = dict(random.Random(1).sample(sorted(labels.items()), len(labels)))
    assert split.split_photos(shuffled, groups) == first
    counts = split.split_counts(first, labels)
    assert counts["test"] == {"keep": 30, "discard": 6}
    assert counts["val"] == {"keep": 30, "discard": 6}
    assert counts["train"] == {"keep": 140, "discard": 28}


def test_split_gives_each_small_class_a_validation_and_a_test_photo() -> None:
    labels = _labels(4, 3)
    counts = split.split_counts(split.split_photos(labels, {}), labels)
    for name in ("val", "test"):
        assert counts[name]["keep"] >= 1 and counts[name]["discard"] >= 1


def test_near_duplicate_groups_never_straddle_splits() -> None:
    labels = _labels(150, 150)
    shas = sorted(labels)
    rng = random.Random(4)
    groups = {}
    for sha in shas:  # random groups of one to five photos, mixed labels allowed
        groups[sha] = sha if rng.random() < 0.5 else groups.get(rng.choice(shas), sha)
    assignment = split.split_photos(labels, groups)
    by_group: dict[str, set[str]] = {}
    for sha, key in groups.items():
        by_group.setdefault(key, set()).add(assignment[sha])
    assert any(sum(1 for k in groups.values() if k == key) > 1 for key in by_group)
    assert all(len(splits) == 1 for splits in by_group.values())
    counts = split.split_counts(assignment, labels)
    assert counts["test"]["keep"] > 0 and counts["test"]["discard"] > 0


def test_pinned_test_photos_stay_in_test_with_their_group() -> None:
    labels = _labels(100, 100)
    groups = {sha: sha for sha in labels}
    before = split.split_photos(labels, groups)
    training = sorted(sha for sha, where in before.items() if where == "train")
    pinned = training[:5]
    buddy = training[5]
    groups[buddy] = pinned[0]  # a near-duplicate of a pinned photo goes along
    after = split.split_photos(labels, groups, pinned_test=pinned)
    assert all(after[sha] == "test" for sha in [*pinned, buddy])
    counts = split.split_counts(after, labels)
    assert sum(counts["test"].values()) == 30  # pinned photos count towards the test share


def test_split_end_to_end_from_photos_keeps_copies_together(tmp_path: Path) -> None:
    facts, labels, copies = {}, {}, []
    for i in range(30):
        label = "keep" if i % 2 else "discard"
        img = _scene(100 + i)
        a = _save(img, tmp_path / f"{i}a.png", software="a")
        b = _save(img, tmp_path / f"{i}b.png", software="b")
        for path in (a, b):
            facts[_sha(path)] = _facts(path)
            labels[_sha(path)] = label
        copies.append((_sha(a), _sha(b)))
    assignment = split.split_photos(labels, split.near_duplicate_groups(facts))
    assert all(assignment[a] == assignment[b] for a, b in copies)
    assert {"train", "val", "test"} <= set(assignment.values())


@pytest.mark.parametrize(
    ("labels", "expected"), [([0, 0, 0, 1], {0: 4 / 6, 1: 2.0}), ([1, 1], {0: 1.0, 1: 1.0})]
)
def test_class_weights_balance_the_classes(labels: list[int], expected: dict[int, float]) -> None:
    assert split.class_weights(labels) == pytest.approx(expected)


def test_folds_keep_groups_whole_and_balance_each_class() -> None:
    labels = {f"k{i:02d}": "keep" for i in range(23)} | {f"d{i:02d}": "discard" for i in range(17)}
    groups = {sha: sha for sha in labels} | {"k01": "k00", "k02": "k00", "d05": "d04"}
    fold = split.fold_photos(labels, groups, k=5)
    assert set(fold) == set(labels) and set(fold.values()) == set(range(5))
    assert fold["k00"] == fold["k01"] == fold["k02"] and fold["d04"] == fold["d05"]
    for cls in ("keep", "discard"):
        sizes = [sum(1 for s, f in fold.items() if f == t and labels[s] == cls) for t in range(5)]
        assert max(sizes) - min(sizes) <= 3  # one group of 3 can tip a fold
    assert split.fold_photos(labels, groups, k=5) == fold  # deterministic
