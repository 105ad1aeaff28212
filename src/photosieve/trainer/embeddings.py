"""The embedding cache: per-photo base-model embeddings, quality signals, grouping facts and
check pixels.

One SQLite file, `<state_dir>/cache/embeddings.sqlite`, keyed by content hash:
- `vectors`: the pooled base output of one photo for one embedding key (backbone, input size,
  fit, weights id). Phase 1 trains the head on these, so a retrain decodes only new photos.
- `signals`: the raw quality signals (SIGNAL_NAMES order) from the same decode as the vector,
  for one signals key: input size and fit (colourfulness reads the model's input),
  `quality.SIGNALS_VERSION` and the signal names, so a changed signal definition is recomputed
  instead of silently reused (a version, not a hash of the source: a comment edit must not
  cost a full re-decode).
- `facts`: dHash, the whole-frame and centre DCT hashes, camera and EXIF time, which the scene
  groups of the split and the certificate need (taken from the same decode, keyed by content
  hash alone). Rows of an older FACTS_VERSION (before the DCT hashes) are read but count as
  missing, so the next fill decodes those photos once more.
- `pixels`: the decoded test photos (up to a cap) the export check runs both models on, so a
  retrain with a cached set decodes nothing at all.
Every decode is the service's (`want_gray=True`, which also sets the JPEG draft scale), so the
cached vectors and pixels are of exactly the pixels the service will score; caches written
before that (layout 1) have their vectors and pixels dropped once.
It is a cache: deleting the folder costs one slow retrain, nothing else. Randomly initialised
bases (`--weights none`) save their weights beside it so later runs rebuild the very same base.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from photosieve.model import contract
from photosieve.trainer.dataset import LabeledPhoto, decode_located, progress_bar
from photosieve.trainer.split import PhotoFacts, facts_from
from photosieve.vision import imaging, quality
from photosieve.vision.imaging import Fit

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key TEXT NOT NULL, sha256 TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (key, sha256));
CREATE TABLE IF NOT EXISTS facts (
    sha256 TEXT PRIMARY KEY, dhash TEXT, camera TEXT, taken REAL);
CREATE TABLE IF NOT EXISTS pixels (
    size INTEGER NOT NULL, fit TEXT NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (size, fit, sha256));
CREATE TABLE IF NOT EXISTS signals (
    key TEXT NOT NULL, sha256 TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (key, sha256));
"""
LAYOUT = 2  # 2: decoded with want_gray=True, as the service decodes
FACTS_VERSION = 2  # 2: with the DCT hashes (whole, centre); 1 (NULL): dHash, camera, time
_FACTS_ADDED = ("whole TEXT", "centre TEXT", "version INTEGER")  # columns after version 1
_CHUNK = 500  # SQLite's variable limit is far above; this keeps statements small
_DECODE_CHUNK = 64  # photos decoded, embedded and committed together


def embedding_key(backbone: str, size: int, fit: str, weights_id: str) -> str:
    return f"{backbone}-{size}-{fit}-{weights_id}"


def signals_key(size: int, fit: str) -> str:
    """The cache key of quality signals: the model input they read, their definition's
    version and their names (a signal added or reordered is a new key even without a bump)."""
    names = hashlib.sha256(",".join(quality.SIGNAL_NAMES).encode()).hexdigest()[:8]
    return f"{size}-{fit}-v{quality.SIGNALS_VERSION}-{names}"


class EmbeddingCache:
    """The cache database under `cache_dir`; one per training run, closed after."""

    def __init__(self, cache_dir: Path) -> None:
        self.dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(cache_dir / "embeddings.sqlite", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)
        have = {row[1] for row in self.conn.execute("PRAGMA table_info(facts)")}
        for column in _FACTS_ADDED:
            if column.split()[0] not in have:
                self.conn.execute(f"ALTER TABLE facts ADD COLUMN {column}")
        if self.conn.execute("PRAGMA user_version").fetchone()[0] < LAYOUT:
            with self.conn:  # pixels decoded differently from the service's: decode again
                self.conn.execute("BEGIN")
                self.conn.execute("DELETE FROM vectors")
                self.conn.execute("DELETE FROM pixels")
                self.conn.execute(f"PRAGMA user_version = {LAYOUT}")

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

    def signals(self, key: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        """Raw quality signals (SIGNAL_NAMES order) of the cached photos among `shas`."""
        rows = self._select(
            "SELECT sha256, vec FROM signals WHERE key = ? AND sha256 IN ({marks})", (key,), shas
        )
        return {sha: np.frombuffer(blob, dtype=np.float32) for sha, blob in rows}

    def facts(self, shas: Sequence[str]) -> dict[str, PhotoFacts]:
        rows = self._select(
            "SELECT sha256, dhash, camera, taken, whole, centre FROM facts"
            " WHERE sha256 IN ({marks})",
            (),
            shas,
        )
        return {
            sha: PhotoFacts(_int(dh), camera, taken, _int(whole), _int(centre))
            for sha, dh, camera, taken, whole, centre in rows
        }

    def current_facts(self, shas: Sequence[str]) -> set[str]:
        """The hashes among `shas` whose facts are of this FACTS_VERSION."""
        sql = "SELECT sha256 FROM facts WHERE version >= ? AND sha256 IN ({marks})"
        return {row[0] for row in self._select(sql, (FACTS_VERSION,), shas)}

    def pixels(self, size: int, fit: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._select(
            "SELECT sha256, data FROM pixels WHERE size = ? AND fit = ? AND sha256 IN ({marks})",
            (size, fit),
            shas,
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
        signals: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Store one decoded chunk's results in a single transaction."""
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?,?,?)",
                [(key, sha, np.asarray(v, np.float32).tobytes()) for sha, v in vectors.items()],
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO signals VALUES (?,?,?)",
                [
                    (signals_key(size, fit), sha, np.asarray(v, np.float32).tobytes())
                    for sha, v in (signals or {}).items()
                ],
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO facts (sha256, dhash, camera, taken, whole, centre,"
                " version) VALUES (?,?,?,?,?,?,?)",
                [(sha, *_fact_row(f)) for sha, f in facts.items()],
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO pixels VALUES (?,?,?,?)",
                [
                    (size, fit, sha, np.ascontiguousarray(p, np.uint8).tobytes())
                    for sha, p in pixels.items()
                ],
            )


def _hex(value: int | None) -> str | None:
    return None if value is None else f"{value & 0xFFFFFFFFFFFFFFFF:016x}"


def _fact_row(f: PhotoFacts) -> tuple[object, ...]:
    """A fact's columns after sha256, as `put` stores them."""
    return (_hex(f.dhash), f.camera, f.taken, _hex(f.whole), _hex(f.centre), FACTS_VERSION)


def _int(text: str | None) -> int | None:
    return None if text is None else int(text, 16)


def _missing(
    cache: EmbeddingCache,
    photos: Sequence[LabeledPhoto],
    key: str,
    size: int,
    fit: Fit,
    embedding: bool,
    wanted: set[str],
) -> tuple[list[LabeledPhoto], set[str]]:
    """The photos to decode, and the hashes among them that already have a vector."""
    shas = [p.sha256 for p in photos]
    have_vec = set(cache.vectors(key, shas)) if embedding else set(shas)
    have_facts = cache.current_facts(shas)
    have_signals = set(cache.signals(signals_key(size, fit), shas))
    have_pix = set(cache.pixels(size, fit, sorted(wanted)))
    complete = have_vec & have_facts & have_signals
    todo = [
        p
        for p in photos
        if p.sha256 not in complete or (p.sha256 in wanted and p.sha256 not in have_pix)
    ]
    return todo, have_vec


def _describe(
    sha: str,
    decoded: imaging.Decoded,
    signals: dict[str, np.ndarray],
    facts: dict[str, PhotoFacts],
    where: object,
) -> str | None:
    """Add one photo's quality signals and facts; an unexpected error is its reason (None: ok)."""
    try:
        signals[sha] = quality.signal_vector(contract.decoded_signals(decoded))
        facts[sha] = facts_from(decoded.pixels, decoded.metadata, decoded.gray)
    except Exception as exc:  # this photo's reason; the rest go on
        log.exception("internal error reading the quality of %r", str(where))
        signals.pop(sha, None)
        return f"internal error: {exc!r}"
    return None


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
    """Decode each photo whose vector (when `embed` is given), quality signals, facts or wanted
    pixels are not cached yet, and cache them, all from that one decode; returns {sha: reason}
    for photos that could not be used. Each chunk is committed as it is done, so an
    interrupted run keeps its progress."""
    wanted = set(want_pixels)
    todo, have_vec = _missing(cache, photos, key, size, fit, embed is not None, wanted)
    failed: dict[str, str] = {}
    with progress_bar(len(todo), label, show_progress and bool(todo)) as bar:
        for start in range(0, len(todo), _DECODE_CHUNK):
            chunk = todo[start : start + _DECODE_CHUNK]
            good: list[tuple[str, imaging.Decoded]] = []
            signals: dict[str, np.ndarray] = {}
            facts: dict[str, PhotoFacts] = {}
            for photo, decoded, reason in decode_located(chunk, size, fit, want_gray=True):
                where = photo.candidates[0] if photo.candidates else photo.sha256
                if decoded is not None:
                    reason = _describe(photo.sha256, decoded, signals, facts, where)
                if reason is not None:
                    failed[photo.sha256] = reason
                    log.warning("skipped labelled photo %r: %s", str(where), reason)
                else:
                    assert decoded is not None
                    good.append((photo.sha256, decoded))
            vectors: dict[str, np.ndarray] = {}
            to_embed = [(sha, d) for sha, d in good if sha not in have_vec]
            if to_embed and embed is not None:
                embedded = embed(np.stack([d.pixels for _, d in to_embed]))
                vectors = {sha: embedded[i] for i, (sha, _) in enumerate(to_embed)}
            pixels = {sha: d.pixels for sha, d in good if sha in wanted}
            cache.put(key, vectors, facts, pixels, size, fit, signals)
            bar.update(len(chunk))
    return failed
