"""The model's copy floor, measured at export on the model as the service will run it.

`section` gives model.json's `copy_floor` (vision/copy_floor.py has the rule and the copies):
the TFLite file being installed is loaded with the service's CPU runtime (LiteRTClassifier, as
the loader builds it; quantisation moves the embeddings, so the float Keras model would not
do), and a seeded sample of up to SAMPLE labelled photos is embedded with copies of each. A
photo and its copies are decoded exactly as the copy stage decodes a pair
(contract.model_pixels); the copies are made in memory with Pillow and written to a temporary
folder only because the service's decoder reads files. The cosines of each photo with its own
copies, and of every two different sampled photos, go to `choose_floor`. A GPU service runs
the float SavedModel instead and uses the same floor: the two runtimes' embeddings of a photo
differ little (a cosine above 0.99 on the test suite's tiny network, tests/model/
test_embedding.py), less than the floor's margin; not measured on InceptionV3.

Cost: SAMPLE x (1 + 4) decodes and embeddings at the model's input size (InceptionV3 on LiteRT
is about 20 ms an image on one core) plus the copies' encoding at MASTER_SIDE: a few seconds.

Nothing here may fail the training: a model without an embedding output gives no section
(logged at debug level); any other trouble is logged as a warning and gives no section either.
The service then uses MIN_EMBED_COSINE. One photo that cannot be found or decoded is skipped.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.errors import BadInput
from photosieve.model.contract import model_pixels
from photosieve.model.litert import LiteRTClassifier
from photosieve.trainer.dataset import LabeledPhoto, locate
from photosieve.vision import copies, copy_floor, imaging

log = logging.getLogger(__name__)

SAMPLE = 24  # labelled photos measured (each with its four copies)
_BATCH = 16  # photos embedded at a time


def section(
    tflite: Path,
    meta: Mapping[str, Any],
    photos: Sequence[LabeledPhoto],
    *,
    seed: int,
    threads: int | None = None,
) -> dict[str, Any]:
    """{"copy_floor": ...} for model.json, or {} when no floor could be measured (logged)."""
    try:
        classifier = LiteRTClassifier(
            tflite,
            version=str(meta["version"]),
            input_size=int(meta["input_size"]),
            fit=meta.get("fit", imaging.DEFAULT_FIT),
            threshold=float(meta["threshold"]),
            num_threads=threads,
            quality_features=tuple(meta.get("quality_features") or ()),
        )
        if not classifier.embeds:
            log.debug("%s has no embedding output: no copy floor", tflite)
            return {}
        own, distinct, measured = _cosines(classifier, photos, np.random.default_rng(seed))
        chosen = copy_floor.choose_floor(own, distinct)
    except Exception as exc:  # a measurement: the model is good without it
        log.warning(
            "no copy floor measured (%s); the service will use %s",
            *(exc, copies.MIN_EMBED_COSINE),
        )
        return {}
    log.info("copy floor %s from %d copies of %d photos", chosen.floor, chosen.copies, measured)
    return {"copy_floor": chosen.as_json() | {"photos": measured, "model": tflite.name}}


def _cosines(
    classifier: LiteRTClassifier, photos: Sequence[LabeledPhoto], rng: np.random.Generator
) -> tuple[list[float], list[float], int]:
    """The cosines of each sampled photo with each of its copies and of every two different
    sampled photos, and how many photos were measured."""
    originals: list[np.ndarray] = []
    made: list[np.ndarray] = []
    owner: list[int] = []
    with tempfile.TemporaryDirectory(prefix="photosieve-copy-floor-") as folder:
        for path in _sample(photos, rng):
            found = _decoded(classifier, path, rng, Path(folder))
            if found is None:
                continue
            owner.extend([len(originals)] * (len(found) - 1))
            originals.append(found[0])
            made.extend(found[1:])
    if not originals:
        return [], [], 0
    own, copied = _embed(classifier, np.stack(originals)), _embed(classifier, np.stack(made))
    return (
        copy_floor.paired_cosines(own[owner], copied).tolist(),
        copy_floor.pairwise_cosines(own).tolist(),
        len(originals),
    )


def _sample(photos: Sequence[LabeledPhoto], rng: np.random.Generator) -> list[Path]:
    """Up to SAMPLE labelled photos' files, drawn with `rng` (missing ones are passed over)."""
    ordered = sorted(photos, key=lambda p: p.sha256)
    found: list[Path] = []
    for i in rng.permutation(len(ordered)):
        path = locate(ordered[int(i)])
        if path is not None:
            found.append(path)
        if len(found) == SAMPLE:
            break
    return found


def _decoded(
    classifier: LiteRTClassifier, path: Path, rng: np.random.Generator, folder: Path
) -> list[np.ndarray] | None:
    """The photo's model pixels, then its copies' (None, logged, if any of them fails)."""
    try:
        frame = imaging.load_frame(path, copy_floor.MASTER_SIDE)
        files = []
        for n, data in enumerate(copy_floor.make_copies(frame, rng).values()):
            files.append(folder / f"copy-{n}")
            files[-1].write_bytes(data)
        return [model_pixels(classifier, p) for p in (path, *files)]
    except (BadInput, OSError, ValueError) as exc:
        log.debug("%s: left out of the copy floor (%s)", path, exc)
        return None


def _embed(classifier: LiteRTClassifier, pixels: np.ndarray) -> np.ndarray:
    """The embeddings of `pixels`, _BATCH at a time (as the service's batches are)."""
    out = []
    for start in range(0, len(pixels), _BATCH):
        vectors = classifier.embed(pixels[start : start + _BATCH])
        if vectors is None:
            raise ValueError("the model gave no embeddings")
        out.append(vectors)
    return np.concatenate(out)
