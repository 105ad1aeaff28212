"""Fixtures for the labeler tests: photos made in code, a live server, quarantined photos.

The config in tmp_path and its state come from tests/conftest.py.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.labeler.app import LabelerApp, build_app
from photosieve.labeler.marks import Mode
from photosieve.labeler.server import LabelerServer, start_server, stop_server
from photosieve.model.contract import Classifier, KeepAll
from photosieve.state import State

_seeds = itertools.count(1)


def make_photo(
    path: Path, brightness: int = 128, size: tuple[int, int] = (96, 72), fmt: str = "JPEG"
) -> Path:
    """A unique photo (seeded noise around `brightness`), so every file has its own hash."""
    rng = np.random.default_rng(next(_seeds))
    noise = rng.integers(-20, 21, size=(size[1], size[0], 3))
    pixels = np.clip(brightness + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, fmt)
    return path


@pytest.fixture
def photo() -> Callable[..., Path]:
    return make_photo


@dataclass
class FakeClassifier:
    """A model stand-in: the score is the mean brightness, so tests choose scores by pixels."""

    version: str | None = "test-1"
    input_size: int = 16
    fit: str = "crop"
    threshold: float = 0.5

    def score(self, pixels: np.ndarray) -> np.ndarray:
        flat = pixels.reshape(len(pixels), -1).astype(np.float32)
        return flat.mean(axis=1) / 255.0


def no_model(config: Config) -> Classifier:
    return KeepAll()


@pytest.fixture
def fake_model() -> Callable[[Config], Classifier]:
    """A classifier loader giving FakeClassifier (threshold 0.5, score = brightness)."""
    return lambda config: FakeClassifier()  # type: ignore[return-value]


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """urllib against the live server; raw paths are sent exactly as given."""

    def __init__(self, server: LabelerServer) -> None:
        self.server = server
        self.base = f"http://127.0.0.1:{server.port}"
        self.token = server.app.token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if token:
            path += ("&" if "?" in path else "?") + f"token={self.token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(exc.code, exc.headers, exc.read())

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, {} if body is None else body, **kw)

    def listing(self) -> dict[str, Any]:
        reply = self.get("/api/photos")
        assert reply.status == 200, reply.body
        data: dict[str, Any] = reply.json()
        return data

    def ready(self, timeout: float = 60) -> dict[str, Any]:
        """The listing once indexing and scoring have finished."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.listing()
            if not data["indexing"] and data["scoring"] not in ("starting", "running"):
                return data
            assert time.monotonic() < deadline, "the labeler never finished indexing/scoring"
            time.sleep(0.05)

    def ids(self) -> dict[str, str]:
        """name -> id of every listed photo."""
        return {p["name"]: p["id"] for p in self.ready()["photos"]}


@pytest.fixture
def serve(config: Config, state: State) -> Iterator[Callable[..., Client]]:
    """Start a labeler over some folders; every server and thread is stopped and joined."""
    running: list[tuple[LabelerServer, Any]] = []

    def start(
        roots: list[Path],
        mode: Mode = "label",
        load: Callable[[Config], Classifier] = no_model,
        **kw: Any,
    ) -> Client:
        app: LabelerApp = build_app(config, state, roots, mode, load_classifier=load, **kw)
        server, thread = start_server(app)
        running.append((server, thread))
        return Client(server)

    yield start
    for server, thread in running:
        stop_server(server, thread)
        assert not thread.is_alive()


@pytest.fixture
def quarantined(config: Config, state: State) -> Callable[..., Path]:
    """Put a photo in the quarantine with the rows the service writes when it does so."""

    def put(
        name: str,
        *,
        taken: str | None,
        score: float | None = 0.8,
        origin: Path | None = None,
        brightness: int = 128,
    ) -> Path:
        path = make_photo(config.quarantine.path / name, brightness=brightness)
        st = path.stat()
        sha = sha256_file(path)
        state.put_file(
            path,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status="quarantined",
            sha256=sha,
            taken=taken,
            taken_source="exif:DateTimeOriginal" if taken else None,
            origin=origin or config.inboxes[0] / name,
        )
        state.record_decision(sha, path, model_version="m1", score=score, decision="discard")
        return path

    return put
