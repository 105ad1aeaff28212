"""The training pipeline as one plain function: labels -> split -> fit -> threshold -> export.

`train_from_state` is what `photosieve train` (a thin shell) and the retrain job call. With
install=False it leaves the new version beside the current one without switching, so a caller
can compare it first and then call `photosieve.trainer.export.install`.

Order of work: make sure every labelled photo has cached facts and quality signals (and, for
embedding backbones, an embedding), split by near-duplicate group, cache pixels of the test
photos for the export check, standardise the signals on the training split, fit (phase 1 on
embeddings + signals; phase 2 / small-cnn on pixels + signals), choose the threshold on
validation, measure on test, export, report, install. `quality=False` trains the
embedding-only head of before (for comparison); its model takes pixels alone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.config import Config
from photosieve.errors import PhotosieveError
from photosieve.model import store as modelstore
from photosieve.state import State
from photosieve.trainer import certify, crossfit, embeddings, export, metrics, split
from photosieve.trainer import model as netlib
from photosieve.trainer import version as record
from photosieve.trainer.dataset import LabeledPhoto, labeled_photos
from photosieve.trainer.options import TrainOptions, validate
from photosieve.trainer.phases import Run, Split, fit_head, fit_on_pixels, predict
from photosieve.trainer.progress import quiet_tensorflow
from photosieve.vision import imaging

log = logging.getLogger(__name__)

MIN_PER_CLASS = 5
CHECK_MAX = 256  # test photos whose pixels are cached for the export check


@dataclass
class TrainResult:
    version: str
    path: Path
    meta: dict[str, Any]
    report: str
    installed: bool
    skipped: dict[str, str] = field(default_factory=dict)  # content hash -> why unusable
    # content hash -> the installed model's score: every photo when cross-fitted, else the
    # test split (what the export check and `evaluate` can reproduce)
    test_scores: dict[str, float] = field(default_factory=dict)
    # content hash -> a score from a model that never trained on it (out-of-fold or test)
    held_out: dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.meta["metrics"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def test_hashes(self) -> list[str]:
        return list(self.meta["test_hashes"])


def configure_tensorflow(options: TrainOptions) -> None:
    """Quiet logs, threads and seeds; threads can only be set before TensorFlow's first op."""
    quiet_tensorflow(options.verbose > 0)
    import keras
    import tensorflow as tf

    if options.threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(options.threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, options.threads))
        except RuntimeError:
            log.debug("TensorFlow already initialised; thread settings unchanged")
    keras.utils.set_random_seed(options.seed)


def build_base(options: TrainOptions, cache: embeddings.EmbeddingCache, key: str) -> Any:
    """The backbone; a random base is saved once per key so later runs rebuild the same one."""
    size = options.size()
    if options.weights is not None or options.backbone == "small-cnn":
        return netlib.build_base(options.backbone, size, options.weights)
    saved = cache.base_weights_path(key)
    base = netlib.build_base(options.backbone, size, str(saved) if saved.is_file() else None)
    if not saved.is_file():
        netlib.save_base(base, saved)
    return base


def _network(
    options: TrainOptions,
    base: Any,
    run: Run,
    signals: dict[str, np.ndarray],
    vectors: dict[str, np.ndarray] | None,
) -> netlib.Network:
    """The full network; the head standardises the cached embeddings (when there are any:
    a two-tower head with the signals) and the quality signals (unless trained without) on
    the training split's statistics."""
    members = run.members("train")
    stats = (
        netlib.Standardizer.fit(np.stack([vectors[p.sha256] for p in members]))
        if vectors is not None
        else None
    )
    if not options.quality:
        return netlib.build_network(base, options.size(), embedding=stats)
    train = [signals[p.sha256] for p in members]
    return netlib.build_network(
        base,
        options.size(),
        netlib.Standardizer.fit(np.stack(train)),
        seed=options.seed,
        embedding=stats,
    )


def _check_counts(photos: list[LabeledPhoto]) -> None:
    keep = sum(p.label == "keep" for p in photos)
    discard = len(photos) - keep
    if keep < MIN_PER_CLASS or discard < MIN_PER_CLASS:
        raise PhotosieveError(
            f"need at least {MIN_PER_CLASS} usable keep and {MIN_PER_CLASS} discard labels "
            f"(have {keep} keep, {discard} discard); label more photos first"
        )


def _split(
    cache: embeddings.EmbeddingCache,
    photos: list[LabeledPhoto],
    pinned_test: Collection[str],
    cross_fitted: bool,
) -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """(assignment, folds, groups): cross-fitted, every photo trains the installed head and
    the folds deal them out; else the train/val/test split and no folds. Both, and the
    certificate, keep near-duplicate groups (split.near_duplicate_groups) whole."""
    shas = [p.sha256 for p in photos]
    groups = split.near_duplicate_groups(cache.facts(shas))
    labels = {p.sha256: p.label for p in photos}
    if cross_fitted:
        folds = split.fold_photos(labels, groups, crossfit.K_FOLDS)
        return dict.fromkeys(shas, "train"), folds, groups
    return split.split_photos(labels, groups, pinned_test=pinned_test), {}, groups


def _embedding_splits(
    vectors: dict[str, np.ndarray], run: Run, net: netlib.Network, signals: dict[str, np.ndarray]
) -> dict[str, Split]:
    out = {}
    for name in split.SPLITS:
        members = run.members(name)
        x = np.array([vectors[p.sha256] for p in members], np.float32).reshape(-1, net.dim)
        q = (
            np.array([signals[p.sha256] for p in members], np.float32).reshape(-1, net.quality_dim)
            if net.quality_dim
            else None
        )
        out[name] = Split(
            x, np.array([p.y for p in members], np.int64), [p.sha256 for p in members], q
        )
    return out


def _prepare(
    labelled: list[LabeledPhoto],
    options: TrainOptions,
    base: Any,
    cache: embeddings.EmbeddingCache,
    key: str,
    pinned_test: Collection[str],
) -> Run:
    """Fill the cache (embeddings, signals, facts), split, then cache the test photos' check
    pixels."""
    uses_cache = options.backbone in netlib.EMBEDDING_BACKBONES
    embedder = netlib.build_embedder(base, options.size()) if uses_cache else None
    fill = functools.partial(
        embeddings.fill,
        cache,
        key=key,
        size=options.size(),
        fit=imaging.DEFAULT_FIT,
        embed=netlib.embed_fn(embedder, options.batch_size) if uses_cache else None,
        show_progress=options.progress,
    )
    skipped = fill(labelled)
    photos = [p for p in labelled if p.sha256 not in skipped]
    _check_counts(photos)
    assignment, folds, groups = _split(cache, photos, pinned_test, options.cross_fitted())
    held_out = "train" if folds else "test"  # the photos the export check runs on
    check = sorted(s for s, where in assignment.items() if where == held_out)[:CHECK_MAX]
    wanted = set(check)
    # Their embeddings and facts are cached by now; this decodes only missing check pixels.
    skipped |= fill(
        [p for p in photos if p.sha256 in wanted],
        want_pixels=check,
        embed=None,
        label="Caching photos for the export check",
    )
    photos = [p for p in photos if p.sha256 not in skipped]
    assignment = {s: w for s, w in assignment.items() if s not in skipped}
    folds = {s: f for s, f in folds.items() if s not in skipped}
    return Run(photos, assignment, folds, groups, skipped=skipped)


def run_training(
    config: Config,
    state: State,
    options: TrainOptions,
    echo: Callable[[str], None],
    pinned_test: Collection[str] = (),
    max_keep_loss: float = 0.01,
) -> tuple[Run, netlib.Network, Split]:
    """Everything before export; returns the run, the network and the export check's inputs
    (a Split of check pixels and, with quality, their signals; y is unused)."""
    size = options.size()
    labelled = labeled_photos(state)
    _check_counts(labelled)
    configure_tensorflow(options)
    key = embeddings.embedding_key(
        options.backbone,
        size,
        imaging.DEFAULT_FIT,
        netlib.weights_id(options.weights, options.seed),
    )
    cache = embeddings.EmbeddingCache(config.state_dir / "cache")
    try:
        base = build_base(options, cache, key)
        echo(
            f"{len(labelled)} labelled photos; {options.backbone} at {size}x{size}"
            + ("" if options.quality else "; without quality signals")
        )
        run = _prepare(labelled, options, base, cache, key, pinned_test)
        signals = cache.signals(
            embeddings.signals_key(size, imaging.DEFAULT_FIT), [p.sha256 for p in run.photos]
        )
        cached = options.backbone in netlib.EMBEDDING_BACKBONES
        vectors = cache.vectors(key, [p.sha256 for p in run.photos]) if cached else None
        net = _network(options, base, run, signals, vectors)
        if vectors is not None:
            data = _embedding_splits(vectors, run, net, signals)
            _fit_head_phase(run, net, options, data, max_keep_loss)
        if options.fine_tune_blocks or options.backbone not in netlib.EMBEDDING_BACKBONES:
            _fit_pixels(run, options, net, config.state_dir / "cache" / "tmp", signals)
        return run, net, _check_inputs(cache, run, net, signals, size)
    finally:
        cache.close()


def _fit_head_phase(
    run: Run,
    net: netlib.Network,
    options: TrainOptions,
    data: dict[str, Split],
    max_keep_loss: float,
) -> None:
    """Phase 1 on cached embeddings: cross-fitted when the run has folds (the threshold's
    scores come out of fold), else fitted on the train split and scored on every split."""
    if run.folds:
        crossfit.run_cross_fit(run, net, options, data["train"], max_keep_loss)
        return
    settings = options.fit_settings(data["train"].y)
    for model in net.fitted:  # "head", or "head_quality" then "head_embedding"
        run.history[model.name] = fit_head(model, data["train"], data["val"], settings)
    run.scores = {
        name: Split(predict(net.head, s.inputs, options.batch_size), s.y, s.shas)
        for name, s in data.items()
    }


def _check_inputs(
    cache: embeddings.EmbeddingCache,
    run: Run,
    net: netlib.Network,
    signals: dict[str, np.ndarray],
    size: int,
) -> Split:
    """The cached held-out photos the export check runs both models on."""
    wanted = sorted(record.held_out(run).shas)[:CHECK_MAX]
    pixels = cache.pixels(size, imaging.DEFAULT_FIT, wanted)
    shas = [s for s in wanted if s in pixels]
    x = np.array([pixels[s] for s in shas], np.uint8).reshape(-1, size, size, 3)
    q = (
        np.array([signals[s] for s in shas], np.float32).reshape(-1, net.quality_dim)
        if net.quality_dim
        else None
    )
    return Split(x, np.zeros(len(shas), np.int64), shas, q)


def _fit_pixels(
    run: Run,
    options: TrainOptions,
    net: netlib.Network,
    workdir: Path,
    signals: dict[str, np.ndarray],
) -> None:
    fine_tune = options.backbone != "small-cnn"
    train_y = np.array([p.y for p in run.members("train")], np.int64)
    settings = options.fit_settings(
        train_y,
        netlib.FINE_TUNE_LR if fine_tune else options.lr(),
        3 if fine_tune else options.patience,
        options.pixel_epochs(),
    )
    fit_on_pixels(
        run,
        settings,
        net,
        backbone=options.backbone,
        size=options.size(),
        blocks=options.fine_tune_blocks,
        workdir=workdir,
        show=options.progress,
        signals=signals,
    )
    run.photos = [p for p in run.photos if p.sha256 not in run.skipped]
    run.assignment = {s: w for s, w in run.assignment.items() if s not in run.skipped}


def train_from_state(
    config: Config,
    state: State,
    options: TrainOptions,
    *,
    install: bool = True,
    echo: Callable[[str], None] = log.info,
    test_hashes: Collection[str] = (),
) -> TrainResult:
    """Train, evaluate, export a new model version and (if `install`) make it current.

    `test_hashes` (e.g. the current model's `test_hashes`) are kept in the test split, so
    the retrain job can compare both models on photos neither was trained on."""
    validate(options)
    max_keep_loss = (
        config.training.max_keep_loss if options.max_keep_loss is None else options.max_keep_loss
    )
    run, net, check = run_training(config, state, options, echo, test_hashes, max_keep_loss)
    chosen = record.threshold(run, max_keep_loss)
    version, path, meta, text = _publish(config, options, (run, net, check), chosen, max_keep_loss)
    if install:
        export.install(config.models_dir, version, state, config.training.keep_versions)
    test = record.held_out(run)
    installed = run.scores["train"] if "oof" in run.scores else test
    return TrainResult(
        version,
        path,
        meta,
        text,
        install,
        run.skipped,
        record.by_hash(installed),
        record.by_hash(test),
    )


def _publish(
    config: Config,
    options: TrainOptions,
    trained: tuple[Run, netlib.Network, Split],
    chosen: tuple[certify.Certificate, str],
    max_keep_loss: float,
) -> tuple[str, Path, dict[str, Any], str]:
    """Export a new version and publish it beside the others (not yet current): its version,
    folder, model.json and report text."""
    run, net, check = trained
    test = record.held_out(run)
    config.models_dir.mkdir(parents=True, exist_ok=True)
    version = modelstore.new_version_name(config.models_dir)
    test_metrics = metrics.summarize(test.x, test.y, chosen[0].threshold)
    basis = {"basis": "cross-fitted" if "oof" in run.scores else "test"}
    meta = record.meta_of(version, options, run, chosen, test_metrics | basis, max_keep_loss, net)
    staging = export.staging_dir(config.models_dir, version)
    text = record.write_version(staging, meta, run, net, check, chosen, options)
    return version, export.publish(staging, config.models_dir, version), meta, text
