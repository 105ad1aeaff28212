"""Reviewing the quarantine: where keepers go back to, and Apply through the live server."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from photosieve.config import Config, LibraryConfig
from photosieve.errors import PhotosieveError
from photosieve.files.copy import sha256_file
from photosieve.labeler.review import Verdict, apply_review
from photosieve.quarantine.restore import restore_target
from photosieve.state import State

Serve = Callable[..., Any]
Photo = Callable[..., Path]


def test_restore_target_is_the_dated_library_folder(
    config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    path = quarantined("2023-07-04_10-00-00_a.jpg", taken="2023-07-04T10:00:00")
    assert config.library.path is not None
    expected = config.library.path / "2023" / "07" / "2023-07-04_10-00-00_a.jpg"
    assert restore_target(config, state, path) == expected


def test_restore_target_follows_the_configured_folder_template(
    config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    config = dataclasses.replace(
        config, library=LibraryConfig(path=config.library.path, folders="{taken:%Y}")
    )
    path = quarantined("b.jpg", taken="2021-12-31T23:59:59+02:00")
    assert config.library.path is not None
    assert restore_target(config, state, path) == config.library.path / "2021" / "b.jpg"


def test_restore_target_reads_the_photo_when_nothing_is_recorded(
    config: Config, state: State, photo: Photo
) -> None:
    path = photo(config.quarantine.path / "IMG_20220103_101010.jpg")
    assert config.library.path is not None
    expected = config.library.path / "2022" / "01" / path.name
    assert restore_target(config, state, path) == expected


def test_without_a_library_a_keeper_goes_back_where_it_came_from(
    config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    config = dataclasses.replace(config, library=LibraryConfig(path=None))
    origin = config.inboxes[0] / "phone" / "c.jpg"
    path = quarantined("c.jpg", taken=None, origin=origin)
    assert restore_target(config, state, path) == config.inboxes[0] / "phone" / "c.jpg"
    stranger = photo(config.quarantine.path / "unknown.jpg")
    with pytest.raises(PhotosieveError, match=r"cannot tell where unknown\.jpg came from"):
        restore_target(config, state, stranger)


def test_apply_review_restores_keepers_with_their_sidecars(
    config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    path = quarantined("d.jpg", taken="2020-02-02T02:02:02")
    sidecar = config.quarantine.path / "d.xmp"
    sidecar.write_text("<xmp/>")
    sha = sha256_file(path)
    outcomes = apply_review(config, state, [Verdict(sha, path, "keep")])
    assert config.library.path is not None
    target = config.library.path / "2020" / "02" / "d.jpg"
    assert [(o.status, o.target) for o in outcomes] == [("restored", target)]
    assert sha256_file(target) == sha and not path.exists()
    assert (target.parent / "d.xmp").read_text() == "<xmp/>" and not sidecar.exists()
    moved = state.get_file(target)
    assert moved is not None and moved.status == "filed" and moved.taken == "2020-02-02T02:02:02"
    assert state.get_file(path) is None


def test_review_page_apply_restores_keepers_and_labels_everything(
    serve: Serve, config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    keep = quarantined("keep.jpg", taken="2024-05-03T14:22:10", score=0.61)
    stay = quarantined("stay.jpg", taken="2024-05-04T09:00:00", score=0.97)
    fresh = photo(config.quarantine.path / "IMG_20240101_120000.jpg")  # no decision recorded
    client = serve([config.quarantine.path], mode="review")
    data = client.ready()
    assert data["mode"] == "review"
    listed = {p["name"]: p for p in data["photos"]}
    assert {n: p["label"] for n, p in listed.items()} == dict.fromkeys(listed, "discard")
    assert listed["keep.jpg"]["score"] == pytest.approx(0.61)
    assert listed["stay.jpg"]["score"] == pytest.approx(0.97)
    assert listed[fresh.name]["score"] is None  # no model, no recorded decision
    assert state.labels() == []  # review marks wait for Apply

    keep_id = listed["keep.jpg"]["id"]
    assert client.post("/api/label", {"id": keep_id, "label": "keep"}).status == 200
    assert state.labels() == []

    preview = client.post("/api/apply", {"dry_run": True}).json()
    assert preview["dry_run"] is True
    assert keep.exists() and state.labels() == []
    assert config.library.path is not None
    target = config.library.path / "2024" / "05" / "keep.jpg"
    planned = {r["name"]: (r["status"], r["target"]) for r in preview["results"]}
    assert planned["keep.jpg"] == ("planned", str(target))
    assert planned["stay.jpg"] == ("stays", None)

    result = client.post("/api/apply", {"dry_run": False}).json()
    statuses = {r["name"]: r["status"] for r in result["results"]}
    assert statuses == {"keep.jpg": "restored", "stay.jpg": "stays", fresh.name: "stays"}
    assert not keep.exists() and sha256_file(target) == keep_id
    assert stay.exists() and fresh.exists()
    rows = {r["sha256"]: (r["label"], r["source"]) for r in state.labels()}
    assert rows == {
        keep_id: ("keep", "review"),
        sha256_file(stay): ("discard", "review"),
        sha256_file(fresh): ("discard", "review"),
    }
    journal = state.execute("SELECT kind, state, dst FROM moves").fetchall()
    assert [tuple(j) for j in journal] == [("restore", "done", str(target))]
    assert sorted(p["name"] for p in client.listing()["photos"]) == sorted([fresh.name, "stay.jpg"])


def test_review_dry_run_only_never_moves(
    serve: Serve, config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    keep = quarantined("k.jpg", taken="2024-05-03T14:22:10")
    client = serve([config.quarantine.path], mode="review", dry_run_only=True)
    photo_id = client.ids()["k.jpg"]
    client.post("/api/label", {"id": photo_id, "label": "keep"})
    reply = client.post("/api/apply", {"dry_run": False}).json()
    assert reply["dry_run"] is True and reply["results"][0]["status"] == "planned"
    assert keep.exists() and state.labels() == []
    assert state.execute("SELECT COUNT(*) FROM moves").fetchone()[0] == 0


def test_review_undo_puts_the_discard_mark_back(
    serve: Serve, config: Config, state: State, photo: Photo, quarantined: Any
) -> None:
    quarantined("u.jpg", taken=None)
    client = serve([config.quarantine.path], mode="review")
    photo_id = client.ids()["u.jpg"]
    client.post("/api/label", {"id": photo_id, "label": "keep"})
    assert client.post("/api/undo").json() == {"id": photo_id, "label": "discard", "session": 0}
    assert client.listing()["photos"][0]["label"] == "discard"
