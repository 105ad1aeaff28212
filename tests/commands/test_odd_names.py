"""Names of any bytes end to end: `scan` files every one, and logs and `status` show them
escaped on one line each (issue 17: a Latin-1 name used to stop its whole batch)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from photosieve.errors import EscapingFormatter, shown
from photosieve.state import State

ODD_NAMES = [
    b"caf\xe9.jpg",  # Latin-1, not UTF-8
    "\u65e5\u672c\u306e\u5199\u771f.jpg".encode(),
    "party \U0001f389.jpg".encode(),
    b"-rf.jpg",
    b"tab\there.jpg",
    b"new\nline.jpg",
    b"p" * 243 + b".jpg",  # 247 bytes, with a .jpg.xmp sidecar of 251
]


def test_shown_escapes_controls_and_undecodable_bytes_only() -> None:
    name = os.fsdecode(b"caf\xe9\t\xe6\x97\xa5\xf0\x9f\x93\xb7\n\xe2\x80\xae.jpg")
    assert shown(name) == "caf\\xe9\\t\u65e5\U0001f4f7\\n\\u202e.jpg"
    assert shown(Path("/a b/c.jpg")) == "/a b/c.jpg"
    shown(name).encode("utf-8")


def test_log_lines_show_names_escaped_and_keep_tracebacks() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    name = os.fsdecode(b"/in/new\nline \xe9.jpg")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, "f", 1, "cannot move %s", (name,), sys.exc_info()
        )
    text = formatter.format(record)
    first, *rest = text.split("\n")
    assert first == "ERROR cannot move /in/new\\nline \\xe9.jpg"
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"


def test_scan_files_every_odd_name_and_status_shows_them_escaped(
    tmp_path: Path,
    write_config: Callable[..., Path],
    make_photo: Callable[..., Path],
    cli: Callable[..., Result],
) -> None:
    config = write_config(tmp_path / "photosieve.yaml")
    inbox = tmp_path / "inbox"
    for seed, raw in enumerate(ODD_NAMES):
        photo = make_photo(Path(os.fsdecode(bytes(inbox) + b"/" + raw)), seed=seed + 1)
        Path(f"{photo}.xmp").write_text(f"<x n='{seed}'/>")
    cli(config, "scan", str(inbox))
    left = sorted(os.fsencode(p.name) for p in inbox.iterdir())
    assert left == []
    library = [p for p in (tmp_path / "library").rglob("*") if p.is_file()]
    assert len([p for p in library if p.suffix == ".jpg"]) == len(ODD_NAMES)
    assert len([p for p in library if p.name.endswith(".jpg.xmp")]) == len(ODD_NAMES)
    for path in library:
        path.name.encode("utf-8")
        assert len(os.fsencode(path.name)) <= 255
    state = State(tmp_path / "state" / "photosieve.db")
    origins = {os.fsencode(Path(r.origin or "").name) for r in state.files_with_status("filed")}
    state.close()
    assert origins == set(ODD_NAMES)
    out = cli(config, "status", "--recent", "30").output
    assert "caf\\xe9.jpg" in out and "new\\nline.jpg" in out and "tab\\there.jpg" in out
    assert "\u65e5\u672c" in out and "\U0001f389" in out
    assert all(line.isprintable() for line in out.splitlines())
