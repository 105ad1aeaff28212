"""The labeler with names of any bytes: listed escaped in its JSON, labelled with the exact
bytes kept in the state database."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from photosieve.config import Config
from photosieve.state import State


def test_odd_names_are_listed_escaped_and_labelled_losslessly(
    serve: Callable[..., Any], config: Config, state: State, photo: Callable[..., Path]
) -> None:
    folder = config.inboxes[0]
    raws = [b"caf\xe9.jpg", b"new\nline.jpg", "\u65e5\u672c.jpg".encode()]
    for n, raw in enumerate(raws):
        photo(Path(os.fsdecode(bytes(folder) + b"/" + raw)), brightness=40 + 60 * n)
    client = serve([folder])
    ids = client.ids()
    assert sorted(ids) == sorted(["caf\\xe9.jpg", "new\\nline.jpg", "\u65e5\u672c.jpg"])
    for name in ids:
        assert client.post("/api/label", {"id": ids[name], "label": "keep"}).status == 200
    stored = sorted(os.fsencode(Path(r["path"]).name) for r in state.labels())
    assert stored == sorted(raws)
