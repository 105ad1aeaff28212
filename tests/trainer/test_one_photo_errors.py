"""One photo never holds the others back in `label import` and `train`: an unexpected error on
one photo is that photo's reason, logged once with its traceback, and the rest go on."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosieve.state import open_state
from photosieve.trainer import dataset, embeddings, labels
from photosieve.trainer.dataset import LabeledPhoto, decode_located, labeled_photos
from photosieve.trainer.labels import import_labels

SIZE = 32


def _photos(folder: Path, n: int = 3) -> list[Path]:
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        path = folder / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None]


def _fail_on(bad: Path, real: object) -> object:
    def wrapped(path: Path, *args: object, **kwargs: object) -> object:
        if Path(path).name == bad.name:
            raise RuntimeError("a bug that only this photo triggers")
        return real(path, *args, **kwargs)  # type: ignore[operator]

    return wrapped


def test_label_import_skips_the_photo_that_raised_and_labels_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad, other = _photos(tmp_path / "keep")
    monkeypatch.setattr(labels, "_check_photo", _fail_on(bad, labels._check_photo))
    state = open_state(tmp_path / "state")
    report = import_labels(state, {"keep": [tmp_path / "keep"]})
    assert report.counts["keep"] == 2 and report.added == 2
    assert [(p, r.split("(")[0]) for p, r in report.skipped] == [
        (bad, "internal error: RuntimeError")
    ]
    assert sorted(Path(r["path"]).name for r in state.labels()) == [good.name, other.name]
    assert [r.getMessage() for r in _tracebacks(caplog)] == [
        f"skipped {str(bad)!r}: internal error"
    ]


def _labelled(tmp_path: Path) -> list[LabeledPhoto]:
    _photos(tmp_path / "keep")
    state = open_state(tmp_path / "state")
    import_labels(state, {"keep": [tmp_path / "keep"]}, hasher=labels.content_hash)
    return labeled_photos(state)


def test_decoding_for_training_gives_the_photo_that_raised_its_own_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    photos = _labelled(tmp_path)
    bad = photos[1].candidates[0]
    monkeypatch.setattr(dataset.imaging, "load", _fail_on(bad, dataset.imaging.load))
    found = list(decode_located(photos, SIZE, "crop"))
    assert [(p.sha256, d is not None) for p, d, _ in found] == [
        (p.sha256, p is not photos[1]) for p in photos
    ]
    reason = found[1][2] or ""
    assert reason.startswith("internal error: RuntimeError")
    assert len(_tracebacks(caplog)) == 1


def test_filling_the_embedding_cache_goes_on_past_a_photo_that_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    photos = _labelled(tmp_path)
    real = embeddings.facts_from
    calls = iter(range(100))

    def facts_once_broken(*args: object) -> object:
        if next(calls) == 1:
            raise ValueError("degenerate pixels")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(embeddings, "facts_from", facts_once_broken)
    cache = embeddings.EmbeddingCache(tmp_path / "cache")
    failed = embeddings.fill(
        cache, photos, key="k", size=SIZE, fit="crop", embed=None, show_progress=False
    )
    assert list(failed.values()) == ["internal error: ValueError('degenerate pixels')"]
    cached = embeddings.signals_key(SIZE, "crop")
    assert len(cache.signals(cached, [p.sha256 for p in photos])) == len(photos) - 1
    assert len(_tracebacks(caplog)) == 1
    cache.close()
