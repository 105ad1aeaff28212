"""`photosieve restore`, `purge` and `undo` through the real CLI, with a config in tmp_path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from photosieve.cli import group
from photosieve.commands._options import parse_since
from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.quarantine.reconcile import reconcile
from photosieve.state import State

DAY = 86400.0
Run = Callable[..., Result]
Put = Callable[..., Path]


@pytest.fixture
def run(config: Config) -> Run:
    def invoke(*args: str) -> Result:
        assert config.source is not None
        return CliRunner().invoke(group, ["--config", str(config.source), *args])

    return invoke


def snapshot(tmp_path: Path, state: State) -> tuple[str, list[tuple[object, ...]]]:
    """A hash of every photo folder, and every row of the database."""
    digest = hashlib.sha256()
    for name in ("inbox", "library", "quarantine"):
        for path in sorted((tmp_path / name).rglob("*")):
            digest.update(str(path).encode())
            if path.is_file():
                digest.update(path.read_bytes())
    rows: list[tuple[object, ...]] = []
    for table in ("files", "moves", "labels"):
        rows += [tuple(r) for r in state.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()]
    return digest.hexdigest(), rows


def label(state: State, sha: str) -> tuple[str, str] | None:
    row = state.execute("SELECT label, source FROM labels WHERE sha256 = ?", (sha,)).fetchone()
    return None if row is None else (row[0], row[1])


# --- restore -------------------------------------------------------------------------------------


def test_restore_dry_run_touches_nothing(
    run: Run, quarantine_photo: Put, state: State, tmp_path: Path, config: Config
) -> None:
    first, second = quarantine_photo("a.jpg", sidecar=True), quarantine_photo("b.jpg")
    before = snapshot(tmp_path, state)
    result = run("restore", "--all", "--dry-run")
    assert result.exit_code == 0, result.output
    assert config.library.path is not None
    target = config.library.path / "2024" / "05"
    assert f"would restore {first} -> {target / 'a.jpg'}" in result.output
    assert f"would restore {second} -> {target / 'b.jpg'}" in result.output
    assert snapshot(tmp_path, state) == before


def test_restore_moves_back_with_sidecars_and_labels_keep(
    run: Run, quarantine_photo: Put, state: State, config: Config
) -> None:
    path, other = quarantine_photo("c.jpg", sidecar=True), quarantine_photo("d.jpg")
    sha = sha256_file(path)
    result = run("restore", str(path))
    assert result.exit_code == 0, result.output
    assert config.library.path is not None
    target = config.library.path / "2024" / "05" / "c.jpg"
    assert f"restored {path} -> {target}" in result.output
    assert sha256_file(target) == sha and not path.exists()
    assert (target.parent / "c.xmp").read_text() == "<xmp/>"
    assert label(state, sha) == ("keep", "restore")
    row = state.get_file(target)
    assert row is not None and row.status == "filed" and row.sha256 == sha
    assert state.get_file(path) is None
    kinds = state.execute("SELECT kind, state FROM moves WHERE src = ?", (str(path),)).fetchall()
    assert [tuple(k) for k in kinds] == [("restore", "done")]
    assert other.exists() and label(state, sha256_file(other)) is None
    assert reconcile(config, state).findings == []  # the monitor sees nothing done by hand


def test_restore_since_takes_only_the_recent(
    run: Run, quarantine_photo: Put, config: Config
) -> None:
    old, recent = quarantine_photo("e.jpg", age_days=3), quarantine_photo("f.jpg")
    result = run("restore", "--since", "1d")
    assert result.exit_code == 0, result.output
    assert old.exists() and not recent.exists()
    assert config.library.path is not None
    assert (config.library.path / "2024" / "05" / "f.jpg").exists()


def test_restore_needs_something_to_restore(run: Run, tmp_path: Path) -> None:
    result = run("restore")
    assert result.exit_code == 2 and "--all or --since" in result.output
    stray = tmp_path / "elsewhere.jpg"
    result = run("restore", str(stray))
    assert result.exit_code != 0 and "is not in the quarantine" in str(result.exception)


# --- purge ---------------------------------------------------------------------------------------


def test_purge_dry_run_then_for_real(
    run: Run, quarantine_photo: Put, state: State, tmp_path: Path, trash: Path
) -> None:
    old = quarantine_photo("g.jpg", age_days=45, sidecar=True)
    young = quarantine_photo("h.jpg", age_days=2)
    old_sha = sha256_file(old)
    before = snapshot(tmp_path, state)
    result = run("purge", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would send to the trash: {old} (with g.xmp)" in result.output
    assert str(young) not in result.output
    assert snapshot(tmp_path, state) == before and not trash.exists()
    result = run("purge")
    assert result.exit_code == 0, result.output
    assert f"sent to the trash: {old}" in result.output
    assert not old.exists() and (trash / "files" / "g.jpg").exists()
    assert (trash / "files" / "g.xmp").exists()
    assert young.exists()
    assert label(state, old_sha) == ("discard", "purge")


# --- undo ----------------------------------------------------------------------------------------


def test_undo_round_trip_and_the_service_leaves_undone_photos_alone(
    run: Run, state: State, config: Config, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    inbox = config.inboxes[0]
    photos = [make_photo(inbox / "phone" / f"IMG_{i}.jpg", seed=i) for i in range(3)]
    digests = {p: sha256_file(p) for p in photos}
    result = run("scan", str(inbox))
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in photos)
    filed = snapshot(tmp_path, state)
    result = run("undo", "--since", "1h", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("would move back") == 3
    assert snapshot(tmp_path, state) == filed
    result = run("undo", "--since", "1h")
    assert result.exit_code == 0, result.output
    assert result.output.count("moved back") == 3
    assert config.library.path is not None
    assert not [p for p in config.library.path.rglob("*") if p.is_file()]
    for photo in photos:
        assert sha256_file(photo) == digests[photo]
        row = state.get_file(photo)
        assert row is not None and row.status == "undone" and row.sha256 == digests[photo]
        assert (row.size, row.mtime_ns) == (photo.stat().st_size, photo.stat().st_mtime_ns)
    result = run("scan", str(inbox))  # what the running service's rescan does
    assert result.exit_code == 0, result.output
    assert all(p.exists() for p in photos)
    assert not [p for p in config.library.path.rglob("*") if p.is_file()]
    assert "Nothing to undo" in run("undo", "--since", "1h").output


def test_undoing_a_quarantine_brings_the_photo_back_and_forgets_its_quarantine_row(
    run: Run, quarantine_photo: Put, state: State, config: Config
) -> None:
    path = quarantine_photo("i.jpg")
    reconcile(config, state)
    result = run("undo", "--since", "10m")
    assert result.exit_code == 0, result.output
    back = config.inboxes[0] / "i.jpg"
    assert back.exists() and not path.exists()
    assert state.get_file(path) is None
    row = state.get_file(back)
    assert row is not None and row.status == "undone"
    assert reconcile(config, state).findings == []  # not mistaken for a deletion by hand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30", datetime(2026, 11, 30, tzinfo=UTC).timestamp()),
        ("2026-11-30 08:00", datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp()),
        ("2026-11-30T08:00:00+01:00", datetime(2026, 11, 30, 7, tzinfo=UTC).timestamp()),
        ("2h", 1_000_000.0 - 7200),
        ("1d", 1_000_000.0 - 86400),
        ("30m", 1_000_000.0 - 1800),
    ],
)
def test_parse_since(text: str, expected: float) -> None:
    assert parse_since(text, now=1_000_000.0) == expected  # conftest pins TZ=UTC


def test_a_bad_date_is_a_usage_error(run: Run) -> None:
    result = run("undo", "--since", "yesterday-ish")
    assert result.exit_code == 2 and "is not a time" in result.output
    with pytest.raises(ValueError, match="not a time"):
        parse_since("soon")
