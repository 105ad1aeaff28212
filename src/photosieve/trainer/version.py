"""One trained version's folder: the threshold and its certificate, model.json's record, the
checked export and the copy floor measured on it, the report and plots, and the cross-fitted
scores.

The pipeline (photosieve.trainer.train) hands over a finished `Run`; everything written here
is a function of it and the options, so what model.json says is what the run measured.
Out-of-fold scores are written to CROSS_FITTED beside model.json: the retrain guard compares
the next model with this one on them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photosieve import __version__
from photosieve.model import store as modelstore
from photosieve.trainer import certify, copy_measure, export, report, split
from photosieve.trainer import head as headlib
from photosieve.trainer import model as netlib
from photosieve.trainer.options import TrainOptions
from photosieve.trainer.phases import Run, Split, predict
from photosieve.trainer.progress import silenced_stderr
from photosieve.vision import imaging, quality

CROSS_FITTED = "cross_fitted.json"  # content hash -> out-of-fold score, beside model.json


def held_out(run: Run) -> Split:
    """Scores of photos the scoring model never trained on: out-of-fold, else the test split."""
    return run.scores["oof"] if "oof" in run.scores else run.scores["test"]


def threshold(run: Run, max_keep_loss: float) -> tuple[certify.Certificate, str]:
    """The certified threshold and its basis: out-of-fold scores of every label, or (pixel
    training) the validation split's; the bound counts near-duplicate groups of keepers."""
    if "oof" in run.scores:
        basis, scores = f"cross-fitted ({len(set(run.folds.values()))} folds)", run.scores["oof"]
    else:
        basis, scores = "validation", run.scores["val"]
    return certify.certify(scores.x, scores.y, max_keep_loss, run.group_keys(scores.shas)), basis


def by_hash(scores: Split) -> dict[str, float]:
    return {sha: float(v) for sha, v in zip(scores.shas, scores.x, strict=True)}


def meta_of(
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
        "training": _training_meta(options, run, labels, (basis, max_keep_loss), net),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "photosieve_version": __version__,
        "test_hashes": sorted(run.scores["test"].shas) if "test" in run.scores else [],
        "report": ["report.txt", *report.PLOTS],
    }


def _training_meta(
    options: TrainOptions,
    run: Run,
    labels: dict[str, str],
    threshold: tuple[str, float],
    net: netlib.Network,
) -> dict[str, Any]:
    """model.json's "training": the options as run and what the run made of them."""
    basis, max_keep_loss = threshold
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
        training["quality_hidden"] = headlib.QUALITY_HIDDEN
    training["head_members"] = headlib.HEAD_MEMBERS
    if net.towers is not None:  # quality logit + this x the standardised embedding's logit
        training["embedding_fusion"] = headlib.FUSION
    return training


def _export(
    staging: Path,
    meta: dict[str, Any],
    run: Run,
    net: netlib.Network,
    check: Split,
    threshold: float,
    options: TrainOptions,
) -> None:
    """The SavedModel, the checked TFLite model, and the copy floor measured on that TFLite
    model (copy_measure: none when it cannot be measured), into `staging` and `meta`."""
    saved = export.save_model(netlib.serving_model(net), staging)
    reference = predict(net.full, check.inputs, options.batch_size)
    with silenced_stderr(options.verbose == 0):  # the TFLite interpreter's INFO line
        meta["tflite"] = export.write_tflite(staging, saved, reference, check.x, threshold, check.q)
        meta |= copy_measure.section(
            staging / export.TFLITE, meta, run.photos, seed=options.seed, threads=options.threads
        )
    if not meta["tflite"]["quantized"]:
        run.notes.append(
            "the quantised TFLite model failed the export check; "
            "the float TFLite model was exported instead"
        )


def write_version(
    staging: Path,
    meta: dict[str, Any],
    run: Run,
    net: netlib.Network,
    check: Split,
    chosen: tuple[certify.Certificate, str],
    options: TrainOptions,
) -> str:
    """SavedModel, checked TFLite, copy floor, report and plots, then model.json; returns the
    report."""
    _export(staging, meta, run, net, check, chosen[0].threshold, options)
    held = held_out(run)
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
        (staging / CROSS_FITTED).write_text(json.dumps(by_hash(held)), encoding="utf-8")
    modelstore.write_meta(staging, meta)  # last: a version is complete once model.json exists
    return text
