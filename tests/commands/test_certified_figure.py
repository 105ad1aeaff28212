"""The certified keep-loss recorded in model.json, as `models list` and `status` show it (and
the copy floor, as `status` shows it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from photosieve.model import store as modelstore
from photosieve.trainer.certify import recorded

CERTIFICATE = {"keep_loss_bound": 0.0246, "n_keep": 120, "certified": False, "confidence": 0.95}


def _version(models: Path, name: str, **extra: object) -> None:
    folder = models / name
    folder.mkdir(parents=True)
    meta = {"version": name, "backbone": "tiny", "threshold": 0.42, "metrics": {}}
    modelstore.write_meta(folder, meta | extra)


def test_recorded_phrase_and_models_before_certificates() -> None:
    assert recorded({"certificate": CERTIFICATE}) == (
        "certified keep-loss ≤ 2.5 % (95 %) from 120 keepers"
    )
    assert recorded({}) is None
    assert recorded({"certificate": {"keep_loss_bound": 0.5, "n_keep": 0}}) is None


def test_models_list_and_status_show_the_certified_figure(
    tmp_path: Path, write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    config = write_config(tmp_path / "config.yaml")
    models = tmp_path / "state" / "models"
    _version(models, "20260101-000000")
    _version(models, "20260102-000000", certificate=CERTIFICATE, copy_floor={"floor": 0.7212})
    modelstore.set_current(models, "20260102-000000")
    lines = cli(config, "models", "list").output.splitlines()
    assert "certified" in lines[0]
    assert lines[1].rstrip().endswith("-")  # trained before certificates
    assert lines[2].rstrip().endswith("≤2.5%")
    status = cli(config, "status").output
    shown = "Model: 20260102-000000 (tiny, threshold 0.4200; certified keep-loss ≤ 2.5 % (95 %) "
    assert shown in status
    assert status.rstrip().endswith("; copy floor 0.7212)")  # the model's own (vision/copy_floor)
    modelstore.set_current(models, "20260101-000000")  # no certificate, no copy floor
    assert "Model: 20260101-000000 (tiny, threshold 0.4200)" in cli(config, "status").output


def test_status_shows_the_threshold_the_config_sets(
    tmp_path: Path, write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    """classifier.threshold replaces the model's: status shows the one the service applies,
    names the model's, and says the certificate is for the model's threshold only."""
    config = write_config(tmp_path / "config.yaml", extra="classifier:\n  threshold: 0.5\n")
    models = tmp_path / "state" / "models"
    _version(models, "20260102-000000", certificate=CERTIFICATE)
    modelstore.set_current(models, "20260102-000000")
    status = cli(config, "status").output
    assert (
        "(tiny, threshold 0.5000 from classifier.threshold, the model's is 0.4200; "
        "certified keep-loss ≤ 2.5 % (95 %) from 120 keepers at the model's threshold)"
    ) in status
