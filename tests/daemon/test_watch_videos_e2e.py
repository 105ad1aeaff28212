"""End to end: the real `photosieve watch` files an iPhone Live Photo (HEIC + MOV of one stem)
as one unit and an Android phone video by its container's time, in a time zone two hours east
of UTC, as a phone in Berlin in July would have recorded them."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_watch_e2e import Service, library_files  # the watch harness beside this file

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parents[1] / "fixtures" / "video"


@pytest.fixture
def berlin_service(
    tmp_path: Path, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Service, Path]]:
    monkeypatch.setenv("TZ", "Europe/Berlin")  # the child's local zone; tests run in UTC
    config = write_config(tmp_path / "photosieve.yaml", "watch:\n  settle_seconds: 1\n")
    svc = Service(tmp_path, config)
    yield svc, tmp_path
    if svc.proc is not None and svc.proc.poll() is None:
        svc.proc.kill()
        svc.proc.wait()
    if svc.sock is not None:
        svc.sock.close()
    if svc.reader is not None:
        svc.reader.join()


def test_live_photo_pair_and_phone_video_are_filed(
    berlin_service: tuple[Service, Path],
    make_photo: Callable[..., Path],
    wait_until: Callable[[Callable[[], bool], float, str, Path], None],
) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    service, root = berlin_service
    inbox, library = root / "inbox", root / "library"
    service.start()
    shutil.copy(FIXTURES / "live.mov", inbox / "IMG_1234.MOV")
    make_photo(inbox / "IMG_1234.HEIC", "2023:07:04 10:15:00", seed=5, fmt="HEIF")
    shutil.copy(FIXTURES / "phone.mp4", inbox / "VID_20230704_101500.mp4")
    sent = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.iterdir()}

    wait_until(lambda: len(library_files(library)) == 3, 60, "three files", service.log)
    assert service.stop() == 0

    stamp = "2023-07-04_10-15-00"
    filed = library_files(library)
    assert set(filed) == {
        f"{stamp}_IMG_1234.heic",
        f"{stamp}_IMG_1234.MOV",
        f"{stamp}_VID_20230704_101500.mp4",  # the header's 08:15 UTC is 10:15 in Berlin
    }
    assert {p.parent for p in filed.values()} == {library / "2023" / "07"}
    for name, path in filed.items():
        original = name.removeprefix(f"{stamp}_").replace(".heic", ".HEIC")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sent[original], name
    assert not list(inbox.iterdir())
    assert not list((root / "quarantine").iterdir())
