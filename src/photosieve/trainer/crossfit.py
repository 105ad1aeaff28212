"""Cross-fitting the head on cached embeddings: an out-of-fold score for every labelled photo.

The threshold and its certificate (photosieve.trainer.certify) need scores from models that
never saw the photos scored, and as many such photos as there are labels: a validation split
of a few dozen keepers cannot certify a 1 % keep-loss. So the labelled photos are dealt into
K_FOLDS folds by near-duplicate group (split.fold_photos); for each fold a head starting fresh
(foldhead.FoldHead: one compiled head, reset per fold) is fitted on the other folds, with the
next fold holding early stopping, and scores the fold it never saw. The installed head is
then fitted on every label for the median of the folds' best epoch counts (it has no photos
left to stop early on). Only the head is fitted, on cached arrays, so K fits cost K times
phase 1, seconds for hundreds of labels.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosieve.errors import PhotosieveError
from photosieve.trainer import certify
from photosieve.trainer import head as headlib
from photosieve.trainer import model as netlib
from photosieve.trainer.foldhead import FoldHead, fold_split
from photosieve.trainer.options import TrainOptions
from photosieve.trainer.phases import FitSettings, Run, Split, fit_head, predict
from photosieve.trainer.progress import PhaseBar, callback

K_FOLDS = 5

Settings = Callable[[np.ndarray], FitSettings]  # training labels -> the fit's settings


@dataclass(frozen=True)
class CrossFit:
    scores: np.ndarray  # every photo's out-of-fold score, in the order of the data
    epochs: dict[str, int]  # fitted model name -> epochs for the fit on every label
    history: dict[str, dict[str, list[float]]]  # the first fold's curves (for the plot)


def part(data: Split, rows: np.ndarray) -> Split:
    """The photos of `data` at `rows`."""
    return Split(
        data.x[rows],
        data.y[rows],
        [data.shas[i] for i in rows],
        None if data.q is None else data.q[rows],
    )


def fresh_head(data: Split, rows: np.ndarray, seed: int) -> tuple[Any, tuple[Any, ...]]:
    """A new head standardised on the training rows, as the trainer's network builds it."""
    standardizer = None if data.q is None else headlib.Standardizer.fit(data.q[rows])
    embedding = headlib.Standardizer.fit(data.x[rows])
    return headlib.build_head(data.x.shape[1], standardizer, seed=seed, embedding=embedding)


def _best_epoch(history: dict[str, list[float]]) -> int:
    losses = history.get("val_loss") or history.get("loss") or [0.0]
    return int(np.argmin(losses)) + 1


def cross_fit(
    data: Split,
    fold: np.ndarray,
    settings: Settings,
    max_keep_loss: float,
    bar: PhaseBar,
    groups: Sequence[str] | None = None,
) -> CrossFit:
    """Out-of-fold scores over `data` for the folds in `fold` (one int per photo); `bar`
    advances one step per epoch (a fit stopping early skips its unused epochs) and shows the
    validation loss and the keep-loss and catch at the threshold the folds so far certify
    (over the near-duplicate `groups`, one key per photo, as the final certificate)."""
    k = int(fold.max()) + 1
    scores = np.full(len(data), np.nan)
    best: dict[str, list[int]] = {}
    first: dict[str, dict[str, list[float]]] = {}
    done = 0
    reused = FoldHead(data, settings(data.y).learning_rate)
    for t in range(k):
        test, val = np.flatnonzero(fold == t), np.flatnonzero(fold == (t + 1) % k)
        train = np.flatnonzero((fold != t) & (fold != (t + 1) % k))
        s = settings(data.y[train])
        reused.reset(s.seed + t)
        ours = fold_split(data, train)  # this fold's standardisation, as a fresh head's
        for model in reused.fitted:
            history = fit_head(model, part(ours, train), part(ours, val), s, [callback(bar)])
            best.setdefault(model.name, []).append(_best_epoch(history))
            if t == 0:
                first[model.name] = history
            done += s.epochs
            bar.skip_to(done)
        scores[test] = predict(reused.head, part(ours, test).inputs, s.batch_size)
        seen = ~np.isnan(scores)
        keys = None if groups is None else [g for g, w in zip(groups, seen, strict=True) if w]
        cert = certify.certify(scores[seen], data.y[seen], max_keep_loss, keys)
        bar.advance(0, figures=(cert.keep_loss, cert.discard_catch))
    epochs = {name: max(1, round(statistics.median(runs))) for name, runs in best.items()}
    return CrossFit(scores, epochs, first)


def planned_steps(fold: np.ndarray, models: int, epochs_for: Callable[[int], int]) -> int:
    """The progress bar's length: every fit's epoch limit (`epochs_for(n_train)`)."""
    k = int(fold.max()) + 1
    sizes = np.bincount(fold, minlength=k)
    return sum(
        models * epochs_for(int(len(fold) - sizes[t] - sizes[(t + 1) % k])) for t in range(k)
    )


def fit_all(
    fitted: tuple[Any, ...],
    data: Split,
    settings: FitSettings,
    epochs: dict[str, int],
    bar: PhaseBar,
) -> dict[str, dict[str, list[float]]]:
    """Fit the installed head's models on every photo for their cross-fitted epoch counts."""
    empty = part(data, np.zeros(0, np.int64))
    history = {}
    for model in fitted:
        name = str(getattr(model, "name", "head"))
        fixed = dataclasses.replace(settings, epochs=epochs.get(name, settings.epochs))
        history[name] = fit_head(model, data, empty, fixed, [callback(bar)])
    return history


def run_cross_fit(
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

    k = int(fold.max()) + 1
    steps = planned_steps(fold, len(net.fitted), options.head_epochs)
    with PhaseBar(steps, f"Cross-fitting on {k} folds", options.progress) as bar:
        keys = run.group_keys(data.shas)
        fit = cross_fit(data, fold, options.fit_settings, max_keep_loss, bar, keys)
    with PhaseBar(sum(fit.epochs.values()), "Fitting on every label", options.progress) as bar:
        final = fit_all(net.fitted, data, options.fit_settings(data.y), fit.epochs, bar)
    run.history = {f"{name} (fold 1)": h for name, h in fit.history.items()} | final
    every = predict(net.head, data.inputs, options.batch_size)
    run.scores = {
        "oof": Split(fit.scores.astype(np.float32), data.y, data.shas),
        "train": Split(every, data.y, data.shas),
    }
