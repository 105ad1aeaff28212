"""The retrain job (`photosieve retrain`, started weekly by the systemd timer): train a new model
version only when enough labels arrived since the current one, and install it only if it loses
no more keep photos than the current model on the same held-out photos: each model's
cross-fitted (out-of-fold) scores of the photos labelled for both, so neither is judged on
photos it trained on (a model from before cross-fitting is scored on its own test photos).

Pure parts (the plan, the training options reused from the current model.json, the verdict on
two sets of scores) are plain functions of plain data. `retrain` is the thin orchestration
around `train_from_state`, `evaluate` and `export.install`. TensorFlow is imported only inside
the training itself, so planning (`--dry-run`, the skip case) stays fast.

"Labels since the current model" counts labels added or changed after the model's `created`
time (model.json; else the `models` table; else model.json's mtime). That moment is taken when
training ends, so labels made during a long training run count as already seen: they were
not, but they will be at the next retrain that the next `min_new_labels` labels trigger.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photosieve.config import Config
from photosieve.model import store as modelstore
from photosieve.state import State
from photosieve.trainer import export
from photosieve.trainer.evaluate import evaluate
from photosieve.trainer.options import TrainOptions
from photosieve.trainer.train import TrainResult, train_from_state
from photosieve.trainer.version import CROSS_FITTED

log = logging.getLogger(__name__)

# TrainOptions fields reused from the current model's model.json "training" section, with the
# type each must have there (a hand-edited model.json must not smuggle in nonsense).
_REUSED: dict[str, type | tuple[type, ...]] = {
    "backbone": str,
    "weights": (str, type(None)),
    "image_size": int,
    "epochs": (int, type(None)),
    "batch_size": int,
    "seed": int,
    "fine_tune_blocks": int,
    "learning_rate": (float, int),
    "patience": int,
    "quality": bool,
}
# Meaningful only for the backbone they were chosen for; dropped when --backbone changes it.
_PER_BACKBONE = ("weights", "image_size", "learning_rate", "fine_tune_blocks")


@dataclass(frozen=True)
class Overrides:
    """Command-line choices that replace the current model's recorded training options."""

    backbone: str | None = None
    weights: str | None = None  # as typed: "imagenet", "none" or a file; None: reuse
    image_size: int | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class Plan:
    """Whether to train, and why: new labels since the current model against the minimum."""

    current: str | None
    since: float | None  # the current model's creation time (epoch seconds)
    new_labels: int
    min_new_labels: int
    force: bool

    @property
    def train(self) -> bool:
        return self.force or self.new_labels >= self.min_new_labels

    def describe(self) -> str:
        where = f"since model {self.current}" if self.current else "in all (no current model)"
        need = f"training.min_new_labels is {self.min_new_labels}"
        forced = "; --force given" if self.force else ""
        return f"{self.new_labels} new labels {where}; {need}{forced}"


@dataclass(frozen=True)
class Verdict:
    """The guard's comparison of the new and the current model on the same held-out photos."""

    new_version: str
    current_version: str | None
    new_keep_loss: float
    current_keep_loss: float | None  # None: no current model to compare with
    n_photos: int
    n_keep: int
    installed: bool

    def line(self) -> str:
        new = f"{100 * self.new_keep_loss:.1f}%"
        if self.current_keep_loss is None:
            return (
                f"retrain: new model {self.new_version} keep-loss {new} on its "
                f"{self.n_photos} held-out photos; no current model: installed"
            )
        outcome = (
            "installed"
            if self.installed
            else f"rejected (worse), kept current model {self.current_version}"
        )
        return (
            f"retrain: new model {self.new_version} keep-loss {new} vs current "
            f"{100 * self.current_keep_loss:.1f}% on {self.n_photos} held-out photos "
            f"({self.n_keep} keep): {outcome}"
        )


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    options: TrainOptions | None = None  # None: nothing was trained
    verdict: Verdict | None = None
    kept_rejected: Path | None = None  # a rejected version left in place (--keep-rejected)


def _parse_created(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def created_time(state: State, model_dir: Path, meta: Mapping[str, Any]) -> float:
    """When the model was made: model.json "created", else the models table, else the mtime."""
    parsed = _parse_created(meta.get("created"))
    if parsed is not None:
        return parsed
    created = state.model_created(model_dir.name)
    if created is not None:
        return created
    return (model_dir / modelstore.META).stat().st_mtime


def current_meta(config: Config) -> dict[str, Any] | None:
    """The current model's model.json, or None when no model is installed."""
    current_dir = modelstore.current_model_dir(config.models_dir)
    return None if current_dir is None else modelstore.read_meta(current_dir)


def make_plan(config: Config, state: State, *, force: bool = False) -> Plan:
    """Count the labels that arrived since the current model (all labels when there is none)."""
    current_dir = modelstore.current_model_dir(config.models_dir)
    minimum = config.training.min_new_labels
    if current_dir is None:
        return Plan(None, None, state.labels_since(float("-inf")), minimum, force)
    since = created_time(state, current_dir, modelstore.read_meta(current_dir))
    return Plan(current_dir.name, since, state.labels_since(since), minimum, force)


def _weights(value: str) -> str | None:
    return None if value.lower() == "none" else value


def training_options(
    meta: Mapping[str, Any] | None,
    overrides: Overrides,
    *,
    verbose: int = 2,
    progress: bool = False,
) -> TrainOptions:
    """The current model's recorded options with `overrides` applied (TrainOptions defaults
    when there is no current model). A changed backbone drops the options that belonged to
    the old one, and its weights default as in `photosieve train`."""
    recorded = dict((meta or {}).get("training") or {})
    recorded.setdefault("backbone", (meta or {}).get("backbone"))
    values = {
        k: recorded[k]
        for k, kind in _REUSED.items()
        if k in recorded
        and isinstance(recorded[k], kind)
        and (kind is bool or not isinstance(recorded[k], bool))
    }
    backbone = overrides.backbone or values.get("backbone") or TrainOptions.backbone
    if backbone != values.get("backbone"):
        for key in _PER_BACKBONE:
            values.pop(key, None)
        values["weights"] = "imagenet" if backbone == "inceptionv3" else None
    values["backbone"] = backbone
    if overrides.weights is not None:
        values["weights"] = _weights(overrides.weights)
    if overrides.image_size is not None:
        values["image_size"] = overrides.image_size
    if overrides.epochs is not None:
        values["epochs"] = overrides.epochs
    return TrainOptions(**values, verbose=verbose, progress=progress)


def describe_options(options: TrainOptions) -> str:
    weights = "none" if options.weights is None else options.weights
    return (
        f"backbone={options.backbone} weights={weights} image_size={options.size()} "
        f"epochs={options.epochs or 'auto'} fine_tune_blocks={options.fine_tune_blocks}"
        + ("" if options.quality else " quality=no")
    )


def _lost(scores: Mapping[str, float], threshold: float, keeps: Collection[str]) -> int:
    return sum(scores[sha] >= threshold for sha in keeps)


def judge(
    new: tuple[str, Mapping[str, float], float],
    current: tuple[str, Mapping[str, float], float],
    labels: Mapping[str, str],
) -> Verdict:
    """Compare keep-loss (share of keep photos scored >= the model's own threshold) on the
    photos both models scored; the new model wins ties ("no worse"). Each tuple is
    (version, content hash -> score, threshold)."""
    (new_version, new_scores, new_threshold) = new
    (current_version, current_scores, current_threshold) = current
    shared = set(new_scores) & set(current_scores) & set(labels)
    keeps = sorted(sha for sha in shared if labels[sha] == "keep")
    new_lost = _lost(new_scores, new_threshold, keeps)
    current_lost = _lost(current_scores, current_threshold, keeps)
    n = len(keeps)
    return Verdict(
        new_version,
        current_version,
        new_lost / n if n else 0.0,
        current_lost / n if n else 0.0,
        len(shared),
        n,
        installed=new_lost <= current_lost,
    )


def held_out_scores(
    config: Config, state: State, model_dir: Path, hashes: Collection[str]
) -> dict[str, float]:
    """A model's scores of photos it never trained on: its cross-fitted out-of-fold scores
    when it has them, else the exported model (TFLite, as the service runs it) on `hashes`."""
    path = model_dir / CROSS_FITTED
    if path.is_file():
        scores = json.loads(path.read_text(encoding="utf-8"))
        return {str(sha): float(v) for sha, v in scores.items()}
    return dict(evaluate(config, state, model_dir, hashes)["scores"])


def _compare(
    config: Config, state: State, current_dir: Path, result: TrainResult, hashes: Collection[str]
) -> Verdict:
    """Both models on the photos both have held-out scores for (see the module docstring)."""
    old = held_out_scores(config, state, current_dir, hashes)
    new = result.held_out or held_out_scores(config, state, result.path, hashes)
    labels = {row["sha256"]: row["label"] for row in state.labels()}
    current_threshold = float(modelstore.read_meta(current_dir)["threshold"])
    return judge(
        (result.version, new, result.threshold),
        (current_dir.name, old, current_threshold),
        labels,
    )


def _new_model_verdict(result: TrainResult) -> Verdict:
    found = result.metrics
    (tn, fp), _discards = found["confusion"]
    return Verdict(
        result.version,
        None,
        float(found["keep_loss"]),
        None,
        int(found["n_test"]),
        tn + fp,
        installed=True,
    )


def retrain(
    config: Config,
    state: State,
    overrides: Overrides = Overrides(),
    *,
    force: bool = False,
    keep_rejected: bool = False,
    echo: Callable[[str], None] = log.info,
    verbose: int = 2,
    progress: bool = False,
) -> Outcome:
    """Plan; if due, train without installing, compare with the current model and install the
    new one only when its keep-loss is no worse. A rejected version is removed (it would
    otherwise count against `training.keep_versions` and push good versions out), unless
    `keep_rejected`, which leaves it un-installed for inspection or `models use`."""
    plan = make_plan(config, state, force=force)
    if not plan.train:
        return Outcome(plan)
    models_dir = config.models_dir
    current_dir = None if plan.current is None else models_dir / plan.current
    meta = None if current_dir is None else modelstore.read_meta(current_dir)
    options = training_options(meta, overrides, verbose=verbose, progress=progress)
    hashes = [str(h) for h in (meta or {}).get("test_hashes") or ()]
    echo(f"retrain: training ({plan.describe()}); {describe_options(options)}")
    result = train_from_state(config, state, options, install=False, echo=echo, test_hashes=hashes)
    if current_dir is None:
        verdict = _new_model_verdict(result)
    else:
        verdict = _compare(config, state, current_dir, result, hashes)
    kept = None
    if verdict.installed:
        export.install(models_dir, result.version, state, config.training.keep_versions)
    elif keep_rejected:
        kept = result.path
    else:
        shutil.rmtree(result.path)  # our own export folder, never a photo
    return Outcome(plan, options, verdict, kept)
