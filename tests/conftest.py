"""Shared fixtures: a pinned time zone, isolated XDG folders, photos generated in code, a config
with its state and quarantine, and two classes of photos to train the tiny backbone on."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image, ImageDraw, ImageFilter

from photosieve.cli import group
from photosieve.config import Config, load_config
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.state import State

os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No test may read or write the real user's config, data or trash."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("PHOTOSIEVE_CONFIG", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    yield home


def _photo_bytes(
    taken: str | None,
    seed: int,
    size: tuple[int, int],
    fmt: str,
    *,
    content_id: str | None = None,
) -> bytes:
    """A small, unique photo (noise seeded by `seed`) with EXIF DateTimeOriginal `taken`; with
    `content_id`, an iPhone's: Make "Apple" and a Live Photo content identifier in its maker
    note (apple_maker_note)."""
    import io

    from PIL import ExifTags

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    exif = Image.Exif()
    if taken is not None:
        exif[ExifTags.Base.Make] = "TestCam"
        exif[ExifTags.Base.Model] = "T1"
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if content_id is not None:
        exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Apple", "iPhone 12"
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.MakerNote] = apple_maker_note(content_id)
    buf = io.BytesIO()
    has_exif = taken is not None or content_id is not None
    image.save(buf, format=fmt, exif=exif.tobytes() if has_exif else b"")
    return buf.getvalue()


def apple_maker_note(content_id: str, order: str = ">") -> bytes:
    """An Apple maker note as an iPhone writes it ("Apple iOS\\0", version 1, byte order, one
    IFD whose offsets count from the note's start) holding a version tag and the Live Photo
    content identifier (tag 0x0011; exiftool reads it as MakerNotes:MediaGroupUUID)."""
    import struct

    text = content_id.encode("ascii") + b"\x00"
    head = b"Apple iOS\x00\x00\x01" + (b"MM" if order == ">" else b"II")
    start = len(head) + 2 + 2 * 12 + 4  # the IFD: count, two entries, next-IFD offset
    entries = struct.pack(order + "HHIi", 0x0001, 9, 1, 14)  # MakerNoteVersion 14, inline
    entries += struct.pack(order + "HHII", 0x0011, 2, len(text), start)
    return head + struct.pack(order + "H", 2) + entries + b"\x00" * 4 + text


@pytest.fixture(scope="session")
def apple_note() -> Callable[..., bytes]:
    """apple_note(content_id, order=">") -> an iPhone's Apple maker note (apple_maker_note)."""
    return apple_maker_note


@pytest.fixture
def make_photo() -> object:
    """make_photo(path, taken="2024:05:03 14:22:10", seed=0, size=(96, 64), fmt="JPEG",
    content_id=None) -> path; a `content_id` makes it an iPhone Live Photo's still."""

    def make(
        path: Path,
        taken: str | None = "2024:05:03 14:22:10",
        seed: int = 0,
        size: tuple[int, int] = (96, 64),
        fmt: str = "JPEG",
        content_id: str | None = None,
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_photo_bytes(taken, seed, size, fmt, content_id=content_id))
        return path

    make.bytes = _photo_bytes  # type: ignore[attr-defined]
    return make


# --- a config in tmp_path, its state, and photos put in the quarantine as the service does -------


def _write_config(path: Path, extra: str = "", *, retention_days: int = 30) -> Path:
    """A config file whose inbox, library, quarantine and state folders sit next to it."""
    root = path.parent
    for name in ("inbox", "library", "quarantine"):
        (root / name).mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"state_dir: {root / 'state'}\ninboxes: [{root / 'inbox'}]\n"
        f"library: {{path: {root / 'library'}}}\n"
        f"quarantine: {{path: {root / 'quarantine'}, retention_days: {retention_days}}}\n" + extra
    )
    return path


@pytest.fixture(scope="session")
def write_config() -> Callable[..., Path]:
    """write_config(path, extra="", retention_days=30) -> path: inbox/, library/, quarantine/
    and state/ beside it (the first three created); `extra` is appended YAML."""
    return _write_config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The config of tmp_path/photosieve.yaml (quarantine retention 30 days)."""
    return load_config(_write_config(tmp_path / "photosieve.yaml"), required=True)


@pytest.fixture
def state(config: Config) -> Iterator[State]:
    db = State(config.db_path)
    yield db
    db.close()


@pytest.fixture
def quarantine_photo(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> Callable[..., Path]:
    """quarantine_photo(name, age_days=0, sidecar=False) -> its path in the quarantine.

    A new photo (and an .xmp sidecar) made in the inbox, quarantined as the service does: a
    journaled move, then its `files` row; `age_days` back-dates the move."""
    seeds = iter(range(1, 1000))

    def put(name: str, *, age_days: float = 0.0, sidecar: bool = False) -> Path:
        src = make_photo(config.inboxes[0] / name, seed=next(seeds))
        cars = [src.with_suffix(".xmp")] if sidecar else []
        for car in cars:
            car.write_text("<xmp/>")
        result = Mover(state, config.roots).move_group(
            src, cars, config.quarantine.path, name, kind="quarantine"
        )
        assert result.status == "moved" and result.dst is not None
        st = result.dst.stat()
        state.put_file(
            result.dst,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status="quarantined",
            sha256=sha256_file(result.dst),
            taken="2024-05-03T14:22:10",
            taken_source="exif:DateTimeOriginal",
            origin=src,
        )
        if age_days:
            then = time.time() - age_days * 86400.0
            state.execute(
                "UPDATE moves SET created = ?, updated = ? WHERE dst = ?",
                (then, then, str(result.dst)),
            )
        return result.dst

    return put


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A freedesktop trash under tmp_path, where send2trash puts files from tmp_path."""
    plat = pytest.importorskip("send2trash.plat_other")
    import send2trash

    if send2trash.send2trash is not plat.send2trash:
        pytest.skip("send2trash uses another trash implementation on this platform")
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    # send2trash reads XDG_DATA_HOME once, at import: point its copies at this test's folder.
    monkeypatch.setattr(plat, "XDG_DATA_HOME", os.fsencode(data))
    monkeypatch.setattr(plat, "HOMETRASH_B", os.fsencode(data / "Trash"))
    monkeypatch.setattr(plat, "HOMETRASH", str(data / "Trash"))
    # It uses the home trash for files on the home's device, and the home is below tmp too.
    assert os.stat(tmp_path).st_dev == os.stat(Path.home()).st_dev
    return data / "Trash"


# --- two visually distinct classes of photos, labelled and trained on through the CLI ----------

TINY_TRAIN = (
    "train",
    "--backbone",
    "tiny",
    "--weights",
    "none",
    "--image-size",
    "48",
    "--epochs",
    "15",
    "--batch-size",
    "8",
)


def _sharp_scene(rng: np.random.Generator) -> Image.Image:
    """A keeper: bright, colourful, full of hard edges and fine grain."""
    img = Image.new("RGB", (160, 120), tuple(int(v) for v in rng.integers(120, 240, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        x, y = int(rng.integers(0, 160)), int(rng.integers(0, 120))
        w, h = int(rng.integers(5, 60)), int(rng.integers(5, 60))
        draw.rectangle([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    noisy = np.asarray(img).astype(np.int16) + rng.integers(-25, 26, (120, 160, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _pocket_shot(rng: np.random.Generator) -> Image.Image:
    """A discard: dark and blurred, a few vague blobs."""
    img = Image.new("RGB", (160, 120), tuple(int(v) for v in rng.integers(5, 40, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x, y, r = int(rng.integers(0, 160)), int(rng.integers(0, 120)), int(rng.integers(15, 50))
        draw.ellipse(
            [x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in rng.integers(20, 90, 3))
        )
    return img.filter(ImageFilter.GaussianBlur(8))


def _two_classes(root: Path, n: int, *, seed: int = 0, name: str = "IMG_{i:04d}.jpg") -> list[Path]:
    """n sharp scenes in root/keep_it/ then n pocket shots in root/dont_keep_it/, drawn from one
    generator seeded `seed`; file names are `name` formatted with i and seed."""
    rng = np.random.default_rng(seed)
    paths = []
    for folder, draw in (("keep_it", _sharp_scene), ("dont_keep_it", _pocket_shot)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            path = root / folder / name.format(i=i, seed=seed)
            draw(rng).save(path, quality=90)
            paths.append(path)
    return paths


@pytest.fixture(scope="session")
def two_classes() -> Callable[..., list[Path]]:
    """two_classes(root, n, seed=0, name="IMG_{i:04d}.jpg") -> the paths, keepers first:
    sharp, bright, textured scenes (keep_it/) and dark, blurred pocket shots (dont_keep_it/)."""
    return _two_classes


def _cli(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(group, ["--config", str(config), *args])
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


@pytest.fixture(scope="session")
def cli() -> Callable[..., Result]:
    """cli(config_file, *args) -> the click Result of `photosieve --config FILE ARGS`, which
    must exit 0."""
    return _cli


@pytest.fixture(scope="session")
def train_tiny() -> Callable[..., Result]:
    """train_tiny(config_file, *extra): `photosieve train` on the tiny backbone (no downloaded
    weights, 48 px, 15 epochs, batches of 8), which must exit 0."""
    return lambda config, *extra: _cli(config, *TINY_TRAIN, *extra)


def _wait_until(cond: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; log:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def wait_until() -> Callable[[Callable[[], bool], float, str, Path], None]:
    """wait_until(cond, timeout, what, log): poll cond every 0.25 s; on timeout fail with the
    tail of the service's log."""
    return _wait_until
