"""The review page shows a burst together: its frames adjacent, each naming the kept frame."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.labeler.app import burst_together
from photosieve.state import State

T0 = datetime(2024, 5, 3, 14, 22, 10)


def _shot(state: State, path: Path, seconds: float, burst: str | None) -> str:
    sha = sha256_file(path)
    state.put_shot(
        sha,
        camera="Acme One",
        taken=T0 + timedelta(seconds=seconds),
        phash=-5,
        sharpness=5.0,
        score=None,
        burst=burst,
    )
    return sha


def test_the_review_listing_puts_a_burst_together_and_names_the_kept_frame(
    config: Config, state: State, photo: Callable[..., Path], quarantined: Any, serve: Any
) -> None:
    assert config.library.path is not None
    kept = photo(config.library.path / "2024" / "05" / "kept.jpg")
    st = kept.stat()
    kept_sha = sha256_file(kept)
    state.put_file(kept, size=st.st_size, mtime_ns=st.st_mtime_ns, status="filed", sha256=kept_sha)
    _shot(state, kept, 0.5, kept_sha)
    # By name the unrelated photo sits between the two frames of the burst.
    first = quarantined("a1.jpg", taken="2024-05-03T14:22:10")
    quarantined("a2_other.jpg", taken="2024-05-03T14:30:00")
    last = quarantined("a3.jpg", taken="2024-05-03T14:22:11")
    _shot(state, first, 0.0, kept_sha)
    _shot(state, last, 1.0, kept_sha)

    client = serve([config.quarantine.path], mode="review")
    listed = client.ready()["photos"]

    assert [p["name"] for p in listed] == ["a1.jpg", "a3.jpg", "a2_other.jpg"]
    burst = {"burst": kept_sha, "burst_size": 3, "kept": kept_sha, "kept_name": "kept.jpg"}
    for item in listed[:2]:
        assert {key: item[key] for key in burst} == burst
    assert listed[2]["burst"] is None and listed[2]["burst_size"] == 0


def test_burst_together_keeps_order_and_puts_the_kept_frame_first() -> None:
    items: list[dict[str, Any]] = [
        {"id": "x", "burst": None},
        {"id": "b", "burst": "k"},
        {"id": "y", "burst": None},
        {"id": "k", "burst": "k"},
        {"id": "c", "burst": "k"},
        {"id": "z", "burst": None},
    ]
    assert [item["id"] for item in burst_together(items)] == ["x", "k", "b", "c", "y", "z"]
