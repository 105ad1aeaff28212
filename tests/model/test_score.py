"""The batch scorer: the pure verdict, work done in the workers, and one photo's failure kept to
that photo (a worker's exception, an inference that fails on its pixels)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from photosieve.model import contract
from photosieve.model import score as scorer
from photosieve.vision import bursts, imaging, quality, verdicts

DARK = {name: 0.0 for name in quality.SIGNAL_NAMES} | {"dark_fraction": 1.0}


class Brightness:
    """A stand-in model: dark photos score high (discard); pure white makes it raise."""

    version: str | None = "test-1"
    input_size = 32
    fit: imaging.Fit = "crop"
    threshold = 0.5
    uses_quality = False

    def __init__(self) -> None:
        self.batches: list[int] = []

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        self.batches.append(len(pixels))
        if any(p.min() == 255 for p in pixels):
            raise FloatingPointError("white out")
        return 1.0 - pixels.reshape(len(pixels), -1).mean(axis=1) / 255.0


def _photos(folder: Path, values: list[int]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i, value in enumerate(values):
        path = folder / f"p{i}.png"
        Image.new("RGB", (40, 30), (value, value, value)).save(path)
        paths.append(path)
    return paths


# --- the pure verdict ---------------------------------------------------------------------------


def test_verdict_names_signals_only_for_a_discard() -> None:
    assert verdicts.explain(DARK) == ["near-black"]
    assert scorer.verdict(0.934, 0.5, DARK).reasons == ["near-black", "model 0.93"]
    assert scorer.verdict(0.1, 0.5, DARK).reasons == ["model 0.10"]  # a keep names no signal
    assert scorer.verdict(0.9, 0.5, None).reasons == ["model 0.90"]


def test_verdict_owner_choice_and_cold_start() -> None:
    owner = scorer.verdict(0.99, 0.5, DARK, owner_kept="labelled keep")
    assert (owner.decision, owner.reasons) == ("keep", ["labelled keep", "model 0.99"])
    cold = scorer.verdict(0.0, 1.0, DARK, has_model=False, cold_start=True)
    assert cold == scorer.Verdict(None, "discard", ["near-black"])
    warm = scorer.verdict(0.0, 1.0, DARK, has_model=False, cold_start=False)
    assert warm == scorer.Verdict(None, "keep", [])


@given(
    score=st.floats(0, 1),
    threshold=st.floats(0, 1),
    owner=st.sampled_from([None, "labelled keep"]),
    model=st.booleans(),
)
def test_verdict_follows_the_contract(
    score: float, threshold: float, owner: str | None, model: bool
) -> None:
    v = scorer.verdict(score, threshold, None, has_model=model, owner_kept=owner)
    expected = "keep" if owner else contract.decide(score, threshold)
    assert v.decision == expected
    assert v.score == (score if model else None)
    if model:
        assert v.reasons[-1] == f"model {score:.2f}"
    else:
        assert not any(reason.startswith("model ") for reason in v.reasons)
    assert (owner in v.reasons) == (owner is not None)


# --- the workers ----------------------------------------------------------------------------------


def test_workers_hash_decode_sign_and_dhash(tmp_path: Path) -> None:
    paths = _photos(tmp_path / "in", [10, 200, 90])
    everything = scorer.Wants.everything()
    results = list(scorer.score_paths(Brightness(), paths, batch_size=2, wants=everything))
    for path, result in zip(paths, results, strict=True):
        assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        decoded = imaging.load(path, 32, fit="crop", want_gray=True)
        assert result.signals == contract.decoded_signals(decoded)
        assert decoded.gray is not None and result.phash == bursts.dhash(decoded.gray)
    assert [r.decision for r in results] == ["discard", "keep", "discard"]
    assert results[0].reasons[-1] == f"model {results[0].score:.2f}"


def test_keep_all_is_decoded_only_when_the_service_asks(tmp_path: Path) -> None:
    (path,) = _photos(tmp_path / "in", [10])
    (plain,) = scorer.score_paths(contract.KeepAll(input_size=32), [path])
    assert plain.signals is None and plain.sha256 is None and plain.decision == "keep"
    wants = scorer.Wants.everything()
    (full,) = scorer.score_paths(contract.KeepAll(input_size=32), [path], wants=wants)
    assert full.signals is not None and full.sha256 is not None and full.reasons == []


def test_a_worker_exception_stops_only_its_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _photos(tmp_path / "in", [10, 200, 90, 30, 220])
    real = imaging.load

    def load(path: Path, *args: object, **kwargs: object) -> imaging.Decoded:
        if path.name == "p2.png":
            raise KeyError("no such tag")
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(imaging, "load", load)
    model = Brightness()
    results = list(scorer.score_paths(model, paths, batch_size=2, workers=2))
    assert [r.path for r in results] == paths
    failed = results[2]
    assert failed.error == "internal error: KeyError: 'no such tag'" and failed.internal
    assert failed.score is None and failed.decision is None
    assert all(r.error is None and r.decision is not None for i, r in enumerate(results) if i != 2)
    assert model.batches == [2, 1, 1]  # the failed photo never reaches the model
    logged = [r for r in caplog.records if r.exc_info and "p2.png" in r.getMessage()]
    assert len(logged) == 1


def test_an_inference_failure_on_one_photo_spares_the_rest(tmp_path: Path) -> None:
    paths = _photos(tmp_path / "in", [10, 255, 90, 30])
    results = list(scorer.score_paths(Brightness(), paths, batch_size=4))
    assert results[1].error == "internal error: FloatingPointError: white out"
    assert results[1].internal and results[1].score is None
    others = [results[i] for i in (0, 2, 3)]
    assert [r.decision for r in others] == ["discard", "discard", "discard"]
    assert others[0].score == pytest.approx(1 - 10 / 255, abs=1e-3)


def test_an_unreadable_file_says_so_when_hashing(tmp_path: Path) -> None:
    missing = tmp_path / "gone.png"
    (result,) = scorer.score_paths(Brightness(), [missing], wants=scorer.Wants.everything())
    assert result.unreadable == "unreadable: No such file or directory"
    assert result.score is None and not result.internal


def test_a_model_that_fails_on_every_photo_raises(tmp_path: Path) -> None:
    paths = _photos(tmp_path / "in", [255, 255, 255])  # all white: Brightness raises on each
    with pytest.raises(FloatingPointError, match="white out"):
        list(scorer.score_paths(Brightness(), paths, batch_size=3))


def test_a_batch_of_one_that_fails_raises(tmp_path: Path) -> None:
    # Nothing to tell a photo's fault from the model's: the caller retries the batch later.
    paths = _photos(tmp_path / "in", [10, 255])
    with pytest.raises(FloatingPointError):
        list(scorer.score_paths(Brightness(), paths, batch_size=1))
