"""Quality signals in the trainer without TensorFlow: the standardisation the model bakes in,
and the embedding cache keeping each photo's signals from the same decode as its pixels."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosieve.model import contract
from photosieve.state import open_state
from photosieve.trainer import embeddings
from photosieve.trainer.dataset import LabeledPhoto, labeled_photos
from photosieve.trainer.labels import import_labels
from photosieve.trainer.model import Standardizer
from photosieve.vision import imaging, quality

SIZE = 32


def test_standardizer_leaves_constant_signals_unscaled() -> None:
    rows = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 0.0], [5.0, 5.0, 0.0]], np.float32)
    found = Standardizer.fit(rows)
    np.testing.assert_allclose(found.mean, [3.0, 5.0, 0.0])
    # Column 0 varies (population std); 1 and 2 never do, so they keep a std of 1 instead of
    # dividing an unseen value by ~0 at inference.
    np.testing.assert_allclose(found.std, [np.sqrt(8 / 3), 1.0, 1.0], rtol=1e-6)
    assert found.mean.dtype == found.std.dtype == np.float32
    assert found.varied is not None and found.varied.tolist() == [True, False, False]
    assert found.describe(("a", "b", "c"))["a"] == [3.0, pytest.approx(1.632993, abs=1e-6)]
    # Non-finite values are left out of the statistics instead of poisoning them.
    odd = np.array([[1.0, np.nan], [3.0, np.nan], [np.inf, np.nan]], np.float32)
    robust = Standardizer.fit(odd)
    np.testing.assert_allclose(robust.mean, [2.0, 0.0])
    np.testing.assert_allclose(robust.std, [1.0, 1.0])


def _labelled(tmp_path: Path, n: int = 3) -> list[LabeledPhoto]:
    rng = np.random.default_rng(5)
    for label in ("keep", "discard"):
        folder = tmp_path / "photos" / label
        folder.mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (60 + 10 * i, 90, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.jpg", quality=85)
    state = open_state(tmp_path / "state")
    import_labels(
        state,
        {"keep": [tmp_path / "photos" / "keep"], "discard": [tmp_path / "photos" / "discard"]},
    )
    return labeled_photos(state)


def _fill(cache: embeddings.EmbeddingCache, photos: list[LabeledPhoto]) -> dict[str, str]:
    return embeddings.fill(
        cache, photos, key="k", size=SIZE, fit="crop", embed=None, show_progress=False
    )


def test_signals_are_cached_from_the_services_decode_and_recomputed_when_quality_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = _labelled(tmp_path)
    cache = embeddings.EmbeddingCache(tmp_path / "cache")
    decoded: list[Path] = []
    real = imaging.load_many

    def counting(paths: list[Path], *args: object, **kwargs: object) -> object:
        decoded.extend(paths)
        assert kwargs.get("want_gray") is True  # the service's decode, draft scale and all
        return real(paths, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(imaging, "load_many", counting)
    try:
        assert _fill(cache, photos) == {}
        assert len(decoded) == 6
        key = embeddings.signals_key(SIZE, "crop")
        cached = cache.signals(key, [p.sha256 for p in photos])
        assert set(cached) == {p.sha256 for p in photos}
        one = photos[0]
        fresh = imaging.load(one.candidates[0], SIZE, fit="crop", want_gray=True)
        expected = quality.signal_vector(contract.decoded_signals(fresh))
        np.testing.assert_array_equal(cached[one.sha256], expected)

        decoded.clear()
        assert _fill(cache, photos) == {} and decoded == []  # all cached: nothing decoded
        # A bumped SIGNALS_VERSION means other signals: they are computed again, not reused.
        monkeypatch.setattr(quality, "SIGNALS_VERSION", quality.SIGNALS_VERSION + 1)
        assert embeddings.signals_key(SIZE, "crop") != key
        assert _fill(cache, photos) == {} and len(decoded) == 6
        fresh_key = embeddings.signals_key(SIZE, "crop")
        assert set(cache.signals(fresh_key, [p.sha256 for p in photos])) == {
            p.sha256 for p in photos
        }
    finally:
        cache.close()


def test_a_cache_from_the_old_decode_drops_its_vectors_and_pixels(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    conn = sqlite3.connect(folder / "embeddings.sqlite")
    conn.executescript(embeddings.SCHEMA)  # user_version 0: written before layout 2
    conn.execute("INSERT INTO vectors VALUES ('k', 'a', ?)", (np.ones(2, np.float32).tobytes(),))
    conn.execute("INSERT INTO facts VALUES ('a', NULL, NULL, NULL)")
    conn.commit()
    conn.close()
    cache = embeddings.EmbeddingCache(folder)
    try:
        assert cache.vectors("k", ["a"]) == {}  # made from other pixels: embedded again
        assert set(cache.facts(["a"])) == {"a"}  # facts do not depend on the draft scale
        assert cache.conn.execute("PRAGMA user_version").fetchone()[0] == embeddings.LAYOUT
    finally:
        cache.close()


def test_the_signals_key_follows_the_version_and_names_not_the_source_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosieve.vision import cepstrum, reblur

    before = embeddings.signals_key(SIZE, "crop")
    # A comment edited in any module of the signals' definition keeps the cached signals.
    for module in (quality, reblur, cepstrum):
        edited = tmp_path / f"{module.__name__}.py"
        edited.write_bytes(Path(str(module.__file__)).read_bytes() + b"\n# a comment\n")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(edited))
            assert embeddings.signals_key(SIZE, "crop") == before, module.__name__
    with monkeypatch.context() as patch:
        patch.setattr(quality, "SIGNALS_VERSION", quality.SIGNALS_VERSION + 1)
        assert embeddings.signals_key(SIZE, "crop") != before
    with monkeypatch.context() as patch:  # a signal added without a bump is still a new key
        patch.setattr(quality, "SIGNAL_NAMES", (*quality.SIGNAL_NAMES, "new_signal"))
        assert embeddings.signals_key(SIZE, "crop") != before
    assert embeddings.signals_key(SIZE, "crop") == before
