"""`photosieve classify`: the no-model message, and JSON/table output on a tiny exported model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from photosieve.cli import main
from photosieve.model import contract
from photosieve.model import store as modelstore
from photosieve.vision import imaging, verdicts


def _runtime_tests() -> ModuleType:
    """tests/model/test_runtime.py holds the tiny-model exporter; there is no tests package."""
    path = Path(__file__).resolve().parents[1] / "model" / "test_runtime.py"
    spec = importlib.util.spec_from_file_location("_runtime_test_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _runtime_tests()


def _write_config(tmp_path: Path, state: Path, threshold: float | None = None) -> Path:
    config = tmp_path / "config.yaml"
    lines = [f"state_dir: {state}", "classifier:", "  device: cpu", "  batch_size: 2"]
    if threshold is not None:
        lines.append(f"  threshold: {threshold}")
    config.write_text("\n".join(lines) + "\n")
    return config


def _run(args: list[str]) -> int:
    try:
        return int(main(args) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_without_a_model_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = helpers.write_photos(tmp_path / "photos", 1)
    config = _write_config(tmp_path, tmp_path / "state")
    code = _run(["--config", str(config), "classify", str(photos[0])])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and "no model is installed" in err


@pytest.fixture(scope="module")
def tiny_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("state")
    helpers.export_tiny_model(state / "models")
    return state


@pytest.mark.tf
def test_json_scores_folders_recursively_and_reports_bad_files(
    tiny_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    photos = helpers.write_photos(folder / "sub", 3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (folder / ".hidden.jpg").write_bytes(photos[0].read_bytes())
    (folder / "notes.txt").write_text("not a photo")
    config = _write_config(tmp_path, tiny_state, threshold=0.4)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))

    code = _run(["--config", str(config), "classify", "--json", str(folder)])
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [Path(r["path"]).name for r in records] == ["broken.jpg", *(p.name for p in photos)]
    broken, *good = records
    assert broken["score"] is None and broken["decision"] is None and broken["error"]
    for record in good:
        assert record["model_version"] == helpers.VERSION_A and record["threshold"] == 0.4
        assert 0.0 <= record["score"] <= 1.0 and record["error"] is None
        assert record["decision"] == ("discard" if record["score"] >= 0.4 else "keep")
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before  # nothing moved


@pytest.mark.tf
def test_table_output_and_exit_1_when_nothing_could_be_scored(
    tiny_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write_config(tmp_path, tiny_state)
    photo = helpers.write_photos(tmp_path / "photos", 1)[0]
    assert _run(["--config", str(config), "classify", str(photo)]) == 0
    row = capsys.readouterr().out.strip()
    score, decision, path = row.split(maxsplit=2)
    assert path == str(photo) and decision in ("keep", "discard") and 0 <= float(score) <= 1

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    assert _run(["--config", str(config), "classify", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "empty" in captured.out and "nothing could be scored" in captured.err


@pytest.fixture(scope="module")
def quality_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("state")
    helpers.export_quality_model(state / "models", version=helpers.VERSION_A)
    modelstore.set_current(state / "models", helpers.VERSION_A)
    return state


@pytest.mark.tf
def test_explain_gives_the_reasons_the_service_would_record(
    quality_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    photos = helpers.write_photos(folder, 2)
    black = folder / "pocket.jpg"
    Image.new("RGB", (800, 600), (0, 0, 0)).save(black, quality=90)
    # A threshold this low makes everything a discard, which is when signals are named.
    config = _write_config(tmp_path, quality_state, threshold=0.0001)

    assert _run(["--config", str(config), "classify", "--json", "--explain", str(folder)]) == 0
    records = {Path(str(r["path"])).name: r for r in _records(capsys)}
    assert set(records) == {"pocket.jpg", *(p.name for p in photos)}
    for name, record in records.items():
        assert record["decision"] == "discard"
        signals = contract.decoded_signals(
            imaging.load(folder / name, helpers.TINY_SIZE, fit="crop", want_gray=True)
        )
        model = f"model {float(record['score']):.2f}"
        assert record["reasons"] == [*verdicts.explain(signals), model]
    assert records["pocket.jpg"]["reasons"][0] == "near-black"

    assert _run(["--config", str(config), "classify", "--explain", str(black)]) == 0
    row = capsys.readouterr().out.strip()
    expected = f"near-black, model {float(records['pocket.jpg']['score']):.2f}"
    assert row.endswith(str(black)) and expected in row
    # Without --explain the JSON has no reasons (nothing extra is computed for them).
    assert _run(["--config", str(config), "classify", "--json", str(black)]) == 0
    assert "reasons" not in _records(capsys)[0]


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]
