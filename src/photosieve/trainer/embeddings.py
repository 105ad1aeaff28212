"""The embedding cache: per-photo base-model embeddings, grouping facts and check pixels.

One SQLite file, `<state_dir>/cache/embeddings.sqlite`, keyed by content hash:
- `vectors`: the pooled base output of one photo for one embedding key (backbone, input size,
  fit, weights id). Phase 1 trains the head on these, so a retrain decodes only new photos.
- `facts`: dHash, camera and EXIF time, which the leak-free split needs (taken from the same
  decode, keyed by content hash alone).
- `pixels`: the decoded test photos (up to a cap) the export check runs both models on, so a
  retrain with a cached set decodes nothing at all.
It is a cache: deleting the folder costs one slow retrain, nothing else. Randomly initialised
bases (`--weights none`) save their weights beside it so later runs rebuild the very same base.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from photosieve.imaging import Fit
from photosieve.trainer.dataset import LabeledPhoto, decode_located, progress_bar
from photosieve.trainer.split import PhotoFacts, facts_from

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key TEXT NOT NULL, sha256 TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (key, sha256));
CREATE TABLE IF NOT EXISTS facts (
    sha256 TEXT PRIMARY KEY, dhash TEXT, camera TEXT, taken REAL);
CREATE TABLE IF NOT EXISTS pixels (
    size INTEGER NOT NULL, fit TEXT NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (size, fit, sha256));
"""
_CHUNK = 500  # SQLite's variable limit is far above; this keeps statements small
_DECODE_CHUNK = 64  # photos decoded, embedded and committed together


def embedding_key(backbone: str, size: int, fit: str, weights_id: str) -> str:
    return f"{backbone}-{size}-{fit}-{weights_id}"


class EmbeddingCache:
    """The cache database under `cache_dir`; one per training run, closed after."""

    def __init__(self, cache_dir: Path) -> None:
        self.dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(cache_dir / "embeddings.sqlite", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def base_weights_path(self, key: str) -> Path:
        return self.dir / "bases" / f"{key}.weights.h5"

    def _select(
        self, sql: str, fixed: tuple[object, ...], shas: Sequence[str]
    ) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = []
        for start in range(0, len(shas), _CHUNK):
            part = list(shas[start : start + _CHUNK])
            marks = ",".join("?" * len(part))
            rows += self.conn.execute(sql.format(marks=marks), (*fixed, *part)).fetchall()
        return rows

    def vectors(self, key: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._select(
            "SELECT sha256, vec FROM vectors WHERE key = ? AND sha256 IN ({marks})", (key,), shas
        )
        return {sha: np.frombuffer(blob, dtype=np.float32) for sha, blob in rows}

    def facts(self, shas: Sequence[str]) -> dict[str, PhotoFacts]:
        rows = self._select(
            "SELECT sha256, dhash, camera, taken FROM facts WHERE sha256 IN ({marks})", (), shas
        )
        return {
            sha: PhotoFacts(None if dh is None else int(dh, 16), camera, taken)
            for sha, dh, camera, taken in rows
        }

    def pixels(self, size: int, fit: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._select(
            "SELECT sha256, data FROM pixels WHERE size = ? AND fit = ? AND sha256 IN ({marks})",
            (size, fit), shas,
        )
        return {
            sha: np.frombuffer(blob, dtype=np.uint8).reshape(size, size, 3) for sha, blob in rows
        }

    def put(
        self,
        key: str,
        vectors: dict[str, np.ndarray],
        facts: dict[str, PhotoFacts],
        pixels: dict[str, np.ndarray],
        size: int,
        fit: str,
    ) -> None:
        """Store one decoded chunk's results in a single transaction."""
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?,?,?)",
                [(key, sha, np.asarray(v, np.float32).tobytes()) for sha, v in vectors.items()],
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO facts VALUES (?,?,?,?)",
                [(sha, None if f.dhash is None else f"{f.dhash:016x}", f.camera, f.taken)
                 for sha, f in facts.items()],
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO pixels VALUES (?,?,?,?)",
                [(size, fit, sha, np.ascontiguousarray(p, np.uint8).tobytes())
                 for sha, p in pixels.items()],
            )


def _missing(
    cache: EmbeddingCache, photos: Sequence[LabeledPhoto], key: str, size: int, fit: Fit,
    embedding: bool, wanted: set[str],
) -> list[LabeledPhoto]:
    shas = [p.sha256 for p in photos]
    have_vec = set(cache.vectors(key, shas)) if embedding else set(shas)
    have_facts = set(cache.facts(shas))
    have_pix = set(cache.pixels(size, fit, sorted(wanted)))
    return [p for p in photos if p.sha256 not in have_vec or p.sha256 not in have_facts
            or (p.sha256 in wanted and p.sha256 not in have_pix)]


def fill(
    cache: EmbeddingCache,
    photos: Sequence[LabeledPhoto],
    *,
    key: str,
    size: int,
    fit: Fit,
    embed: Callable[[np.ndarray], np.ndarray] | None,
    want_pixels: Iterable[str] = (),
    show_progress: bool = True,
    label: str = "Decoding photos",
) -> dict[str, str]:
    """Decode each photo whose vector (when `embed` is given), facts or wanted pixels are not
    cached yet, and cache them; returns {sha: reason} for photos that could not be used.
    Each chunk is committed as it is done, so an interrupted run keeps its progress."""
    wanted = set(want_pixels)
    todo = _missing(cache, photos, key, size, fit, embed is not None, wanted)
    failed: dict[str, str] = {}
    with progress_bar(len(todo), label, show_progress and bool(todo)) as bar:
        for start in range(0, len(todo), _DECODE_CHUNK):
            chunk = todo[start : start + _DECODE_CHUNK]
            good: list[tuple[str, np.ndarray, dict[str, str]]] = []
            for photo, decoded, reason in decode_located(chunk, size, fit):
                if decoded is None:
                    failed[photo.sha256] = reason or "unusable"
                    where = photo.candidates[0] if photo.candidates else photo.sha256
                    log.warning("skipped labelled photo %s: %s", where, reason)
                else:
                    good.append((photo.sha256, decoded.pixels, decoded.metadata))
            vectors: dict[str, np.ndarray] = {}
            if good and embed is not None:
                embedded = embed(np.stack([g[1] for g in good]))
                vectors = {sha: embedded[i] for i, (sha, _, _) in enumerate(good)}
            facts = {sha: facts_from(pix, meta) for sha, pix, meta in good}
            pixels = {sha: pix for sha, pix, _ in good if sha in wanted}
            cache.put(key, vectors, facts, pixels, size, fit)
            bar.update(len(chunk))
    return failed
