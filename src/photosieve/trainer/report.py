"""The training report: a short text table (printed, saved as report.txt) and three PNGs.

`curves.png` shows the loss per epoch for each fit (no accuracy: a member-wise "accuracy" is not
the model's), `histogram.png` the held-out (out-of-fold or test) score distribution of each
class with the threshold, `threshold.png` keep-loss and discard-catch against the threshold.
Matplotlib is imported lazily with the Agg backend, so nothing here needs a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.trainer.certify import Certificate
from photosieve.trainer.metrics import threshold_curve

PLOTS = ("curves.png", "histogram.png", "threshold.png")


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100.0 * float(value):.1f} %"  # type: ignore[arg-type]


def text_report(
    *,
    version: str,
    backbone: str,
    metrics: Mapping[str, Any],
    certificate: Certificate,
    basis: str,
    split_counts: Mapping[str, Mapping[str, int]] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The table `photosieve train` prints and saves beside the model. Its figures are
    measured on `metrics["basis"]`: out-of-fold ("cross-fitted") or test scores."""
    (tn, fp), (fn, tp) = metrics["confusion"]
    auc = metrics.get("roc_auc")
    on = str(metrics.get("basis", "test"))
    lines = [f"photosieve model {version} ({backbone})", ""]
    if split_counts is not None:
        lines.append(f"{'split':<12}{'keep':>8}{'discard':>10}")
        for split in ("train", "val", "test"):
            counts = split_counts.get(split, {})
            lines.append(f"{split:<12}{counts.get('keep', 0):>8}{counts.get('discard', 0):>10}")
        lines.append("")
    lines += [
        f"threshold              {certificate.threshold:.4f}  (score >= threshold => quarantine)",
        f"  chosen on {basis} scores: {certificate.n_keep} keep, "
        f"{certificate.n_discard} discard photos",
        certificate.line(),
        "",
        f"{on + ' photos':<23}{metrics['n_test']}",
        f"{on + ' accuracy':<23}{_pct(metrics['test_accuracy'])}",
        f"{on + ' ROC AUC':<23}{'n/a' if auc is None else f'{auc:.3f}'}",
        f"{on + ' keep-loss':<23}{_pct(metrics['keep_loss'])}  (keep photos quarantined)",
        f"{on + ' catch':<23}{_pct(metrics['discard_catch'])}  (discards quarantined)",
        "",
        f"confusion ({on})",
        f"{'':<23}predicted keep  predicted discard",
        f"  actual keep          {tn:>14}  {fp:>17}",
        f"  actual discard       {fn:>14}  {tp:>17}",
    ]
    if notes:
        lines += ["", *(f"note: {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: Mapping[str, Mapping[str, Sequence[float]]], path: Path) -> None:
    """Training and validation loss per epoch; fits side by side on one epoch axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    offset = 0
    for phase, logs in history.items():
        n = len(logs.get("loss", []))
        epochs = np.arange(offset + 1, offset + n + 1)
        for prefix, style in (("", "-"), ("val_", "--")):
            values = logs.get(prefix + "loss")
            if values:
                ax.plot(epochs, values, style, label=f"{phase} {prefix or 'train_'}loss")
        offset += n
    ax.set_xlabel("epoch")
    ax.set_ylabel("binary cross-entropy")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_histogram(scores: np.ndarray, labels: np.ndarray, threshold: float, path: Path) -> None:
    """Test score histogram per class, with the threshold marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0.0, 1.0, 21)
    for cls, name in ((0, "keep"), (1, "discard")):
        ax.hist(scores[labels == cls], bins=bins, alpha=0.6, label=name)
    ax.axvline(min(threshold, 1.0), color="black", linestyle=":", label="threshold")
    ax.set_xlabel("score = P(discard)")
    ax.set_ylabel("test photos")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_threshold(
    sets: Mapping[str, tuple[np.ndarray, np.ndarray]], threshold: float, path: Path
) -> None:
    """Keep-loss and discard-catch against the threshold, one line style per split."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, (scores, labels)), style in zip(sets.items(), ("-", "--", ":"), strict=False):
        curve = threshold_curve(scores, labels)
        ax.plot(
            curve["threshold"],
            curve["keep_loss"],
            style,
            color="tab:red",
            label=f"keep-loss ({name})",
        )
        ax.plot(
            curve["threshold"],
            curve["discard_catch"],
            style,
            color="tab:blue",
            label=f"discard-catch ({name})",
        )
    ax.axvline(min(threshold, 1.0), color="black", linestyle=":", label="threshold")
    ax.set_xlabel("threshold")
    ax.set_ylabel("share")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_plots(
    folder: Path,
    history: Mapping[str, Mapping[str, Sequence[float]]],
    sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
    held_out: tuple[np.ndarray, np.ndarray],
    threshold: float,
) -> list[str]:
    """All three PNGs into `folder`: the curves, the held-out histogram, and keep-loss and
    catch against the threshold for each of `sets` (name -> scores, labels)."""
    plot_curves(history, folder / "curves.png")
    plot_histogram(held_out[0], held_out[1], threshold, folder / "histogram.png")
    plot_threshold(sets, threshold, folder / "threshold.png")
    return list(PLOTS)
