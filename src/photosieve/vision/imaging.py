"""The one image loader: file -> model-ready RGB pixels (+ the photo's metadata, + gray work image).

Training, inference and the service all call `load`, so the model sees identical pixels
everywhere. Every way a file can be unusable (not a regular file, unreadable, empty, not an
image, truncated, corrupt, decompression bomb) surfaces as `BadInput`; nothing here blocks on a
FIFO or decodes a file twice.

Choices:
- DEFAULT_FIT is "crop": InceptionV3 sees only 299x299, and letterboxing a 4:3 photo spends 25%
  of those pixels on padding (44% for 16:9). Keep/discard hinges on overall quality (blur,
  exposure, accidental shots), which the centre represents well; the cost is missing a problem
  that lives only at the edges. Letterbox stays available for callers that need the whole frame.
- Transparency is composited on white: transparent photos are mostly stickers, logos and
  screenshots, which viewers show on white; on black their dark text and lines would vanish.
- Letterbox padding is mid-gray (128), which InceptionV3's [-1, 1] scaling maps to ~0, the
  least informative input.
- JPEG (and HEIF with a big enough embedded thumbnail) is drafted: libjpeg decodes at 1/2, 1/4
  or 1/8 scale directly, which more than halves the decode of a camera photo; entropy
  decoding, which does not shrink with scale, is most of what remains.
"""

from __future__ import annotations

import math
import os
import re
import stat
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Literal

import numpy as np
from PIL import ExifTags, Image, PngImagePlugin, UnidentifiedImageError

from photosieve import libnoise
from photosieve.errors import BadInput
from photosieve.metadata import reader

Fit = Literal["crop", "letterbox"]
DEFAULT_FIT: Fit = "crop"
WORK_SIZE = 512
# A gray work image whose long side is within 4 % below WORK_SIZE is used as it is: JPEG's 1/8
# draft of a 12 MP photo (500 or 504 px) then serves the model and the signals without the
# 1/4 draft (twice the decode) that an exact 512 would need. Signals barely move at 2-4 %.
GRAY_SLACK = 0.96
# Largest photo accepted (the 200 MP phone sensors). Pillow's own limit (89.5 MP by default)
# would refuse 108 MP and 200 MP phone photos as "bombs", so photosieve, an application that
# owns its process, raises Pillow's limit to ours; anything above is refused as a bomb.
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Largest decompressed PNG text or ICC chunk. Pillow's 1 MB guard (against a small zlib chunk
# that inflates to gigabytes) refused valid photos: an ICC profile is usually a few kB, but
# profiles with large lookup tables (printer, device-link, some editors' wide-gamut ones)
# reach several MB; Exiv2's ReaganLargePng.png carries 1.15 MB. 16 MB keeps the guard's point
# (a bomb still stops there, per chunk, and under Pillow's 64 MB total for text chunks).
MAX_PNG_CHUNK = 16 * 1024 * 1024
PngImagePlugin.MAX_TEXT_CHUNK = MAX_PNG_CHUNK
PAD_VALUE = 128
BACKGROUND = (255, 255, 255)
# Resize filter: LANCZOS with a reducing gap stays closest to a full-quality resize for a few
# percent of the decode's cost, and sharpness is worth it: blur is a main discard cue.
RESAMPLE = Image.Resampling.LANCZOS  # reducing_gap: box-reduce to >= 3x the target first
REDUCING_GAP = 3.0
# Opened formats. Not "anything Pillow opens": EPS would run Ghostscript, and the rest are not
# photos. MPO (multi-picture JPEG from many cameras) opens through the JPEG plugin.
SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "HEIF", "AVIF", "WEBP", "TIFF", "GIF", "BMP")

_EXIF_TAGS = ExifTags.Base
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DEEP_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_TRUNCATED = re.compile(r"truncated|end of file|premature end", re.IGNORECASE)
_HEIF_LOCK = threading.Lock()
_heif_registered = False


@dataclass(frozen=True, eq=False)
class Decoded:
    """One decoded photo; eq=False because ndarray fields have no single truth value."""

    pixels: np.ndarray  # (size, size, 3) uint8 RGB, EXIF orientation applied
    width: int  # original size, after orientation
    height: int
    format: str  # Pillow format name; MPO is reported as "JPEG"
    metadata: dict[str, str]
    gray: np.ndarray | None  # float32 [0, 1], long side WORK_SIZE, when asked for


def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF; safe to call from any thread, any number of times."""
    global _heif_registered
    with _HEIF_LOCK:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True


@cache
def _open_formats() -> tuple[str, ...]:
    register_heif()
    Image.init()
    return tuple(name for name in SUPPORTED_FORMATS if name in Image.OPEN)


def load(path: Path, size: int, *, fit: Fit = DEFAULT_FIT, want_gray: bool = False) -> Decoded:
    """Decode `path` once into a `size` x `size` RGB array; raise BadInput for unusable files."""
    if size < 1 or fit not in ("crop", "letterbox"):
        raise ValueError(f"bad load request: size={size}, fit={fit!r}")
    with _open_file(path) as fp, _decoding(path):
        img = _open_image(fp, path)
        width, height = img.size
        fmt = "JPEG" if img.format == "MPO" else str(img.format)
        _draft(img, size, fit, want_gray)
        with _huge_one_at_a_time(img.size[0] * img.size[1]):
            rgb, orientation = _upright(img)
            del img
            gray = _gray(rgb) if want_gray else None
            pixels = _fit(rgb, size, fit)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Decoded(pixels, width, height, fmt, reader.read(path), gray)


def load_frame(path: Path, long_side: int) -> Image.Image:
    """The photo's whole frame as `load` decodes it (drafted, EXIF orientation applied,
    transparency on white), as RGB with its long side at most `long_side`: for callers that
    make images of their own from a photo (the trainer's copies of it). BadInput as `load`."""
    with _open_file(path) as fp, _decoding(path):
        img = _open_image(fp, path)
        _draft(img, long_side, "letterbox", False)
        with _huge_one_at_a_time(img.size[0] * img.size[1]):
            rgb, _ = _upright(img)
    scale = long_side / max(rgb.size)
    if scale < 1:
        size = (max(1, round(rgb.size[0] * scale)), max(1, round(rgb.size[1] * scale)))
        rgb = rgb.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)
    return rgb


def _upright(img: Image.Image) -> tuple[Image.Image, int]:
    """`img` decoded, turned upright by its EXIF orientation, as RGB; and that orientation."""
    img.load()
    orientation = _orientation(img)
    if orientation in _TRANSPOSE:
        img = img.transpose(_TRANSPOSE[orientation])
    return _to_rgb(img), orientation


# A PNG, TIFF or HEIC that has no draft mode decodes at full size: a 190 MP scan takes ~0.8 GB.
# Two decode workers doing that at once could exhaust a small box's memory and restart the
# service in a loop, so decodes above HUGE_PIXELS (after draft) take turns.
HUGE_PIXELS = 50_000_000
_huge_lock = threading.Lock()


@contextmanager
def _huge_one_at_a_time(pixels: int) -> Iterator[None]:
    if pixels <= HUGE_PIXELS:
        yield
        return
    with _huge_lock:
        yield


def load_many(
    paths: Sequence[Path],
    size: int,
    *,
    fit: Fit = DEFAULT_FIT,
    want_gray: bool = False,
    workers: int = 2,
) -> list[Decoded | BadInput]:
    """Decode `paths` on `workers` threads (Pillow releases the GIL); order is kept and bad
    files come back as BadInput values instead of being raised."""

    def one(path: Path) -> Decoded | BadInput:
        try:
            return load(path, size, fit=fit, want_gray=want_gray)
        except BadInput as exc:
            return exc

    if not paths:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(paths)))) as pool:
        return list(pool.map(one, paths))


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of `path` (see `photosieve.metadata.reader`); BadInput if it is no image."""
    with _open_file(path) as fp, _decoding(path):
        _open_image(fp, path)
    return reader.read(path)


def _draft(img: Image.Image, size: int, fit: Fit, want_gray: bool) -> None:
    """Ask JPEG (and pillow-heif's thumbnails) for the smallest decode that still covers every
    output: the crop square needs the short side >= size, letterbox and the gray work image the
    long side. One uniform scale, so it is right before and after EXIF rotation alike."""
    width, height = img.size
    scale = size / (min(width, height) if fit == "crop" else max(width, height))
    if want_gray:
        scale = max(scale, WORK_SIZE * GRAY_SLACK / max(width, height))
    if scale < 1:
        img.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))


def _open_file(path: Path) -> IO[bytes]:
    """Open for reading without ever blocking: a FIFO opened O_NONBLOCK returns at once and is
    then refused by fstat, with no gap for the path to be swapped between check and open."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise BadInput(path, "not found") from exc
    except PermissionError as exc:
        raise BadInput(path, "unreadable: permission denied") from exc
    except OSError as exc:
        raise BadInput(path, f"unreadable: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(path, "not a regular file")
        if info.st_size == 0:
            raise BadInput(path, "empty file")
        os.set_blocking(fd, True)  # back to normal reads (some FUSE mounts honour O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_image(fp: IO[bytes], path: Path) -> Image.Image:
    img = Image.open(fp, formats=_open_formats())
    # Pillow only warns between its limit and twice that; the loader refuses both, whatever
    # the process's warning filters say (libnoise logs the warning itself at DEBUG).
    pixels = img.size[0] * img.size[1]
    if pixels > min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS):
        raise BadInput(path, f"decompression bomb: {pixels} pixels")
    return img


@contextmanager
def _decoding(path: Path) -> Iterator[None]:
    """Map whatever Pillow and its plugins raise on a bad file to BadInput with a short reason;
    what Pillow warned or logged about the file meanwhile goes to the DEBUG log (libnoise), and
    the first message joins a vague reason ("not an image", "corrupt") as the detail it lacks."""
    with libnoise.attributed(path) as noise:
        try:
            yield
        except BadInput:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = _BOMB_PIXELS.search(str(exc))
            detail = f": {found[1]} pixels" if found else ""
            raise BadInput(path, f"decompression bomb{detail}") from exc
        except UnidentifiedImageError as exc:
            raise BadInput(path, _with_noise("not an image", noise)) from exc
        except MemoryError:
            raise
        # Corrupt data makes decoders raise OSError, ValueError, SyntaxError, EOFError,
        # struct.error and more; all of them mean the same thing here.
        except Exception as exc:
            message = " ".join(str(exc).split())[:120] or type(exc).__name__
            if isinstance(exc, EOFError) or _TRUNCATED.search(message):
                raise BadInput(path, "truncated") from exc
            raise BadInput(path, _with_noise(f"corrupt: {message}", noise)) from exc


def _with_noise(reason: str, noise: list[str]) -> str:
    return f"{reason}; {noise[0]}" if noise else reason


def _orientation(img: Image.Image) -> int:
    """EXIF (or XMP) orientation, 1 if absent or nonsense. pillow-heif already applied HEIF's
    own rotation and reset this to 1, so HEIC is never turned twice."""
    try:
        value = img.getexif().get(_EXIF_TAGS.Orientation, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in _DEEP_MODES:
        return _deep_to_gray(img).convert("RGB")
    if img.mode in _ALPHA_MODES or img.info.get("transparency") is not None:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img if img.mode == "RGB" else img.convert("RGB")


def _deep_to_gray(img: Image.Image) -> Image.Image:
    """16/32-bit and float gray to 8-bit by scaling the full range (Pillow's convert clips)."""
    values = np.asarray(img).astype(np.float32)
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if img.mode.startswith("I;16") or (img.mode == "I" and low >= 0 and high <= 65535):
        values /= 257.0  # 16-bit samples, whether in an I;16 or a 32-bit I container
    elif img.mode == "F" and low >= 0 and high <= 1:
        values *= 255.0
    elif high > low:
        values = (values - low) * (255.0 / (high - low))
    else:
        values[:] = 0.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def _fit(rgb: Image.Image, size: int, fit: Fit) -> np.ndarray:
    width, height = rgb.size
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        square = rgb.resize(
            (size, size),
            RESAMPLE,
            box=(left, top, left + side, top + side),
            reducing_gap=REDUCING_GAP,
        )
        return np.array(square, dtype=np.uint8)
    scale = size / max(width, height)
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new("RGB", (size, size), (PAD_VALUE,) * 3)
    resized = rgb.resize(inner, RESAMPLE, reducing_gap=REDUCING_GAP)
    canvas.paste(resized, ((size - inner[0]) // 2, (size - inner[1]) // 2))
    return np.array(canvas, dtype=np.uint8)


def _gray(rgb: Image.Image) -> np.ndarray:
    """Luma at WORK_SIZE on the long side, so quality signals see every photo at one scale."""
    width, height = rgb.size
    luma = rgb.convert("L")
    if WORK_SIZE * GRAY_SLACK <= max(width, height) <= WORK_SIZE:
        return np.asarray(luma, dtype=np.float32) / np.float32(255.0)
    scale = WORK_SIZE / max(width, height)
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Luma first, then resize: one channel to filter instead of three (~3x cheaper; the two
    # orders differ only by 8-bit rounding).
    luma = luma.resize(work, RESAMPLE, reducing_gap=REDUCING_GAP)
    return np.asarray(luma, dtype=np.float32) / np.float32(255.0)
