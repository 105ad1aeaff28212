"""What the service needs from a model, and what both runtimes share.

A `Classifier` takes raw uint8 pixels (and, for models whose model.json lists
`quality_features`, the photos' quality signals in SIGNAL_NAMES order; the classifier picks its
columns and standardises them itself) and returns P(discard). `decide` is the one rule that
turns a score into keep or discard. `KeepAll` stands in until a model is installed. The
runtimes themselves live in `litert.py` (CPU) and `tf.py` (GPU); `loader.py` picks one.

Models exported since 2026-12-04 have two named outputs: SCORE_OUTPUT, P(discard), and
EMBEDDING_OUTPUT, the base network's pooled features (what the head consumes), L2-normalised.
Scoring reads only the score; `embed` reads the embedding, and only the copy stage calls it,
for the rare photo the pixels call a copy. A model exported before has one output, the score:
its runtime says `embeds` False and `embed` gives None, as KeepAll does. Models trained since
2026-12-04 also record in model.json the cosine their embeddings need for copies (`copy_floor`,
measured by the trainer on the model's own copies, vision/copy_floor.py); the runtime offers it
as `copy_floor`, None for a model without one (the copy stage then uses MIN_EMBED_COSINE).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from photosieve.errors import ModelError
from photosieve.vision import imaging, quality

log = logging.getLogger(__name__)


KEEP, DISCARD = "keep", "discard"
SCORE_OUTPUT, EMBEDDING_OUTPUT = "score", "embedding"  # the exported model's output names


class Classifier(Protocol):
    """What the service needs from a model: raw uint8 pixels (and, when `uses_quality`, the
    photos' quality signals) in, P(discard) out."""

    version: str | None
    input_size: int
    fit: imaging.Fit
    threshold: float
    uses_quality: bool

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        """[N, S, S, 3] uint8 (+ [N, len(SIGNAL_NAMES)] signals) -> [N] float32 in [0, 1]."""
        ...

    def embed(self, pixels: np.ndarray) -> np.ndarray | None:
        """[N, S, S, 3] uint8 -> [N, D] float32 L2-normalised embeddings, or None when the
        model has no embedding output (exported before it had one, or no model at all)."""
        ...


def can_embed(classifier: object) -> bool:
    """Whether `classifier` offers embeddings (stand-ins without `embeds` do not)."""
    return bool(getattr(classifier, "embeds", False)) and callable(
        getattr(classifier, "embed", None)
    )


def copy_floor_of(classifier: object) -> float | None:
    """The embedding cosine `classifier` needs for copies (model.json's `copy_floor`), or None:
    no floor recorded, or a stand-in without the attribute."""
    found = getattr(classifier, "copy_floor", None)
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None


def model_pixels(classifier: Classifier, path: Path) -> np.ndarray:
    """The photo at `path` as scoring feeds it to `classifier` (same size, fit and JPEG
    drafting: the decode the copy stage embeds a pair with)."""
    return imaging.load(path, classifier.input_size, fit=classifier.fit, want_gray=True).pixels


def uses_quality(classifier: object) -> bool:
    """Whether `classifier` wants the quality signals (stand-ins without the attribute do not)."""
    return bool(getattr(classifier, "uses_quality", False))


def decoded_signals(decoded: imaging.Decoded) -> dict[str, float]:
    """The quality signals of one decode (it must have been loaded with want_gray=True)."""
    assert decoded.gray is not None, "quality signals need a decode with want_gray=True"
    return quality.compute_signals(
        decoded.gray,
        decoded.pixels,
        width=decoded.width,
        height=decoded.height,
        fmt=decoded.format,
        metadata=decoded.metadata,
    )


def quality_columns(features: Sequence[str]) -> list[int]:
    """Where each of a model's quality features sits in a SIGNAL_NAMES-ordered row."""
    unknown = [name for name in features if name not in quality.SIGNAL_NAMES]
    if unknown:
        raise ModelError(
            f"the model needs quality signals this photosieve does not compute: "
            f"{', '.join(unknown)}; update photosieve or retrain"
        )
    return [quality.SIGNAL_NAMES.index(name) for name in features]


def quality_input(quality_rows: np.ndarray | None, columns: Sequence[int], n: int) -> np.ndarray:
    """The model's `quality` tensor: the chosen columns of SIGNAL_NAMES-ordered rows."""
    rows = None if quality_rows is None else np.asarray(quality_rows, dtype=np.float32)
    if rows is None or rows.shape != (n, len(quality.SIGNAL_NAMES)):
        raise ValueError(
            f"this model takes the quality signals: [{n}, "
            f"{len(quality.SIGNAL_NAMES)}] in SIGNAL_NAMES order"
        )
    return np.ascontiguousarray(rows[:, list(columns)])


def warm_up(classifier: Classifier, batch: int) -> None:
    """Score one batch of black frames so a runtime's one-time set-up happens while the model
    loads, not on the owner's first photos: LiteRT's XNNPACK packs the weights at the first
    invoke (about 0.6 s here, as long as four batches), TensorFlow traces its function. A model
    that cannot score even this fails at load, where the service keeps the model it has."""
    if classifier.version is None:
        return
    size = classifier.input_size
    pixels = np.zeros((batch, size, size, 3), dtype=np.uint8)
    rows = None
    if uses_quality(classifier):
        rows = np.zeros((batch, len(quality.SIGNAL_NAMES)), dtype=np.float32)
    try:
        classifier.score(pixels, rows)
    except Exception as exc:
        raise ModelError(f"model {classifier.version} cannot score: {exc}") from exc


def decide(score: float, threshold: float) -> str:
    """score >= threshold means discard (quarantine); the contract's one rule."""
    return DISCARD if score >= threshold else KEEP


@dataclass
class KeepAll:
    """The classifier before any model exists: scores 0.0 with threshold 1.0, so all is kept."""

    version: str | None = None
    input_size: int = 299
    fit: imaging.Fit = imaging.DEFAULT_FIT
    threshold: float = 1.0
    uses_quality: bool = False
    embeds: bool = False
    copy_floor: float | None = None

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        return np.zeros(len(pixels), dtype=np.float32)

    def embed(self, pixels: np.ndarray) -> np.ndarray | None:
        return None


class ExportedModel:
    """What the LiteRT and TensorFlow classifiers share: model.json's facts about the exported
    model (its copy floor too: None when it records none), and where its quality features sit
    in a SIGNAL_NAMES-ordered row."""

    def __init__(
        self,
        *,
        version: str,
        input_size: int,
        fit: imaging.Fit,
        threshold: float,
        quality_features: Sequence[str],
        copy_floor: float | None = None,
    ) -> None:
        self.version: str | None = version
        self.input_size = input_size
        self.fit: imaging.Fit = fit
        self.threshold = threshold
        self.uses_quality = bool(quality_features)
        self._columns = quality_columns(quality_features)
        self.embeds = False  # set by the runtime once it finds the model's embedding output
        self.copy_floor = copy_floor

    def _blank_quality(self, n: int) -> np.ndarray | None:
        """Zero signals for an embedding call (the embedding does not depend on them)."""
        return np.zeros((n, len(self._columns)), np.float32) if self.uses_quality else None
