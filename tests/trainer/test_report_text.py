"""The training report's text: the certificate line and figures named for what they measure."""

from __future__ import annotations

import numpy as np

from photosieve.trainer import metrics
from photosieve.trainer.certify import certify
from photosieve.trainer.report import text_report


def test_report_carries_the_certificate_line_and_the_cross_fitted_figures() -> None:
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.beta(2, 8, 150), rng.beta(8, 2, 200)])
    labels = np.concatenate([np.zeros(150, np.int64), np.ones(200, np.int64)])
    cert = certify(scores, labels, 0.01)
    found = metrics.summarize(scores, labels, cert.threshold) | {"basis": "cross-fitted"}
    text = text_report(
        version="v1",
        backbone="tiny",
        metrics=found,
        certificate=cert,
        basis="cross-fitted (5 folds)",
    )
    lines = text.splitlines()
    assert (
        "certified keep-loss ≤ 2.0 % (95 %) from 150 keepers; "
        "about 149 more keep labels would certify 1 %"
    ) in lines
    assert "  chosen on cross-fitted (5 folds) scores: 150 keep, 200 discard photos" in lines
    catch = f"cross-fitted catch     {100 * cert.discard_catch:.1f} %  (discards quarantined)"
    assert catch in lines
    assert not any(line.startswith(("split", "test ")) for line in lines)  # no split table
    (tn, fp), (fn, tp) = found["confusion"]
    assert fp == 0 and tn == 150 and fn + tp == 200
