"""Scene groups on the real-photo album: does the trainer's grouping find the album's scenes?

    python benchmarks/scene_groups.py [--cache DIR] [--seed 0]

The album is quality_album.py's (360 photos from 30 source photos: 150 keepers, five variants
of each source). Each file is decoded as the trainer decodes it (`imaging.load` at 299, crop,
with the gray work image) and its grouping facts taken by `split.facts_from` (dHash, the
whole-frame and centre DCT hashes, camera and time from the generated EXIF). Every album photo
is grouped, as the trainer groups all labelled photos, by `split.near_duplicate_groups` under
each rule; the keepers' groups are what the certificate counts. Columns: keeper groups (30
would be one per scene), keeper groups spanning two or more source photos (merged distinct
scenes), the sizes of the keeper groups (keepers: groups), and two checks on distinct scenes:
the 30 source photos themselves grouped by the same rule (no EXIF: 30 means none merged), and
the same 30 as if one camera took them a minute apart in one session.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from collections import Counter, defaultdict
from pathlib import Path

from album_build import Item, build_album
from album_sources import fetch_sources

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from photosieve.trainer import split  # noqa: E402
from photosieve.trainer.split import PhotoFacts  # noqa: E402
from photosieve.vision import imaging  # noqa: E402

SIZE = 299


@dataclasses.dataclass(frozen=True)
class Rule:
    """`split.near_duplicate_groups`' keywords; the defaults are the product's rule."""

    dhash_bits: int = split.DHASH_BITS
    frame_bits: int = split.FRAME_BITS
    window: float = split.BURST_SECONDS

    def groups(self, facts: dict[str, PhotoFacts]) -> dict[str, str]:
        return split.near_duplicate_groups(
            facts, dhash_bits=self.dhash_bits, frame_bits=self.frame_bits, window=self.window
        )


RULES = {
    "old: dHash equal, camera 2 s": Rule(dhash_bits=0, frame_bits=-1),
    "new: dHash <= 2, DCT <= 8, camera 2 s": Rule(),
    "new + camera 10 min (not adopted)": Rule(window=600.0),
}


def facts_of(path: Path) -> PhotoFacts:
    """The grouping facts of one file, as the trainer takes them from its decode."""
    decoded = imaging.load(path, SIZE, fit="crop", want_gray=True)
    return split.facts_from(decoded.pixels, decoded.metadata, decoded.gray)


def album_facts(items: list[Item], album: Path) -> dict[str, PhotoFacts]:
    """Facts of every album photo, keyed by item number (as certified_album.py keys them)."""
    return {f"{n:04d}": facts_of(album / item.file) for n, item in enumerate(items)}


def keeper_groups(items: list[Item], groups: dict[str, str]) -> dict[str, list[int]]:
    """{group key: the source photo of each of its keepers}."""
    members: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        if item.label == 0:
            members[groups[f"{n:04d}"]].append(item.source)
    return members


def one_session(facts: dict[str, PhotoFacts]) -> dict[str, PhotoFacts]:
    """The same photos as if one camera took them a minute apart, in key order."""
    return {
        key: dataclasses.replace(fact, camera="one|camera", taken=60.0 * i)
        for i, (key, fact) in enumerate(sorted(facts.items()))
    }


def closest(items: list[Item], facts: dict[str, PhotoFacts]) -> tuple[int, int]:
    """The fewest dHash and DCT-hash bits between photos of two different source photos."""
    best = [64, 64]
    keyed = [(item.source, facts[f"{n:04d}"]) for n, item in enumerate(items)]
    for (sa, a), (sb, b) in itertools.combinations(keyed, 2):
        if sa == sb:
            continue
        if a.dhash is not None and b.dhash is not None:
            best[0] = min(best[0], (a.dhash ^ b.dhash).bit_count())
        if a.whole is not None and b.whole is not None:
            assert a.centre is not None and b.centre is not None
            frame = min(
                (x ^ y).bit_count() for x in (a.whole, a.centre) for y in (b.whole, b.centre)
            )
            best[1] = min(best[1], frame)
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=HERE / ".cache" / "quality_album")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cache = args.cache.resolve()
    paths = fetch_sources(cache)
    items = build_album(paths, cache / "album", args.seed)
    facts = album_facts(items, cache / "album")
    wallpapers = {f"{n:04d}": facts_of(path) for n, path in enumerate(paths)}
    keepers = sum(item.label == 0 for item in items)
    print(f"album: {len(items)} photos, {keepers} keepers from {len(paths)} source photos")
    dh, frame = closest(items, facts)
    print(f"closest photos of two source photos: dHash {dh} bits, DCT hashes {frame} bits")
    print(
        f"{'rule':<38} {'groups':>6} {'spanning':>8}  {'sizes (keepers: groups)':<28}"
        f" {'sources':>7} {'session':>7}"
    )
    for name, rule in RULES.items():
        members = keeper_groups(items, rule.groups(facts))
        spanning = sum(len(set(sources)) > 1 for sources in members.values())
        sizes = Counter(len(sources) for sources in members.values())
        histogram = " ".join(f"{k}:{sizes[k]}" for k in sorted(sizes))
        alone = len(set(rule.groups(wallpapers).values()))
        session = len(set(rule.groups(one_session(wallpapers)).values()))
        print(
            f"{name:<38} {len(members):>6} {spanning:>8}  {histogram:<28}"
            f" {alone:>3} / {len(paths):<2} {session:>3} / {len(paths):<2}"
        )


if __name__ == "__main__":
    main()
