"""The training report: a short text table (printed, saved as report.txt) and three PNGs.

`curves.png` shows loss and accuracy per epoch for each phase, `histogram.png` the test score
distribution of each class with the threshold, `threshold.png` keep-loss and discard-catch
against the threshold on validation and test. Matplotlib is imported lazily with the Agg
backend, so nothing here needs a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.trainer.metrics import ThresholdChoice, threshold_curve

PLOTS = ("curves.png", "histogram.png", "threshold.png")


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100.0 * float(value):.1f} %"  # type: ignore[arg-type]


def text_report(
    *,
    version: str,
    backbone: str,
    metrics: Mapping[str, Any],
    choice: ThresholdChoice,
    split_counts: Mapping[str, Mapping[str, int]],
    max_keep_loss: float,
    notes: Sequence[str] = (),
) -> str:
    """The table `photosieve train` prints and saves beside the model."""
    (tn, fp), (fn, tp) = metrics["confusion"]
    auc = metrics.get("roc_auc")
    lines = [
        f"photosieve model {version} ({backbone})",
        "",
        f"{'split':<12}{'keep':>8}{'discard':>10}",
    ]
    for split in ("train", "val", "test"):
        counts = split_counts.get(split, {})
        lines.append(f"{split:<12}{counts.get('keep', 0):>8}{counts.get('discard', 0):>10}")
    lines += [
        "",
        f"threshold              {choice.threshold:.4f}  (score >= threshold => quarantine)",
        f"  chosen on {choice.basis}: {choice.n_keep} keep, {choice.n_discard} discard photos,"
        f" at most {_pct(max_keep_loss)} keep-loss",
        f"validation keep-loss   {_pct(choice.keep_loss)}",
        f"validation catch       {_pct(choice.discard_catch)}",
        "",
        f"test photos            {metrics['n_test']}",
        f"test accuracy          {_pct(metrics['test_accuracy'])}",
        f"test ROC AUC           {'n/a' if auc is None else f'{auc:.3f}'}",
        f"test keep-loss         {_pct(metrics['keep_loss'])}  (keep photos quarantined)",
        f"test discard-catch     {_pct(metrics['discard_catch'])}  (discards quarantined)",
        "",
        "confusion (test)       predicted keep  predicted discard",
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
    """Loss and accuracy per epoch; phases side by side on one epoch axis."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    offset = 0
    for phase, logs in history.items():
        n = len(logs.get("loss", []))
        epochs = np.arange(offset + 1, offset + n + 1)
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = logs.get(prefix + metric)
                if values:
                    ax.plot(epochs, values, style, label=f"{phase} {prefix or 'train_'}{metric}")
        offset += n
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
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
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    threshold: float,
) -> list[str]:
    """All three PNGs into `folder`; returns their file names."""
    plot_curves(history, folder / "curves.png")
    plot_histogram(test[0], test[1], threshold, folder / "histogram.png")
    plot_threshold({"validation": val, "test": test}, threshold, folder / "threshold.png")
    return list(PLOTS)
