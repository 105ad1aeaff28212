"""The tables benchmarks/copies.py prints: by kind of copy and of distinct photo, the verdict of
the pixels alone and of pixels + embedding (MIN_EMBED_COSINE), the residuals and cosines
weighed, the shares over a few cosine floors and, when asked, each distinct photo's cosine
with the library photo it was made from; then the floor the trainer's rule
(vision/copy_floor.py) would choose from this run's cosines, and the shares at that floor, and
what the trainer itself would record for the model (trainer/copy_measure.py); for a model
`photosieve train` exported (copies.py --model), also what it did record, on its own labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photosieve.model import store as modelstore
from photosieve.vision import copies, copy_floor

Residuals = dict[str, list[float]]
FLOORS = (0.99, 0.999, 0.9995, 0.9998, 0.9999)  # the sweep's floors unless told others


@dataclass
class Query:
    """What the copy stage weighed for one query: the pixel-confirmed candidates in the order
    it tries them, each with its embedding cosine (NaN without a model), and the cosines of
    every candidate that reached MIN_CORRELATION; `kin`: a distinct photo's cosine with the
    library photo it was made from, whether or not the pixels weighed that pair (NaN: not
    asked)."""

    confirmed: list[tuple[str, float]] = field(default_factory=list)
    weighed: list[float] = field(default_factory=list)
    kin: float = float("nan")

    def called(self, min_cosine: float | None) -> str | None:
        """The library photo it is called a copy of: the first confirmed by the pixels (and,
        with `min_cosine`, whose cosine reaches it)."""
        for key, cosine in self.confirmed:
            if min_cosine is None or (np.isfinite(cosine) and cosine >= min_cosine):
                return key
        return None


Results = dict[str, list[tuple[str | None, Query]]]  # kind -> (its own photo or None, query)


def strangers(vectors: np.ndarray) -> np.ndarray:
    """The cosines of two different library photos' embeddings (no copy stage ever asks: the
    reference for how much alike the model's features make any two photos), printed and
    returned."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = (unit @ unit.T)[np.triu_indices(len(vectors), 1)]
    print(
        f"cosine of two different library photos: min {cos.min():.4f}, "
        f"median {np.median(cos):.4f}, max {cos.max():.4f} ({len(cos)} pairs)"
    )
    return cos


def _spread(values: list[float], digits: int = 3) -> str:
    return f"{min(values):.{digits}f}..{max(values):.{digits}f}" if values else "-"


def _rate(rows: list[tuple[str | None, Query]], min_cosine: float | None) -> tuple[int, int]:
    """(right verdicts, queries): a copy called a copy of its own photo, a distinct photo
    called a copy of nothing."""
    return sum(q.called(min_cosine) == own for own, q in rows), len(rows)


def _cosines(rows: list[tuple[str | None, Query]], own_only: bool) -> list[float]:
    """Cosines of the pixel-confirmed pairs (a copy's: with its own photo only)."""
    out = [c for own, q in rows for key, c in q.confirmed if not own_only or key == own]
    return [c for c in out if np.isfinite(c)]


def _count(rows: list[tuple[str | None, Query]], min_cosine: float | None, copy: bool) -> str:
    right, n = _rate(rows, min_cosine)
    return f"{right if copy else n - right}/{n}"


def _table(title: str, results: Results, weighed: Residuals, embedded: bool, copy: bool) -> None:
    """One row per kind: the verdicts (pixels alone, with the embedding), the residuals
    weighed and the cosines."""
    what = "caught" if copy else "called copy"
    cos = "cosine (own photo)" if copy else "cosine (pixel-passed; any weighed)"
    print(
        f"{title:<22} {what + ' pixels':>18} {'+emb' if embedded else '':>7}   "
        f"{'residual weighed':<16} {cos if embedded else ''}"
    )
    for kind, rows in results.items():
        line = f"{kind:<22} {_count(rows, None, copy):>18}"
        emb = _count(rows, copies.MIN_EMBED_COSINE, copy) if embedded else ""
        line += f" {emb:>7}   {_spread(weighed[kind]):<16}"
        if embedded:
            anyw = [c for _, q in rows for c in q.weighed if np.isfinite(c)]
            line += f" {_spread(_cosines(rows, copy), 4)}"
            line += "" if copy else f"; {_spread(anyw, 4)}"
        print(line)


def _overall(results: Results, min_cosine: float | None, copy: bool) -> float:
    rows = [row for kind in results.values() for row in kind]
    right, n = _rate(rows, min_cosine)
    return 100 * (right if copy else n - right) / max(1, n)


def _sweep(caught: Results, false: Results, embedded: bool, floors: tuple[float, ...]) -> None:
    """Caught and distinct-called-copies shares, pixels alone and with a few cosine floors."""
    settings: list[tuple[str, float | None]] = [("pixels alone", None)]
    if embedded:
        own = _cosines([r for rows in caught.values() for r in rows], own_only=True)
        passed = _cosines([r for rows in false.values() for r in rows], own_only=False)
        low, high = min(own, default=float("nan")), max(passed, default=float("nan"))
        print(f"cosine of a copy and its own photo: min {low:.4f}")
        print(f"cosine of a distinct pair the pixels passed: max {high:.4f}")
        cuts = sorted({*floors, copies.MIN_EMBED_COSINE})
        settings += [(f"+ embedding >= {cut}", cut) for cut in cuts]
    for name, cut in settings:
        _shares(name, caught, false, cut)


def _shares(name: str, caught: Results, false: Results, cut: float | None) -> None:
    got, bad = _overall(caught, cut, copy=True), _overall(false, cut, copy=False)
    print(f"{name:<26} copies caught {got:6.1f} %, distinct called copies {bad:5.2f} %")


def _num(value: float | None, scale: float = 1, digits: int = 4) -> str:
    return "-" if value is None else f"{scale * value:.{digits}f}"


def trainer_floor(caught: Results, false: Results, distinct: np.ndarray) -> None:
    """The floor `copy_floor.choose_floor` picks from this run's cosines of a copy and its own
    photo (those the pixels caught) and of two different library photos, and the shares at it:
    from every kind of copy, and from the four kinds the trainer makes (COPY_KINDS). The rule's
    constants are for those four: the many easy kinds of this benchmark raise the quantile, so
    the "every kind" line shows how the mix of copies moves the floor, not what a trainer does."""
    print(f"the trainer's rule: {copy_floor.RULE}")
    for name, kinds in (
        ("every kind", list(caught)),
        ("trainer's kinds", [k for k in copy_floor.COPY_KINDS if k in caught]),
    ):
        own = _cosines([row for kind in kinds for row in caught[kind]], own_only=True)
        chosen = copy_floor.choose_floor(own, distinct.tolist())
        print(
            f"from {name} ({chosen.copies} copies, lowest {_num(chosen.min_copy)}, "
            f"{copy_floor.QUANTILE:.0%} quantile {_num(chosen.copy_quantile)}): "
            f"floor {_num(chosen.floor)}; {chosen.distinct} distinct pairs, median "
            f"{_num(chosen.distinct_median)}, p99 {_num(chosen.distinct_p99)}, "
            f"{_num(chosen.distinct_vetoed, 100, 1)} % under the floor"
        )
        if chosen.floor is not None:
            _shares(f"+ embedding >= {chosen.floor:.4f}", caught, false, chosen.floor)


def _kin(false: Results) -> None:
    """By kind of distinct photo, its cosine with the library photo it was made from (only
    when the run asked: the pixels weigh few of these pairs, moments_differ skips most)."""
    for kind, rows in false.items():
        kin = [q.kin for _, q in rows if np.isfinite(q.kin)]
        if kin:
            print(f"cosine of a {kind} photo and its source: {_spread(kin, 4)} ({len(kin)})")


def report(
    caught: Results,
    false: Results,
    weighed: Residuals,
    sources: int,
    *,
    embedded: bool,
    floors: tuple[float, ...] = FLOORS,
) -> None:
    near, wide = (copies.RADIUS, copies.MIN_TINY), (copies.WIDE_RADIUS, copies.MIN_TINY_WIDE)
    tiers = f"{near[0]} bits with tiny >= {near[1]}, {wide[0]} with >= {wide[1]}"
    print(f"copy detector on {sources} real photos (candidates: {tiers})")
    print(f"MAX_RESIDUAL {copies.MAX_RESIDUAL}, MIN_EMBED_COSINE {copies.MIN_EMBED_COSINE}")
    _table("copy kind", caught, weighed, embedded, copy=True)
    _table("distinct kind", false, weighed, embedded, copy=False)
    _sweep(caught, false, embedded, floors)
    _kin(false)


def trainer_measured(
    version_dir: Path, sources: list[Path], seed: int, caught: Results, false: Results
) -> None:
    """What `photosieve train` would record as this model's copy floor: trainer/copy_measure.py
    on the model's TFLite file with the album's source photos as the labelled photos (its own
    sample and copies of them, made from the source files, not from this run's library); and
    this run's shares at that floor."""
    from photosieve.trainer import copy_measure
    from photosieve.trainer.dataset import LabeledPhoto
    from photosieve.trainer.labels import content_hash

    photos = [LabeledPhoto(content_hash(path), "keep", (path,)) for path in sources]
    meta = modelstore.read_meta(version_dir)
    start = time.perf_counter()
    found = copy_measure.section(version_dir / "model.tflite", meta, photos, seed=seed)
    took = time.perf_counter() - start
    facts = {k: v for k, v in found.get("copy_floor", {}).items() if k not in ("rule", "model")}
    print(f"the trainer's own measurement, seed {seed} ({took:.1f} s): {facts or 'none'}")
    if facts.get("floor") is not None:
        _shares(f"+ embedding >= {facts['floor']:.4f}", caught, false, float(facts["floor"]))


def recorded_floor(version_dir: Path, caught: Results, false: Results) -> None:
    """The copy floor the model's model.json records (measured at export on the model's own
    labelled photos), with how it was trained, and this run's shares at that floor."""
    meta = modelstore.read_meta(version_dir)
    training = meta.get("training", {})
    trained = {k: training.get(k) for k in ("weights", "fine_tune_blocks", "epochs_run")}
    print(f"trained as: {meta.get('backbone')} at {meta.get('input_size')} px, {trained}")
    facts = {k: v for k, v in (meta.get("copy_floor") or {}).items() if k not in ("rule", "model")}
    print(f"model.json records: {facts or 'no copy floor'}")
    floor = copy_floor.recorded_floor(meta)
    if floor is not None:
        _shares(f"+ embedding >= {floor:.4f}", caught, false, floor)
