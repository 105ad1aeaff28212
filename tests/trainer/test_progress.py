"""The quiet trainer's pieces without TensorFlow: the phase bar, its status, silenced stderr."""

from __future__ import annotations

import os

import pytest

from photosieve.trainer.progress import PhaseBar, silenced_stderr


def test_status_shows_validation_loss_then_keep_loss_and_catch() -> None:
    bar = PhaseBar(5, "Cross-fitting", show=False)
    bar.advance(1, loss=0.31234)
    assert bar.status == "val loss 0.312"
    bar.advance(0, figures=(0.0125, 0.914))
    assert bar.status == "val loss 0.312 keep-loss 1.2 % catch 91 %"
    bar.advance(1, loss=0.2)  # the next fit's loss keeps the figures beside it
    assert bar.status == "val loss 0.200 keep-loss 1.2 % catch 91 %"


def test_phase_bar_counts_epochs_and_gives_back_unused_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with PhaseBar(10, "Cross-fitting", show=False) as bar:
        bar.advance(1, loss=0.7)
        bar.advance(2)
        assert bar.status == "val loss 0.700"  # kept until a new loss arrives
        bar.skip_to(8)  # early stopping: the fit's remaining epochs are skipped
        bar.advance(5)  # never past the end
    assert bar._done == 10
    assert capsys.readouterr().err == ""  # show=False prints nothing


def test_a_shown_bar_goes_to_stderr_with_its_label(capsys: pytest.CaptureFixture[str]) -> None:
    with PhaseBar(3, "Fitting on every label", show=True) as bar:
        bar.advance(1, loss=0.1)
        bar.advance(0, figures=(0.0, 1.0))
    captured = capsys.readouterr()  # not a terminal: click prints the label alone
    assert "Fitting on every label" in captured.err and captured.out == ""
    assert bar.status == "val loss 0.100 keep-loss 0.0 % catch 100 %"


def test_silenced_stderr_hides_what_is_written_to_descriptor_2(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with silenced_stderr():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on\n")
    with silenced_stderr(False):
        os.write(2, b"shown under --verbose\n")
    err = capfd.readouterr().err
    assert "oneDNN" not in err and "shown under --verbose" in err
    with pytest.raises(ValueError), silenced_stderr():
        raise ValueError("still raised")
    os.write(2, b"restored\n")
    assert "restored" in capfd.readouterr().err
