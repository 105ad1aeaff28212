"""The album recipe of the real-photo quality benchmark (benchmarks/quality_album.py): from each
source photo (album_sources.py: a manifest, fetched once and sha256-checked), keepers (the
photo and a few harmless variants) and discards (motion blur, defocus, too dark, blown out, a
screenshot, shaken burst frames), saved as a phone camera or a messenger would.
Seeded: the same album every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from album_screens import TEMPLATES, screenshot
from PIL import ExifTags, Image, ImageOps

ALBUM_VERSION = 3  # bump when the album recipe changes: the album is rebuilt
MASTER = 1600  # long side the sources are reduced to before anything else
OUTPUT = 1024  # long side of the album's camera photos
KEEPER_VARIANTS = ("crop", "exposure", "resized", "recompressed", "download")
DISCARD_KINDS = frozenset(
    {"motion", "defocus", "pocket", "underexposed", "blown", "screenshot", "burst_shaken"}
)
Shake = Callable[[float, float], np.ndarray]  # (extent px, angle) -> blur kernel
CAMERAS = (
    ("Google", "Pixel 7"),
    ("Apple", "iPhone 13"),
    ("samsung", "SM-S911B"),
    ("Xiaomi", "2201117TG"),
    ("OnePlus", "CPH2449"),
)


@dataclass(frozen=True)
class Item:
    file: str
    source: int
    kind: str
    label: int  # 1 = discard


# --- image operations (float32 RGB, 0..255) --------------------------------------------------


def _resize(img: np.ndarray, long_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    pil = Image.fromarray(_u8(img)).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(pil, np.float32)


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reflect-padded FFT convolution, channel by channel."""
    r = max(kernel.shape) // 2 + 1
    padded = np.pad(img, ((r, r), (r, r), (0, 0)), mode="reflect")
    kh, kw = kernel.shape
    shape = padded.shape[:2]
    kf = np.fft.rfft2(kernel, shape)
    out = np.empty_like(padded)
    for c in range(padded.shape[2]):
        out[..., c] = np.fft.irfft2(np.fft.rfft2(padded[..., c]) * kf, shape)
    top, left = r + kh // 2, r + kw // 2
    return out[top : top + img.shape[0], left : left + img.shape[1]]


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A line of `length` px at `angle` radians, sampled finely so short lines stay smooth."""
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size + 2, size + 2), np.float32)
    c = (size + 1) / 2
    for t in np.linspace(-length / 2, length / 2, int(8 * length) + 1):
        x, y = c + t * np.cos(angle), c + t * np.sin(angle)
        x0, y0 = int(x), int(y)
        fx, fy = x - x0, y - y0
        kernel[y0, x0] += (1 - fx) * (1 - fy)
        kernel[y0, x0 + 1] += fx * (1 - fy)
        kernel[y0 + 1, x0] += (1 - fx) * fy
        kernel[y0 + 1, x0 + 1] += fx * fy
    return kernel / kernel.sum()


def path_kernel(
    extent: float, angle: float, rng: np.random.Generator, steps: int = 2000
) -> np.ndarray:
    """A hand shake: the random camera path of Boracchi & Foi (2012), "Modeling the
    performance of image restoration from motion blur" (as DeblurGAN generates it: a particle
    at constant speed, starting along `angle`, with Gaussian jitter, a pull back to the start
    and now and then a sudden turn), scaled so it spans `extent` px, and sampled like
    `motion_kernel`. Curved and uneven where `motion_kernel` is a straight line."""
    anxiety, centripetal = 0.1 * rng.random(), 0.7 * rng.random()
    big_shake, jitter, length = 0.2 * rng.random(), 10 * rng.random(), 60.0
    step = length / (steps - 1)
    v, x = complex(np.cos(angle), np.sin(angle)) * step, np.zeros(steps, complex)
    for t in range(steps - 1):
        turn = (
            2 * v * np.exp(1j * (np.pi + rng.random() - 0.5))
            if rng.random() < big_shake * anxiety
            else 0
        )
        v += turn + anxiety * (jitter * complex(*rng.normal(size=2)) - centripetal * x[t]) * step
        v = v / abs(v) * step
        x[t + 1] = x[t] + v
    x *= extent / max(np.ptp(x.real), np.ptp(x.imag), 1e-9)
    xs, ys = x.real - x.real.min() + 1, x.imag - x.imag.min() + 1
    kernel = np.zeros((int(ys.max()) + 3, int(xs.max()) + 3), np.float32)
    x0, y0 = xs.astype(int), ys.astype(int)
    fx, fy = (xs - x0).astype(np.float32), (ys - y0).astype(np.float32)
    for dy, dx, weight in (
        (0, 0, (1 - fx) * (1 - fy)),
        (0, 1, fx * (1 - fy)),
        (1, 0, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(kernel, (y0 + dy, x0 + dx), weight)
    return kernel / kernel.sum()


def disc_kernel(radius: float) -> np.ndarray:
    n = int(np.ceil(radius)) + 1
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1]
    kernel = np.clip(radius + 0.5 - np.hypot(xx, yy), 0, 1).astype(np.float32)
    return kernel / kernel.sum()


def exposure(img: np.ndarray, ev: float) -> np.ndarray:
    """Scale light by 2**ev in (approximately) linear light; highlights clip as in a camera."""
    linear = (img / 255.0) ** 2.2 * 2.0**ev
    return 255.0 * np.clip(linear, 0, 1) ** (1 / 2.2)


def _mean_level(img: np.ndarray) -> float:
    return float(img.mean()) / 255.0


def _clipped(img: np.ndarray) -> float:
    return float(np.mean(img.max(axis=2) >= 254.5))


def _ev_for(img: np.ndarray, measure: Any, target: float) -> float:
    """The exposure change (EV) that brings `measure` (increasing with EV) to `target`, so a
    defect is defined by how the photo turns out, whatever the scene's own brightness."""
    small = img[::4, ::4]
    low, high = -12.0, 8.0
    for _ in range(20):
        mid = (low + high) / 2
        low, high = (mid, high) if measure(exposure(small, mid)) < target else (low, mid)
    return (low + high) / 2


def sensor(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return img + rng.normal(0, sigma, img.shape).astype(np.float32)


def crop(img: np.ndarray, frac: float, dx: float, dy: float) -> np.ndarray:
    """The `frac` x `frac` window shifted by (dx, dy) of the free margin (-1..1)."""
    h, w = img.shape[:2]
    ch, cw = round(h * frac), round(w * frac)
    top = round((h - ch) / 2 * (1 + dy))
    left = round((w - cw) / 2 * (1 + dx))
    return img[top : top + ch, left : left + cw]


# --- the album -------------------------------------------------------------------------------


def _exif(camera: tuple[str, str], when: datetime) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera
    exif[ExifTags.Base.DateTime] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub[ExifTags.Base.SubsecTimeOriginal] = f"{when.microsecond // 1000:03d}"
    return exif.tobytes()


def _load_source(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        img.draft("RGB", (MASTER, MASTER))
        rgb = img.convert("RGBA").convert("RGB") if "A" in img.mode else img.convert("RGB")
        return _resize(np.asarray(rgb, np.float32), MASTER)


def _keeper(kind: str, master: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A keeper made from `master`, and how it is saved: "camera" (EXIF, sensor noise),
    "camera-clean" (EXIF), "phone-share" (no EXIF, recompressed) or "plain" (no EXIF)."""
    if kind == "original":
        return _resize(master, OUTPUT), "camera-clean"
    if kind == "crop":
        frac, offsets = rng.uniform(0.6, 0.85), rng.uniform(-1, 1, 2)
        return _resize(crop(master, frac, *offsets), OUTPUT), "camera"
    if kind == "exposure":
        return exposure(
            _resize(master, OUTPUT), rng.choice([-1, 1]) * rng.uniform(0.3, 0.8)
        ), "camera"
    if kind == "resized":
        return _resize(master, int(rng.choice([640, 800, 1280, 1600]))), "camera"
    if kind == "recompressed":
        return _resize(master, int(rng.choice([1280, 1600]))), "phone-share"
    if kind == "download":  # a saved wallpaper: a screen size, no camera
        h, w = master.shape[:2]
        if max(h, w) < 1280:
            return master, "plain"
        pil = ImageOps.fit(
            Image.fromarray(_u8(master)),
            (1280, 720) if w >= h else (720, 1280),
            Image.Resampling.LANCZOS,
        )
        return np.asarray(pil, np.float32), "plain"
    raise ValueError(kind)


def _defect(kind: str, base: np.ndarray, rng: np.random.Generator, shake: Shake) -> np.ndarray:
    """A discard made from the OUTPUT-sized `base`; kernel sizes are in its pixels."""
    if kind == "motion":
        return _convolve(base, shake(rng.uniform(10, 40), rng.uniform(0, np.pi)))
    if kind == "defocus":
        return _convolve(base, disc_kernel(rng.uniform(3, 12)))
    if kind == "underexposed":
        dim = exposure(base, _ev_for(base, _mean_level, rng.uniform(0.03, 0.10)))
        return sensor(dim, rng, rng.uniform(1.5, 4))
    if kind == "pocket":  # lens against fabric: very dark, no focus, noisy, tinted
        soft = _convolve(base, disc_kernel(rng.uniform(15, 30)))
        tint = np.array(rng.uniform(0.6, 1.0, 3), np.float32)
        dim = exposure(soft, _ev_for(soft, _mean_level, rng.uniform(0.005, 0.03))) * tint
        return sensor(dim, rng, rng.uniform(2, 5))
    if kind == "blown":
        out = exposure(base, _ev_for(base, _clipped, rng.uniform(0.35, 0.7)))
        haze = rng.uniform(0, 0.15)
        return out * (1 - haze) + 255 * haze
    raise ValueError(kind)


def _save(
    img: np.ndarray,
    path: Path,
    how: str,
    rng: np.random.Generator,
    camera: tuple[str, str],
    when: datetime,
) -> None:
    if how == "camera" and rng.random() < 0.15:
        how = "phone-share"  # sent through a messenger: EXIF stripped, recompressed
    if how == "camera":
        img = sensor(img, rng, rng.uniform(0.5, 2.0))
    pil = Image.fromarray(_u8(img))
    if how in ("camera", "camera-clean"):
        pil.save(path, "JPEG", quality=int(rng.integers(85, 96)), exif=_exif(camera, when))
    else:
        pil.save(path, "JPEG", quality=int(rng.integers(55, 75) if how == "phone-share" else 85))


def _burst(master: np.ndarray, rng: np.random.Generator, shake: Shake) -> list[np.ndarray]:
    """The sharp frame, then two shaken ones a little off to the side."""
    offsets = [rng.uniform(-0.3, 0.3, 2)] + [rng.uniform(-1, 1, 2) for _ in range(2)]
    frames = [_resize(crop(master, 0.94, *o), OUTPUT) for o in offsets]
    return [frames[0]] + [
        _convolve(f, shake(rng.uniform(6, 18), rng.uniform(0, np.pi))) for f in frames[1:]
    ]


def _source_name(path: Path) -> str:
    """The photo's name: Plasma's files are named by size inside a folder named for the photo."""
    return path.parts[-4] if path.parent.name == "images" else path.stem


def _photos_of(s: int, path: Path, album: Path, seed: int, shakes: str) -> list[Item]:
    """Every album file made from source photo number `s`."""
    rng = np.random.default_rng([seed, s])
    # Paths draw from their own stream, so both albums share everything but the shake kernels.
    shake: Shake = (
        motion_kernel
        if shakes == "line"
        else partial(path_kernel, rng=np.random.default_rng([seed, s, 1]))
    )
    master = _load_source(path)
    camera = CAMERAS[s % len(CAMERAS)]
    t0 = datetime(2024, 5, 1, 9) + timedelta(days=s, minutes=int(rng.integers(600)))
    kinds = [
        "original",
        *map(str, rng.choice(KEEPER_VARIANTS, 3, replace=False)),
        "motion",
        "defocus",
        "pocket" if s % 2 == 0 else "underexposed",
        "blown",
    ]
    stem = f"{s:02d}-{_source_name(path)}"
    items = []
    for n, kind in enumerate(kinds):
        if kind in DISCARD_KINDS:
            img, how = _defect(kind, _resize(master, OUTPUT), rng, shake), "camera"
        else:
            img, how = _keeper(kind, master, rng)
        _save(img, album / f"{stem}-{kind}.jpg", how, rng, camera, t0 + timedelta(minutes=7 * n))
        items.append(Item(f"{stem}-{kind}.jpg", s, kind, int(kind in DISCARD_KINDS)))
    for n, frame in enumerate(_burst(master, rng, shake)):
        kind = "burst_sharp" if n == 0 else "burst_shaken"
        when = t0 + timedelta(minutes=90, milliseconds=400 * n)
        pil = Image.fromarray(_u8(sensor(frame, rng, rng.uniform(0.5, 2.0))))
        pil.save(
            album / f"{stem}-burst{n}.jpg",
            "JPEG",
            quality=int(rng.integers(85, 96)),
            exif=_exif(camera, when),
        )
        items.append(Item(f"{stem}-burst{n}.jpg", s, kind, int(kind in DISCARD_KINDS)))
    templates = list(TEMPLATES)
    shot = screenshot(templates[s % len(templates)], Image.fromarray(_u8(master)), rng)
    name = f"{stem}-screenshot.{'png' if rng.random() < 0.85 else 'jpg'}"
    if name.endswith("jpg"):
        shot.save(album / name, "JPEG", quality=90)  # a screenshot shared on: re-encoded
    else:
        shot.save(album / name, "PNG")
    return [*items, Item(name, s, "screenshot", 1)]


def build_album(sources: list[Path], album: Path, seed: int, shakes: str = "line") -> list[Item]:
    """The album under `album` (reused when it is complete and of this recipe, seed and
    shakes): motion blur and shaken bursts by straight lines ("line") or hand-shake paths
    ("path", `path_kernel`)."""
    index = album / "album.json"
    if index.exists():
        meta = json.loads(index.read_text())
        items = [Item(**i) for i in meta["items"]]
        if (meta["version"], meta["seed"], meta.get("shakes", "line")) == (
            ALBUM_VERSION,
            seed,
            shakes,
        ) and all((album / i.file).exists() for i in items):
            return items
    album.mkdir(parents=True, exist_ok=True)
    items = [
        item for s, path in enumerate(sources) for item in _photos_of(s, path, album, seed, shakes)
    ]
    index.write_text(
        json.dumps(
            {
                "version": ALBUM_VERSION,
                "seed": seed,
                "shakes": shakes,
                "items": [i.__dict__ for i in items],
            },
            indent=1,
        )
    )
    return items
