"""The labeler's gate for state-changing requests, its bounded connection pool, and bodies it
refuses plainly: each attack here was accepted (or took the server down) before."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from photosieve.config import Config
from photosieve.labeler import server as labeler_server
from photosieve.state import State

Serve = Callable[..., Any]


def _raw_post(client: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=30)
    try:
        conn.request("POST", f"{path}?token={client.token}", body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


@pytest.fixture
def labelled(serve: Serve, config: Config, photo: Callable[..., Path]) -> tuple[Any, str]:
    photo(config.inboxes[0] / "a.jpg")
    client = serve([config.inboxes[0]])
    return client, client.ids()["a.jpg"]


@pytest.mark.parametrize(
    "ctype",
    ["text/plain; x=json", "text/plain", "application/x-www-form-urlencoded", "json", ""],
)
def test_a_post_must_be_exactly_json(labelled: tuple[Any, str], state: State, ctype: str) -> None:
    client, photo_id = labelled
    body = json.dumps({"id": photo_id, "label": "keep"}).encode()
    status, _ = _raw_post(client, "/api/label", body, {"Content-Type": ctype})
    assert status == 403
    assert state.labels() == []
    status, _ = _raw_post(client, "/api/label", body, {"Content-Type": "application/json"})
    assert status == 200
    assert state.label_of(photo_id) == "keep"


def test_a_post_from_another_origin_is_refused(labelled: tuple[Any, str], state: State) -> None:
    client, photo_id = labelled
    port = client.server.port
    body = {"id": photo_id, "label": "discard"}
    for origin in (f"http://127.0.0.1:{port + 1}", "http://evil.example", "null"):
        assert client.post("/api/label", body, headers={"Origin": origin}).status == 403
    assert state.labels() == []
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert client.post("/api/label", body, headers={"Origin": origin}).status == 200
    assert state.label_of(photo_id) == "discard"


def test_the_cookie_alone_does_not_change_anything(labelled: tuple[Any, str], state: State) -> None:
    client, photo_id = labelled
    cookie = {"Cookie": f"photosieve_{client.server.port}={client.token}"}
    assert client.get("/api/photos", token=False, headers=cookie).status == 200
    body = {"id": photo_id, "label": "keep"}
    assert client.post("/api/label", body, token=False, headers=cookie).status == 403
    assert state.labels() == []


@pytest.mark.parametrize("depth", [17, 200, 50_000])
def test_a_deeply_nested_body_is_a_plain_400(labelled: tuple[Any, str], depth: int) -> None:
    client, photo_id = labelled
    nested = "[" * depth + "]" * depth
    body = f'{{"id": "{photo_id}", "label": "keep", "x": {nested}}}'.encode()
    if len(body) > 64 * 1024:
        body = ("[" * 30_000 + "]" * 30_000).encode()
    status, reply = _raw_post(client, "/api/label", body, {"Content-Type": "application/json"})
    assert status == 400
    assert json.loads(reply) == {"error": "the request body is nested too deeply"}
    assert client.listing()["photos"][0]["label"] is None


def test_invalid_json_is_said_plainly(labelled: tuple[Any, str]) -> None:
    client, _ = labelled
    status, reply = _raw_post(client, "/api/label", b"{nope", {"Content-Type": "application/json"})
    assert status == 400
    assert json.loads(reply) == {"error": "the request body is not valid JSON"}


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(20)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_connections_are_served_by_a_bounded_pool(labelled: tuple[Any, str]) -> None:
    client, _ = labelled
    extra = 5
    idle = [
        socket.create_connection(("127.0.0.1", client.server.port), timeout=20)
        for _ in range(labeler_server.POOL_THREADS + labeler_server.POOL_WAITING + extra)
    ]
    try:
        # Connections beyond the pool and its queue are closed at once, in arrival order.
        assert all(_closed_by_peer(sock) for sock in idle[-extra:])
        kept = idle[:-extra]
        readable, _, _ = select.select(kept, [], [], 0)
        assert readable == []  # the others are still open, waiting for their turn
        workers = [t for t in threading.enumerate() if t.name.startswith("labeler-conn")]
        assert len(workers) <= labeler_server.POOL_THREADS
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 30
    while client.server.open and time.monotonic() < deadline:  # the workers see the closes
        time.sleep(0.02)
    assert client.listing()["photos"]  # the pool serves again once those are gone
