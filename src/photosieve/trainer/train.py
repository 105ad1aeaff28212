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
import json
import logging
import math
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from photosieve import __version__
from photosieve.config import Config
from photosieve.errors import PhotosieveError
from photosieve.model import store as modelstore
from photosieve.state import State
from photosieve.trainer import certify, crossfit, embeddings, export, metrics, report, split
from photosieve.trainer import model as netlib
from photosieve.trainer.dataset import LabeledPhoto, labeled_photos
from photosieve.trainer.phases import FitSettings, Run, Split, fit_head, fit_on_pixels, predict
from photosieve.trainer.progress import PhaseBar, quiet_tensorflow
from photosieve.vision import imaging, quality

log = logging.getLogger(__name__)

MIN_PER_CLASS = 5
CHECK_MAX = 256  # test photos whose pixels are cached for the export check
CROSS_FITTED = "cross_fitted.json"  # content hash -> out-of-fold score, beside model.json


AUTO_EPOCHS = 30  # per phase, when the owner gives no --epochs
# A head fitted on a few hundred labels sees ~10 batches an epoch, so 30 epochs are ~300 Adam
# steps: too few for the signals' hidden layer. On the benchmark album early stopping was
# still improving at epoch 30 in 25 folds of 25; allowed 143, it mostly stopped by itself
# (82 and 55 epochs the commonest; accuracy 0.914 -> 0.920). Without --epochs the head gets
# room for this many steps; early stopping on validation loss still ends it sooner.
HEAD_MIN_STEPS = 1000


@dataclass(frozen=True)
class TrainOptions:
    """Everything `photosieve train` lets the owner choose (recorded in model.json)."""

    backbone: str = "inceptionv3"
    weights: str | None = "imagenet"  # "imagenet", a weights file path, or None (random)
    image_size: int | None = None  # None: the backbone's default
    epochs: int | None = None  # per phase; None: head_epochs / AUTO_EPOCHS
    batch_size: int = 32
    seed: int = 1337
    fine_tune_blocks: int = 0
    max_keep_loss: float | None = None  # None: config training.max_keep_loss
    learning_rate: float | None = None  # head / small-cnn Adam rate; None: the backbone's
    patience: int = 5
    verbose: int = 0  # Keras: 0 silent (the phase bars show progress), 2 one line per epoch
    progress: bool = True  # the decoding progress bar
    threads: int | None = None  # TensorFlow intra-op threads (None: TensorFlow decides)
    quality: bool = True  # the head also learns from the quality signals

    def size(self) -> int:
        return self.image_size or netlib.DEFAULT_SIZE[self.backbone]

    def lr(self) -> float:
        return self.learning_rate or netlib.DEFAULT_LR[self.backbone]

    def head_epochs(self, n_train: int) -> int:
        """Phase 1's epoch limit for `n_train` training photos: --epochs when given, else
        AUTO_EPOCHS or enough epochs for HEAD_MIN_STEPS batches, whichever is more."""
        if self.epochs is not None:
            return self.epochs
        batches = max(1, math.ceil(n_train / self.batch_size))
        return max(AUTO_EPOCHS, math.ceil(HEAD_MIN_STEPS / batches))

    def cross_fitted(self) -> bool:
        """Whether the threshold comes from cross-fitting (only the head is fitted, on cached
        embeddings); fine-tuning and small-cnn fit on pixels and keep a validation split."""
        return self.backbone in netlib.EMBEDDING_BACKBONES and not self.fine_tune_blocks

    def pixel_epochs(self) -> int:
        """The epoch limit of fine-tuning and of small-cnn (pixels: each step is costly)."""
        return AUTO_EPOCHS if self.epochs is None else self.epochs


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


def validate(options: TrainOptions) -> None:
    """Reject impossible option combinations with one clear line."""
    b = options.backbone
    if b not in netlib.BACKBONES:
        known = ", ".join(netlib.BACKBONES)
        raise PhotosieveError(f"unknown backbone {b!r}; choose one of {known}")
    if options.weights == "imagenet" and b != "inceptionv3":
        raise PhotosieveError(f"--weights imagenet exists only for inceptionv3, not {b}")
    if options.weights not in (None, "imagenet") and not Path(options.weights).is_file():
        raise PhotosieveError(f"weights file not found: {options.weights}")
    if options.size() < netlib.MIN_SIZE[b]:
        raise PhotosieveError(f"--image-size must be at least {netlib.MIN_SIZE[b]} for {b}")
    if b == "small-cnn" and options.fine_tune_blocks:
        raise PhotosieveError(
            "small-cnn trains every layer already; --fine-tune-blocks is for inceptionv3 and tiny"
        )
    if not 0 <= options.fine_tune_blocks <= netlib.max_blocks(b):
        raise PhotosieveError(f"--fine-tune-blocks must be 0..{netlib.max_blocks(b)} for {b}")
    if (options.epochs is not None and options.epochs < 1) or options.batch_size < 1:
        raise PhotosieveError("--epochs and --batch-size must be at least 1")


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
) -> tuple[dict[str, str], dict[str, int]]:
    """(assignment, folds): cross-fitted, every photo trains the installed head and the
    folds deal them out; else the train/val/test split and no folds."""
    shas = [p.sha256 for p in photos]
    groups = split.near_duplicate_groups(cache.facts(shas))
    labels = {p.sha256: p.label for p in photos}
    if cross_fitted:
        return dict.fromkeys(shas, "train"), split.fold_photos(labels, groups, crossfit.K_FOLDS)
    return split.split_photos(labels, groups, pinned_test=pinned_test), {}


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


def _settings(
    options: TrainOptions, train_y: np.ndarray, lr: float, patience: int, epochs: int
) -> FitSettings:
    return FitSettings(
        epochs,
        options.batch_size,
        options.seed,
        lr,
        patience,
        options.verbose,
        split.class_weights(train_y.tolist()),
    )


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
    assignment, folds = _split(cache, photos, pinned_test, options.cross_fitted())
    held_out = "train" if folds else "test"  # the photos the export check runs on
    check = sorted(s for s, where in assignment.items() if where == held_out)[:CHECK_MAX]
    wanted = set(check)
    # Their embeddings and facts are cached by now; this decodes only missing check pixels.
    skipped |= fill(
        [p for p in photos if p.sha256 in wanted],
        want_pixels=check,
        embed=None,
        label="Caching test photos for the export check",
    )
    photos = [p for p in photos if p.sha256 not in skipped]
    assignment = {s: w for s, w in assignment.items() if s not in skipped}
    folds = {s: f for s, f in folds.items() if s not in skipped}
    return Run(photos, assignment, folds, skipped=skipped)


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
        if vectors is not None and run.folds:
            data = _embedding_splits(vectors, run, net, signals)
            _cross_fit(run, net, options, data["train"], max_keep_loss)
        elif vectors is not None:
            data = _embedding_splits(vectors, run, net, signals)
            train_y = data["train"].y
            settings = _settings(
                options, train_y, options.lr(), options.patience, options.head_epochs(len(train_y))
            )
            for model in net.fitted:  # "head", or "head_quality" then "head_embedding"
                run.history[model.name] = fit_head(model, data["train"], data["val"], settings)
            run.scores = {
                name: Split(predict(net.head, s.inputs, options.batch_size), s.y, s.shas)
                for name, s in data.items()
            }
        if options.fine_tune_blocks or options.backbone not in netlib.EMBEDDING_BACKBONES:
            _fit_pixels(run, options, net, config.state_dir / "cache" / "tmp", signals)
        return run, net, _check_inputs(cache, run, net, signals, size)
    finally:
        cache.close()


def _cross_fit(
    run: Run, net: netlib.Network, options: TrainOptions, data: Split, max_keep_loss: float
) -> None:
    """Out-of-fold scores for every photo (run.scores["oof"]), then the installed head fitted
    on every photo; one progress bar for each of the two phases."""
    fold = np.array([run.folds[s] for s in data.shas], np.int64)
    if len(set(fold.tolist())) < 3:
        raise PhotosieveError(
            "the labelled photos form fewer than 3 groups of distinct photos, too few to "
            "cross-fit; label more photos first"
        )

    def settings(y: np.ndarray) -> FitSettings:
        epochs = options.head_epochs(len(y))
        return _settings(options, y, options.lr(), options.patience, epochs)

    k = int(fold.max()) + 1
    steps = crossfit.planned_steps(fold, len(net.fitted), lambda n: options.head_epochs(n))
    with PhaseBar(steps, f"Cross-fitting on {k} folds", options.progress) as bar:
        fit = crossfit.cross_fit(data, fold, settings, max_keep_loss, bar)
    with PhaseBar(sum(fit.epochs.values()), "Fitting on every label", options.progress) as bar:
        final = crossfit.fit_all(net.fitted, data, settings(data.y), fit.epochs, bar)
    run.history = {f"{name} (fold 1)": h for name, h in fit.history.items()} | final
    every = predict(net.head, data.inputs, options.batch_size)
    run.scores = {
        "oof": Split(fit.scores.astype(np.float32), data.y, data.shas),
        "train": Split(every, data.y, data.shas),
    }


def _held_out(run: Run) -> Split:
    """Scores of photos the scoring model never trained on: out-of-fold, else the test split."""
    return run.scores["oof"] if "oof" in run.scores else run.scores["test"]


def _check_inputs(
    cache: embeddings.EmbeddingCache,
    run: Run,
    net: netlib.Network,
    signals: dict[str, np.ndarray],
    size: int,
) -> Split:
    """The cached held-out photos the export check runs both models on."""
    wanted = sorted(_held_out(run).shas)[:CHECK_MAX]
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
    settings = _settings(
        options,
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


def _threshold(run: Run, max_keep_loss: float) -> tuple[certify.Certificate, str]:
    """The certified threshold and its basis: out-of-fold scores of every label, or (pixel
    training) the validation split's."""
    if "oof" in run.scores:
        basis, scores = f"cross-fitted ({len(set(run.folds.values()))} folds)", run.scores["oof"]
    else:
        basis, scores = "validation", run.scores["val"]
    return certify.certify(scores.x, scores.y, max_keep_loss), basis


def _meta(
    version: str,
    options: TrainOptions,
    run: Run,
    chosen: tuple[certify.Certificate, str],
    test_metrics: dict[str, Any],
    max_keep_loss: float,
    net: netlib.Network,
) -> dict[str, Any]:
    cert, basis = chosen
    labels = {p.sha256: p.label for p in run.photos}
    counts = split.split_counts(run.assignment, labels)
    training = {
        k: v for k, v in asdict(options).items() if k not in ("verbose", "progress", "threads")
    }
    training |= {
        "image_size": options.size(),
        "learning_rate": options.lr(),
        "max_keep_loss": max_keep_loss,
        "split": counts,
        "threshold_basis": basis,
        "epochs_run": {k: len(v.get("loss", [])) for k, v in run.history.items()},
        "skipped": len(run.skipped),
    }
    if net.standardizer is not None:  # for the curious: what "standardised" meant
        training["quality_mean_std"] = net.standardizer.describe(quality.SIGNAL_NAMES)
        training["quality_hidden"] = netlib.QUALITY_HIDDEN
    training["head_members"] = netlib.HEAD_MEMBERS
    if net.towers is not None:  # quality logit + this x the standardised embedding's logit
        training["embedding_fusion"] = netlib.FUSION
    return {
        "version": version,
        "backbone": options.backbone,
        "input_size": options.size(),
        "fit": imaging.DEFAULT_FIT,
        "threshold": cert.threshold,
        "certificate": cert.as_json() | {"basis": basis},
        "metrics": test_metrics,
        "quality_features": list(quality.SIGNAL_NAMES) if net.quality_dim else [],
        "label_counts": {
            "keep": sum(v == "keep" for v in labels.values()),
            "discard": sum(v == "discard" for v in labels.values()),
        },
        "training": training,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "photosieve_version": __version__,
        "test_hashes": sorted(run.scores["test"].shas) if "test" in run.scores else [],
        "report": ["report.txt", *report.PLOTS],
    }


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
    chosen = _threshold(run, max_keep_loss)
    test = _held_out(run)
    models_dir = config.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    version = modelstore.new_version_name(models_dir)
    meta = _meta(
        version,
        options,
        run,
        chosen,
        metrics.summarize(test.x, test.y, chosen[0].threshold)
        | {"basis": "cross-fitted" if "oof" in run.scores else "test"},
        max_keep_loss,
        net,
    )
    staging = export.staging_dir(models_dir, version)
    text = _write_version(staging, meta, run, net, check, chosen, options)
    path = export.publish(staging, models_dir, version)
    if install:
        export.install(models_dir, version, state, config.training.keep_versions)
    installed = run.scores["train"] if "oof" in run.scores else test
    return TrainResult(
        version, path, meta, text, install, run.skipped, _by_hash(installed), _by_hash(test)
    )


def _by_hash(scores: Split) -> dict[str, float]:
    return {sha: float(v) for sha, v in zip(scores.shas, scores.x, strict=True)}


def _write_version(
    staging: Path,
    meta: dict[str, Any],
    run: Run,
    net: netlib.Network,
    check: Split,
    chosen: tuple[certify.Certificate, str],
    options: TrainOptions,
) -> str:
    """SavedModel, checked TFLite, report and plots, then model.json; returns the report."""
    saved = export.save_model(net.full, staging)
    reference = predict(net.full, check.inputs, options.batch_size)
    meta["tflite"] = export.write_tflite(
        staging, saved, reference, check.x, chosen[0].threshold, check.q
    )
    if not meta["tflite"]["quantized"]:
        run.notes.append(
            "the quantised TFLite model failed the export check; "
            "the float TFLite model was exported instead"
        )
    held = _held_out(run)
    text = report.text_report(
        version=meta["version"],
        backbone=options.backbone,
        metrics=meta["metrics"],
        certificate=chosen[0],
        basis=chosen[1],
        split_counts=None if "oof" in run.scores else meta["training"]["split"],
        notes=run.notes,
    )
    (staging / "report.txt").write_text(text, encoding="utf-8")
    sets = (
        {"cross-fitted": held}
        if "oof" in run.scores
        else {"validation": run.scores["val"], "test": held}
    )
    report.write_plots(
        staging,
        run.history,
        {n: (s.x, s.y) for n, s in sets.items()},
        (held.x, held.y),
        chosen[0].threshold,
    )
    if "oof" in run.scores:  # the retrain guard compares models on these
        (staging / CROSS_FITTED).write_text(json.dumps(_by_hash(held)), encoding="utf-8")
    modelstore.write_meta(staging, meta)  # last: a version is complete once model.json exists
    return text
