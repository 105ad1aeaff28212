"""One file never holds another back: an unexpected exception on one photo, in a worker or in any
stage, skips that photo ("internal error: ...", recorded, traceback logged once, retried when the
file changes) and the rest of the batch is filed; the same through `scan` and `classify`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from photosieve import dating
from photosieve.cli import group
from photosieve.config import Config
from photosieve.daemon import pipeline
from photosieve.files.mover import Mover
from photosieve.model import contract, loader
from photosieve.model import store as modelstore
from photosieve.state import State
from photosieve.vision import imaging

VICTIM = "IMG_2.jpg"


def _inbox(config: Config, make_photo: Callable[..., Path], n: int = 5) -> list[Path]:
    inbox = config.inboxes[0]
    return [
        make_photo(inbox / f"IMG_{i}.jpg", f"2024:05:0{i + 1} 10:00:00", seed=i) for i in range(n)
    ]


def _run(config: Config, state: State, paths: list[Path]) -> list[pipeline.Photo]:
    mover = Mover(state, roots=config.roots)
    pipe = pipeline.Pipeline(config, state, mover, contract.KeepAll(input_size=75))
    return pipe.run([(p, config.inboxes[0]) for p in paths])


def _fail_for_victim(exc: Exception, real: Callable[..., object]) -> Callable[..., object]:
    def wrapped(*args: object, **kwargs: object) -> object:
        names = [getattr(a, "path", a) for a in args]  # a path, a name or a pipeline.Photo
        if any(isinstance(a, (Path, str)) and VICTIM in str(a) for a in names):
            raise exc
        return real(*args, **kwargs)

    return wrapped


def _check_one_skipped(
    photos: list[pipeline.Photo], state: State, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    by_name = {p.path.name: p for p in photos}
    victim = by_name.pop(VICTIM)
    assert (victim.outcome, victim.reason) == ("skipped", reason)
    assert victim.path.exists()  # left in place
    assert [p.outcome for p in by_name.values()] == ["filed"] * len(by_name)
    assert all(p.result is not None and p.result.exists() for p in by_name.values())
    row = state.get_file(victim.path)
    assert row is not None and (row.status, row.reason) == ("skipped", reason)
    assert [r.path for r in state.files_with_status("skipped")] == [str(victim.path)]
    tracebacks = [r for r in caplog.records if r.exc_info and VICTIM in r.getMessage()]
    assert len(tracebacks) == 1


def test_a_decoder_exception_skips_one_photo_and_files_the_rest(
    config: Config,
    state: State,
    make_photo: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    paths = _inbox(config, make_photo)
    monkeypatch.setattr(imaging, "load", _fail_for_victim(KeyError("boom"), imaging.load))
    photos = _run(config, state, paths)
    _check_one_skipped(photos, state, "internal error: KeyError: 'boom'", caplog)

    # Not retried while unchanged; retried (and filed) once the file changes.
    monkeypatch.undo()
    victim = config.inboxes[0] / VICTIM
    (again,) = _run(config, state, [victim])
    assert again.outcome == "unchanged"
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    (again,) = _run(config, state, [victim])
    assert again.outcome == "filed" and not victim.exists()


@pytest.mark.parametrize(
    ("target", "name", "stage"),
    [
        (dating, "resolve_capture_time", "date"),
        (pipeline.naming, "render_name", "stamp"),
        (pipeline.burst_stage, "shot_of", "burst"),
        (pipeline.burst_stage, "remember", "record"),
    ],
)
def test_a_stage_exception_skips_one_photo_and_files_the_rest(
    config: Config,
    state: State,
    make_photo: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    target: object,
    name: str,
    stage: str,
) -> None:
    paths = _inbox(config, make_photo)
    real = getattr(target, name)
    if stage == "record":  # after the move: the photo is moved, and its row comes from the journal

        def remember(state_: State, photo: pipeline.Photo) -> None:
            if photo.path.name == VICTIM:
                raise ValueError("late")
            real(state_, photo)

        monkeypatch.setattr(target, name, remember)
    else:
        monkeypatch.setattr(target, name, _fail_for_victim(ValueError("bad"), real))
    photos = _run(config, state, paths)
    if stage != "record":
        _check_one_skipped(photos, state, "internal error: ValueError: bad", caplog)
        return
    victim = next(p for p in photos if p.path.name == VICTIM)
    assert victim.outcome == "skipped" and "internal error: ValueError: late" in str(victim.reason)
    assert sum(p.outcome == "filed" for p in photos) == 4
    assert victim.result is not None and victim.result.exists()
    row = state.get_file(victim.result)  # recorded from the journal: nothing is lost track of
    assert row is not None and row.status == "filed"


def test_scan_goes_on_past_one_photos_exception(
    config: Config, make_photo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _inbox(config, make_photo)
    failing = _fail_for_victim(ValueError("x"), dating.resolve_capture_time)
    monkeypatch.setattr(dating, "resolve_capture_time", failing)
    assert config.source is not None
    args = ["--config", str(config.source), "scan", str(config.inboxes[0])]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == "Scan finished."
    lines = {line.split()[0]: line.split()[1] for line in out[1:]}
    assert lines == {"filed": "4", "skipped": "1"}
    assert (config.inboxes[0] / VICTIM).exists()


class _Gray:
    version: str | None = "test-1"
    input_size = 32
    fit: imaging.Fit = "crop"
    threshold = 0.5
    uses_quality = False

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(pixels), 0.25, np.float32)


def test_classify_prints_one_photos_error_and_goes_on(
    config: Config, make_photo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _inbox(config, make_photo)
    monkeypatch.setattr(modelstore, "current_model_dir", lambda _: Path("/model"))
    monkeypatch.setattr(loader, "load_classifier", lambda *_, **__: _Gray())
    monkeypatch.setattr(imaging, "load", _fail_for_victim(KeyError("boom"), imaging.load))
    assert config.source is not None
    args = ["--config", str(config.source), "classify", str(config.inboxes[0])]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert len(rows) == len(paths)
    victim = next(row for row in rows if row[2].endswith(f"{VICTIM}:"))
    assert (
        victim[:2] == ["-", "error"] and " ".join(victim[3:]) == "internal error: KeyError: 'boom'"
    )
    assert [row[:2] for row in rows if row is not victim] == [["0.250", "keep"]] * 4
