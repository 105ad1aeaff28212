"""The labeler's HTTP API against a live server on 127.0.0.1 (port 0), driven with urllib."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.model import store as modelstore
from photosieve.state import State

Serve = Callable[..., Any]
Photo = Callable[..., Path]


def test_binds_to_loopback_only(serve: Serve, config: Config, photo: Photo) -> None:
    make = photo(config.inboxes[0] / "a.jpg")
    client = serve([make.parent])
    assert client.server.server_address[0] == "127.0.0.1"
    assert client.server.url.startswith(f"http://127.0.0.1:{client.server.port}/?token=")
    assert len(client.token) >= 32


def test_labels_are_saved_at_once_and_undone(
    serve: Serve, config: Config, state: State, photo: Photo
) -> None:
    folder = config.inboxes[0]
    for name in ("a.jpg", "b.jpg", "c.png"):
        photo(folder / name, fmt="PNG" if name.endswith(".png") else "JPEG")
    client = serve([folder])
    ids = client.ids()
    assert sorted(ids) == ["a.jpg", "b.jpg", "c.png"]

    assert client.post("/api/label", {"id": ids["a.jpg"], "label": "keep"}).status == 200
    reply = client.post("/api/label", {"id": ids["b.jpg"], "label": "discard"})
    assert reply.json() == {"id": ids["b.jpg"], "label": "discard", "session": 2}
    row = state.execute("SELECT * FROM labels WHERE sha256 = ?", (ids["b.jpg"],)).fetchone()
    assert (row["label"], row["source"]) == ("discard", "label")
    assert Path(row["path"]).name == "b.jpg"
    assert state.label_of(ids["a.jpg"]) == "keep"
    assert {p["id"]: p["label"] for p in client.listing()["photos"]}[ids["a.jpg"]] == "keep"

    # Relabel, then undo twice: back to keep, then back to nothing.
    client.post("/api/label", {"id": ids["a.jpg"], "label": "discard"})
    assert client.post("/api/undo").json()["id"] == ids["a.jpg"]
    assert state.label_of(ids["a.jpg"]) == "keep"
    assert client.post("/api/undo").json() == {"id": ids["b.jpg"], "label": None, "session": 1}
    assert state.label_of(ids["b.jpg"]) is None
    client.post("/api/undo")
    assert client.post("/api/undo").json()["id"] is None
    assert state.labels() == []


def test_next_run_shows_earlier_labels(
    serve: Serve, config: Config, state: State, photo: Photo
) -> None:
    kept = photo(config.inboxes[0] / "kept.jpg")
    photo(config.inboxes[0] / "new.jpg")
    state.set_label(sha256_file(kept), "keep", source="label", path=kept)
    client = serve([config.inboxes[0]])
    labels = {p["name"]: p["label"] for p in client.ready()["photos"]}
    assert labels == {"kept.jpg": "keep", "new.jpg": None}


def test_photos_are_never_changed(serve: Serve, config: Config, photo: Photo) -> None:
    path = photo(config.inboxes[0] / "a.jpg")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    client = serve([path.parent])
    photo_id = client.ids()["a.jpg"]
    client.post("/api/label", {"id": photo_id, "label": "discard"})
    assert client.get(f"/thumb/{photo_id}").status == 200
    assert client.get(f"/photo/{photo_id}").status == 200
    assert sorted(os.listdir(path.parent)) == ["a.jpg"]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/api/photos"),
        ("GET", "/static/app.js"),
        ("GET", "/thumb/ID"),
        ("GET", "/photo/ID"),
        ("POST", "/api/label"),
        ("POST", "/api/undo"),
    ],
)
def test_requests_without_the_token_are_refused(
    serve: Serve, config: Config, state: State, photo: Photo, method: str, path: str
) -> None:
    photo(config.inboxes[0] / "a.jpg")
    client = serve([config.inboxes[0]])
    photo_id = client.ids()["a.jpg"]
    path = path.replace("ID", photo_id)
    body = {"id": photo_id, "label": "keep"} if method == "POST" else None
    assert client.request(method, path, body, token=False).status == 403
    last = "A" if client.token[-1] != "A" else "B"
    for forged in (client.token[:-1] + last, client.token[:-1]):  # one character off, short
        wrong = {"X-Photosieve-Token": forged}
        assert client.request(method, path, body, token=False, headers=wrong).status == 403
    assert state.labels() == []
    good = {"X-Photosieve-Token": client.token}
    assert client.request(method, path, body, token=False, headers=good).status == 200


def test_the_page_sets_a_cookie_that_later_requests_may_use(
    serve: Serve, config: Config, photo: Photo
) -> None:
    photo(config.inboxes[0] / "a.jpg")
    client = serve([config.inboxes[0]])
    page = client.get("/")
    assert page.status == 200 and b"app.js" in page.body
    cookie = SimpleCookie(page.headers["Set-Cookie"])
    name = f"photosieve_{client.server.port}"
    assert cookie[name].value == client.token
    assert cookie[name]["httponly"] and cookie[name]["samesite"] == "Strict"
    with_cookie = {"Cookie": f"{name}={client.token}"}
    assert client.get("/api/photos", token=False, headers=with_cookie).status == 200
    forged = {"Cookie": f"{name}=forged"}
    assert client.get("/api/photos", token=False, headers=forged).status == 403


def test_a_foreign_host_name_is_refused(serve: Serve, config: Config) -> None:
    client = serve([config.inboxes[0]])
    assert client.get("/api/photos").status == 200
    for host in ("evil.example", f"evil.example:{client.server.port}", "127.0.0.1.nip.io"):
        assert client.get("/api/photos", headers={"Host": host}).status == 403
    assert client.get("/api/photos", headers={"Host": "localhost:9999"}).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/thumb/../../../../etc/passwd",
        "/photo/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/thumb/%2Fetc%2Fpasswd",
        "/photo//etc/passwd",
        "/thumb/" + "0" * 64,
        "/photo/" + "A" * 64,
        "/static/../../../../etc/passwd",
        "/static/index.html/../../config.py",
        "/static/secret.txt",
        "/../../etc/passwd",
    ],
)
def test_path_traversal_is_refused(serve: Serve, config: Config, photo: Photo, path: str) -> None:
    photo(config.inboxes[0] / "a.jpg")
    client = serve([config.inboxes[0]])
    client.ready()
    reply = client.get(path)
    assert reply.status in (403, 404)
    assert b"root:" not in reply.body and b"import" not in reply.body


def test_a_symlink_out_of_the_folder_is_neither_listed_nor_served(
    serve: Serve, config: Config, photo: Photo, tmp_path: Path
) -> None:
    folder = config.inboxes[0]
    secret = photo(tmp_path / "outside" / "secret.jpg")
    photo(tmp_path / "outside" / "deeper" / "also.jpg")
    photo(folder / "mine.jpg")
    (folder / "link.jpg").symlink_to(secret)
    (folder / "linked-dir").symlink_to(tmp_path / "outside")
    client = serve([folder])
    listing = client.ready()["photos"]
    assert [p["name"] for p in listing] == ["mine.jpg"]
    secret_id = sha256_file(secret)
    assert secret_id not in {p["id"] for p in listing}
    assert client.get(f"/thumb/{secret_id}").status == 404
    assert client.get(f"/photo/{secret_id}").status == 404


def test_a_photo_swapped_for_a_symlink_after_listing_is_not_served(
    serve: Serve, config: Config, photo: Photo, tmp_path: Path
) -> None:
    folder = config.inboxes[0]
    mine = photo(folder / "mine.jpg")
    secret = photo(tmp_path / "outside" / "secret.jpg")
    client = serve([folder])
    photo_id = client.ids()["mine.jpg"]
    mine.rename(tmp_path / "moved-away.jpg")
    mine.symlink_to(secret)
    assert client.get(f"/photo/{photo_id}").status == 404
    assert client.post("/api/label", {"id": photo_id, "label": "keep"}).status == 404


def test_thumbnails_are_cached_by_hash(serve: Serve, config: Config, photo: Photo) -> None:
    photo(config.inboxes[0] / "wide.jpg", size=(400, 300))
    client = serve([config.inboxes[0]])
    photo_id = client.ids()["wide.jpg"]
    reply = client.get(f"/thumb/{photo_id}")
    assert reply.status == 200 and reply.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(reply.body)).size == (256, 256)
    cached = config.state_dir / "cache" / "thumbs" / f"{photo_id}.jpg"
    assert cached.read_bytes() == reply.body
    cached.write_bytes(b"cached")  # the second request must come from the cache
    assert client.get(f"/thumb/{photo_id}").body == b"cached"


def test_the_large_view_keeps_the_shape_within_1600_px(
    serve: Serve, config: Config, photo: Photo
) -> None:
    photo(config.inboxes[0] / "big.jpg", size=(2400, 1200))
    photo(config.inboxes[0] / "small.jpg", size=(300, 600))
    client = serve([config.inboxes[0]])
    ids = client.ids()
    big = Image.open(io.BytesIO(client.get(f"/photo/{ids['big.jpg']}").body))
    assert big.size == (1600, 800)
    small = Image.open(io.BytesIO(client.get(f"/photo/{ids['small.jpg']}").body))
    assert small.size[0] * 2 == small.size[1] and max(small.size) <= 1600


def test_a_broken_photo_is_listed_but_not_shown(serve: Serve, config: Config, photo: Photo) -> None:
    photo(config.inboxes[0] / "good.jpg")
    (config.inboxes[0] / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    client = serve([config.inboxes[0]])
    ids = client.ids()
    reply = client.get(f"/thumb/{ids['broken.jpg']}")
    assert reply.status == 422 and "cannot show" in reply.json()["error"]
    assert client.post("/api/label", {"id": ids["broken.jpg"], "label": "discard"}).status == 200
    assert client.get(f"/thumb/{ids['good.jpg']}").status == 200


def test_bad_requests_are_answered_plainly(serve: Serve, config: Config, photo: Photo) -> None:
    photo(config.inboxes[0] / "a.jpg")
    client = serve([config.inboxes[0]])
    photo_id = client.ids()["a.jpg"]
    assert client.post("/api/label", {"id": photo_id, "label": "maybe"}).status == 400
    assert client.post("/api/label", {"id": "f" * 64, "label": "keep"}).status == 404
    assert client.post("/api/label", ["not", "an", "object"]).status == 400
    assert client.post("/api/apply", {}).status == 400  # apply is for the review page
    assert client.get("/api/label").status == 404


def test_scores_come_from_the_model_in_the_background(
    serve: Serve, config: Config, photo: Photo, fake_model: Any
) -> None:
    folder = config.inboxes[0]
    for name, brightness in (("dark.jpg", 30), ("mid.jpg", 120), ("bright.jpg", 230)):
        photo(folder / name, brightness=brightness)
    certificate = {"keep_loss_bound": 0.029513, "n_keep": 100}  # 0 of 100 lost
    (config.models_dir / "test-1").mkdir(parents=True)
    modelstore.write_meta(config.models_dir / "test-1", {"certificate": certificate})
    client = serve([folder], load=fake_model)
    data = client.ready()
    assert (data["model"], data["threshold"], data["scoring"]) == ("test-1", 0.5, "done")
    assert data["certified"] == "certified keep-loss ≤ 3.0 % (95 %) from 100 keepers"
    scores = {p["name"]: p["score"] for p in data["photos"]}
    assert scores["dark.jpg"] < 0.2 < scores["mid.jpg"] < 0.6 < scores["bright.jpg"]


def test_no_model_means_no_scores(serve: Serve, config: Config, photo: Photo) -> None:
    photo(config.inboxes[0] / "a.jpg")
    data = serve([config.inboxes[0]]).ready()
    assert data["model"] is None and data["scoring"] == "none"
    assert [p["score"] for p in data["photos"]] == [None]


def test_a_recorded_score_of_the_current_model_is_not_computed_again(
    serve: Serve, config: Config, state: State, photo: Photo, fake_model: Any
) -> None:
    folder = config.inboxes[0]
    same = photo(folder / "same-model.jpg", brightness=128)
    other = photo(folder / "old-model.jpg", brightness=128)
    state.record_decision(
        sha256_file(same), same, model_version="test-1", score=0.99, decision="discard"
    )
    state.record_decision(
        sha256_file(other), other, model_version="old", score=0.01, decision="keep"
    )
    scores = {p["name"]: p["score"] for p in serve([folder], load=fake_model).ready()["photos"]}
    assert scores["same-model.jpg"] == pytest.approx(0.99)
    assert 0.4 < scores["old-model.jpg"] < 0.6  # computed by the model in use
