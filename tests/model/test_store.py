"""The model store: version names, the atomic `current` pointer, pruning, `models list/use`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from photosieve.cli import group
from photosieve.errors import Busy, ModelError
from photosieve.model import store as modelstore


def _version(models: Path, name: str, **meta: object) -> Path:
    folder = models / name
    folder.mkdir(parents=True)
    body = {
        "version": name,
        "backbone": "tiny",
        "threshold": 0.4,
        "metrics": {"test_accuracy": 0.95, "keep_loss": 0.0},
        "created": "x",
    } | meta
    (folder / "model.json").write_text(json.dumps(body))
    (folder / "model.tflite").write_bytes(b"\0" * 2000)
    return folder


def test_version_names_are_utc_stamps_with_a_suffix_when_taken(tmp_path: Path) -> None:
    now = datetime(2026, 11, 30, 2, 0, 0, tzinfo=UTC)
    first = modelstore.new_version_name(tmp_path, now)
    assert first == "20261130-020000"
    _version(tmp_path, first)
    assert modelstore.new_version_name(tmp_path, now) == "20261130-020000-2"
    _version(tmp_path, "20261130-020000-2")
    _version(tmp_path, "20261129-235959")
    assert modelstore.version_names(tmp_path) == [
        "20261129-235959",
        "20261130-020000",
        "20261130-020000-2",
    ]


def test_current_pointer_switches_atomically_and_refuses_unknown_versions(tmp_path: Path) -> None:
    assert modelstore.current_model_dir(tmp_path) is None
    _version(tmp_path, "20260101-000000")
    _version(tmp_path, "20260102-000000")
    (tmp_path / f"current.tmp-{os.getpid()}").symlink_to("stale")  # left by a crashed run
    modelstore.set_current(tmp_path, "20260101-000000")
    assert modelstore.current_model_dir(tmp_path) == tmp_path / "20260101-000000"
    assert os.readlink(tmp_path / "current") == "20260101-000000"  # relative
    modelstore.set_current(tmp_path, "20260102-000000")
    assert modelstore.current_version(tmp_path) == "20260102-000000"
    assert (
        modelstore.read_meta(modelstore.current_model_dir(tmp_path))["version"] == "20260102-000000"
    )  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="unknown model version"):
        modelstore.set_current(tmp_path, "20990101-000000")
    with pytest.raises(ModelError):
        modelstore.set_current(tmp_path, "../etc")
    assert modelstore.current_version(tmp_path) == "20260102-000000"
    assert not list(tmp_path.glob("current.tmp-*"))


def test_unfinished_and_foreign_folders_are_not_versions(tmp_path: Path) -> None:
    (tmp_path / ".staging-20260101-000000").mkdir()
    (tmp_path / "20260103-000000").mkdir()  # no model.json: unfinished
    (tmp_path / "notes").mkdir()
    assert modelstore.version_names(tmp_path) == []
    with pytest.raises(ModelError):
        modelstore.read_meta(tmp_path / "20260103-000000")


def test_prune_keeps_the_newest_and_the_current(tmp_path: Path) -> None:
    names = [f"2026010{i}-000000" for i in range(1, 7)]
    for name in names:
        _version(tmp_path, name)
    modelstore.set_current(tmp_path, names[0])  # rolled back to the oldest
    removed = modelstore.prune(tmp_path, 2)
    assert removed == names[1:4]
    assert modelstore.version_names(tmp_path) == [names[0], names[4], names[5]]


def test_models_list_and_use_through_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\ninboxes: [{tmp_path / 'inbox'}]\n")
    models = tmp_path / "state" / "models"
    _version(models, "20260101-000000", threshold=0.31)
    _version(models, "20260102-000000", backbone="inceptionv3")
    modelstore.set_current(models, "20260102-000000")
    runner = CliRunner()
    listed = runner.invoke(group, ["--config", str(config), "models", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "threshold" in lines[0] and "keep-loss" in lines[0]
    assert lines[1].startswith("  20260101-000000") and "0.310" in lines[1]
    assert lines[2].startswith("* 20260102-000000") and "inceptionv3" in lines[2]
    assert "95.0%" in lines[2]
    used = runner.invoke(group, ["--config", str(config), "models", "use", "20260101-000000"])
    assert used.exit_code == 0
    assert modelstore.current_version(models) == "20260101-000000"
    bad = runner.invoke(group, ["--config", str(config), "models", "use", "20300101-000000"])
    assert bad.exit_code != 0
    assert isinstance(bad.exception, ModelError)
    assert modelstore.current_version(models) == "20260101-000000"


def test_the_model_store_never_imports_tensorflow() -> None:
    code = (
        "import sys, photosieve.model.store, photosieve.commands.models; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


_HOLD = """
import sys, time
from pathlib import Path
from photosieve.model import store as modelstore
with modelstore.training_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_one_training_run_at_a_time_and_a_killed_run_frees_the_lock(tmp_path: Path) -> None:
    models = tmp_path / "models"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(models)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        refused = pytest.raises(Busy, match=rf"in progress \(pid {holder.pid}\)")
        with refused, modelstore.training_lock(models):
            pytest.fail("the lock was taken twice")
    finally:
        holder.kill()  # as kill -9: no cleanup runs
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with modelstore.training_lock(models):
        assert (models / modelstore.LOCK).read_text() == f"{os.getpid()}\n"
    assert modelstore.version_names(models) == []  # the lock file is not a version
