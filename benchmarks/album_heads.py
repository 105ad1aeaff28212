"""Heads and evaluation of the real-photo quality benchmark (benchmarks/quality_album.py).

Two kinds of head, scored with the same group k-fold cross-validation by source photo (per
outer fold one fold is the test set, the next is validation, the rest train; the discard
threshold loses <= KEEP_LOSS of the validation keepers; nothing is chosen on a test fold):

- "trainer": the product's own head, `photosieve.trainer.head.build_head`, fitted by
  `trainer.phases.fit_head` with `photosieve train`'s defaults (TrainOptions.head_epochs: 30
  epochs or enough for 1,000 batches, batch 32, Adam 1e-3, early stopping on validation loss
  with patience 5, class weights; HEAD_MEMBERS members averaged). With an embedding it gets
  the training rows' embedding statistics, as `train` passes them: with the signals a
  two-tower head (each tower fitted on its own, fused at FUSION), alone a head on the
  standardised embedding. "raw" rows leave them out: the single unit on [raw embedding,
  signals] of the heads before the eighth session. Quality only feeds an all-zero embedding,
  which the zero-started head kernels never move off 0.
- "numpy": L2 logistic regression (Newton's method) on standardised signals, PCA-whitened
  embeddings or both; design and lambda chosen by validation log-loss. A reference that tunes
  what the trainer does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KEEP_LOSS = 0.01
LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
PCA_DIMS = (8, 16, 32, 64, 128)
Q_WEIGHTS = (1.0, 2.0, 4.0)  # combined head: quality block scale (= a lighter penalty on it)
SESSION2_SIGNALS = ("reblur_worst", "clipped_fraction")  # the second models' additions
CEPSTRAL = ("shake_evidence", "defocus_evidence")  # the third models' (photosieve.vision.cepstrum)
OCTAVE = ("detail_median", "tile_slope")  # the fifth session's


@dataclass(frozen=True)
class Inputs:
    labels: np.ndarray  # (n,) 1 = discard
    sources: np.ndarray  # (n,) source photo of each image: the cross-validation groups
    quality: np.ndarray  # (n, q) quality.signal_vector rows
    names: tuple[str, ...]  # the quality columns: quality.SIGNAL_NAMES
    embeddings: np.ndarray  # (n, 2048) InceptionV3 pooled


@dataclass(frozen=True)
class Head:
    label: str
    quality: bool  # the quality signals
    embedding: bool  # the embeddings (numpy: PCA of the standardised embeddings)
    trainer: bool = True  # the product's head (else numpy logistic regression)
    hidden: int | None = None  # trainer: QUALITY_HIDDEN for this head (None: the product's)
    epochs: int | None = None  # trainer: --epochs (None: the default, TrainOptions.head_epochs)
    members: int | None = None  # trainer: HEAD_MEMBERS for this head (None: the product's)
    spline: bool = False  # numpy: hinge basis on the quality block
    without: tuple[str, ...] = ()  # quality signals left out
    raw: bool = False  # trainer: the embedding fed raw, one unit with the signals (before towers)


HEADS = (
    Head("embedding only", False, True),
    Head("quality only", True, False),
    Head("combined", True, True),
    Head(
        "combined, one tower: the raw embedding beside the signals (the sixth session's head)",
        True,
        True,
        raw=True,
    ),
    Head("embedding only, raw (the sixth session's)", False, True, raw=True),
    Head("quality only, one member (the fifth session's head)", True, False, members=1),
    Head(
        "combined, one member, raw embedding (the fifth session's head)",
        True,
        True,
        members=1,
        raw=True,
    ),
    Head(
        "combined, one member, raw, without detail_median/tile_slope (the fourth session's)",
        True,
        True,
        without=OCTAVE,
        members=1,
        raw=True,
    ),
    Head(
        "combined, one member, raw, without those and shake/defocus_evidence, 30 epochs (the "
        "second head)",
        True,
        True,
        without=OCTAVE + CEPSTRAL,
        epochs=30,
        members=1,
        raw=True,
    ),
    Head("combined, linear (QUALITY_HIDDEN=0)", True, True, hidden=0),
    Head(
        "the first head: one member, raw, 19 signals, linear, 30 epochs",
        True,
        True,
        hidden=0,
        without=SESSION2_SIGNALS + CEPSTRAL + OCTAVE,
        epochs=30,
        members=1,
        raw=True,
    ),
    Head("numpy logistic: embedding only", False, True, trainer=False),
    Head("numpy logistic: quality only", True, False, trainer=False),
    Head("numpy logistic: combined", True, True, trainer=False),
    Head("numpy logistic: quality, spline", True, False, trainer=False, spline=True),
)
MAIN = 3  # the first three are the heads; the rest are the improvements tried


def fit_logreg(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Newton's method on mean log-loss + lam/2 |w|^2 (bias unpenalised); returns [w, b]."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    reg = np.full(xb.shape[1], lam)
    reg[-1] = 1e-9
    w = np.zeros(xb.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) / len(y) + reg * w
        hess = (xb.T * (p * (1 - p))) @ xb / len(y) + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x @ w[:-1] + w[-1], -30, 30)))


def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mean, std = x[train].mean(0), x[train].std(0)
    return (x - mean) / np.where(std > 1e-9, std, 1.0)


def _pca(z: np.ndarray, train: np.ndarray) -> np.ndarray:
    """All rows projected on the train rows' principal axes, each scaled to unit variance."""
    _, sv, vt = np.linalg.svd(z[train] - z[train].mean(0), full_matrices=False)
    keep = sv > 1e-6 * sv[0]
    return (z @ vt[keep].T) / (sv[keep] / np.sqrt(len(train)))


def _spline(z: np.ndarray) -> np.ndarray:
    """Each standardised column plus hinges max(0, z - c) at c = -1, 0, +1 sd: a per-signal
    piecewise-linear response, so one extreme signal (a blown sky) can outweigh the others."""
    return np.hstack([z] + [np.maximum(0.0, z - c) for c in (-1.0, 0.0, 1.0)])


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """Smallest threshold (flag when score > it) losing at most KEEP_LOSS of the keepers."""
    keep = np.sort(scores[y == 0])[::-1]
    return float(keep[int(np.floor(KEEP_LOSS * len(keep)))]) if len(keep) else 0.5


def _grid(head: Head, data: Inputs, tr: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The head's candidate designs (all rows), fitted on the train rows only."""
    q = np.zeros((len(data.labels), 0))
    if head.quality:
        keep = [i for i, name in enumerate(data.names) if name not in head.without]
        q = _standardise(data.quality[:, keep], tr)
        q = _standardise(_spline(q), tr) if head.spline else q
    if not head.embedding:
        return [("", q)]
    e = _pca(_standardise(data.embeddings, tr), tr)
    if not head.quality:
        return [(f"k={k}", e[:, :k]) for k in PCA_DIMS]
    return [(f"k={k} a={a:g}", np.hstack([a * q, e[:, :k]])) for k in PCA_DIMS for a in Q_WEIGHTS]


def run_fold(
    head: Head, data: Inputs, tr: np.ndarray, va: np.ndarray, te: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, float, str]:
    """Fit on train, choose the design, lambda and threshold on validation; test scores."""
    if head.trainer:
        return _trainer_fold(head, data, (tr, va, te), seed)
    y = data.labels
    best = (np.inf, "", np.zeros(0), np.zeros(0))
    for name, x in _grid(head, data, tr):
        for lam in LAMBDAS:
            w = fit_logreg(x[tr], y[tr], lam)
            loss = _log_loss(predict(w, x[va]), y[va])
            if loss < best[0]:
                best = (loss, f"{name} l={lam:g}".strip(), w, x)
    _, chosen, w, x = best
    return predict(w, x[te]), threshold(predict(w, x[va]), y[va]), chosen


def _trainer_fold(
    head: Head, data: Inputs, rows: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> tuple[np.ndarray, float, str]:
    """The product's head fitted as `photosieve train` fits it; validation stops it early and
    sets the threshold."""
    import keras

    from photosieve.trainer import head as headlib
    from photosieve.trainer import model as netlib
    from photosieve.trainer import phases, split
    from photosieve.trainer.options import TrainOptions

    tr, va, te = rows
    n = len(data.labels)
    emb = (data.embeddings if head.embedding else np.zeros((n, 1))).astype(np.float32)
    keep = [i for i, name in enumerate(data.names) if name not in head.without]
    q = data.quality[:, keep].astype(np.float32) if head.quality else None
    y = data.labels.astype(np.int64)
    options = TrainOptions(epochs=head.epochs)
    keras.utils.set_random_seed(seed)
    # As the trainer does: the pooled features' training statistics whenever there is an
    # embedding (a two-tower head when there are signals too).
    model, fitted = headlib.build_head(
        emb.shape[1],
        None if q is None else headlib.Standardizer.fit(q[tr]),
        seed=seed,
        hidden=head.hidden,
        members=head.members,
        embedding=headlib.Standardizer.fit(emb[tr]) if head.embedding and not head.raw else None,
    )

    def part(idx: np.ndarray) -> phases.Split:
        return phases.Split(emb[idx], y[idx], [str(i) for i in idx], None if q is None else q[idx])

    settings = phases.FitSettings(
        options.head_epochs(len(tr)),
        options.batch_size,
        seed,
        netlib.DEFAULT_LR["inceptionv3"],
        options.patience,
        0,
        split.class_weights(y[tr].tolist()),
    )
    epochs = [len(phases.fit_head(m, part(tr), part(va), settings)["loss"]) for m in fitted]
    val = phases.predict(model, part(va).inputs, 64)
    return (
        phases.predict(model, part(te).inputs, 64),
        threshold(val, data.labels[va]),
        " + ".join(map(str, epochs)) + " epochs",
    )


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def folds(n_sources: int, k: int, seed: int) -> np.ndarray:
    """Fold of each source photo: a seeded shuffle dealt round-robin (equal-sized folds)."""
    order = np.random.default_rng(seed).permutation(n_sources)
    fold = np.empty(n_sources, np.int64)
    fold[order] = np.arange(n_sources) % k
    return fold


@dataclass
class Result:
    scores: list[np.ndarray]  # per repeat: every photo's score from the model it was test for
    thresholds: list[np.ndarray]  # per repeat: that model's validation threshold
    chosen: list[str]


def evaluate(
    data: Inputs, seed: int, repeats: int, k: int = 5, heads: tuple[Head, ...] = HEADS
) -> list[Result]:
    """Out-of-fold test scores for each of `heads`: per outer fold t, test = fold t,
    validation = fold t+1, train = the other three; `repeats` different fold assignments."""
    source = data.sources
    out = [Result([], [], []) for _ in heads]
    for r in range(repeats):
        fold_of = folds(int(source.max()) + 1, k, seed + r)[source]
        for head, res in zip(heads, out, strict=True):
            scores, thresholds = np.zeros(len(source)), np.zeros(len(source))
            for t in range(k):
                te, va = np.flatnonzero(fold_of == t), np.flatnonzero(fold_of == (t + 1) % k)
                tr = np.flatnonzero((fold_of != t) & (fold_of != (t + 1) % k))
                scores[te], thresholds[te], chosen = run_fold(
                    head, data, tr, va, te, seed + 10 * r + t
                )
                res.chosen.append(chosen)
            res.scores.append(scores)
            res.thresholds.append(thresholds)
    return out
