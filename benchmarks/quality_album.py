"""Real-photo quality benchmark: embedding head vs quality-signal head vs both, on an album of
real photographs with realistic defects, split by source photo.

    python benchmarks/quality_album.py [--cache DIR] [--seed N] [--repeats N] [--threads N]

The source photos (benchmarks/album/manifest.txt: package, version, path, sha256) come from
Debian's mate-backgrounds and plasma-workspace-wallpapers (`apt-get download`, `dpkg-deb -x`)
and scikit-image's bundled data (`pip download --no-deps`, unzipped); everything lands in
`<cache>/` (default benchmarks/.cache/quality_album, gitignored). From each source photo the
album gets keepers (the photo, three of crop / exposure / resize / recompress / download, and
the sharp frame of a burst) and discards (motion blur, defocus, underexposed or pocket shot,
blown out, a screenshot, two shaken burst frames). Features come from one `imaging.load`
per file: InceptionV3 (weights=None, seeded) pooled embeddings of the 299 crop, and
`quality.compute_signals`. Three L2 logistic-regression heads (numpy) are scored with group
5-fold cross-validation by source photo: per outer fold one fold is the test set, the next is
validation (hyperparameters by validation log-loss, discard threshold at <= 1 % validation
keepers lost), the rest train. Nothing is tuned on a test fold.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageDraw, ImageFont, ImageOps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from photosieve import bursts, imaging, quality  # noqa: E402

MANIFEST = HERE / "album" / "manifest.txt"
ALBUM_VERSION = 3  # bump when the album recipe changes: the album is rebuilt
MASTER = 1600  # long side the sources are reduced to before anything else
OUTPUT = 1024  # long side of the album's camera photos
SIZE = 299
KEEPER_VARIANTS = ("crop", "exposure", "resized", "recompressed", "download")
DISCARD_KINDS = frozenset({"motion", "defocus", "pocket", "underexposed", "blown", "screenshot",
                           "burst_shaken"})
CAMERAS = (("Google", "Pixel 7"), ("Apple", "iPhone 13"), ("samsung", "SM-S911B"),
           ("Xiaomi", "2201117TG"), ("OnePlus", "CPH2449"))
KEEP_LOSS = 0.01
LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
PCA_DIMS = (8, 16, 32, 64, 128)
Q_WEIGHTS = (1.0, 2.0, 4.0)  # combined head: quality block scale (= a lighter penalty on it)


@dataclass(frozen=True)
class Item:
    file: str
    source: int
    kind: str
    label: int  # 1 = discard


# --- sources ---------------------------------------------------------------------------------


def read_manifest() -> list[tuple[str, str, str, str]]:
    lines = MANIFEST.read_text().splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [(pkg, version, path, sha) for pkg, version, path, sha in rows]


def _sha(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _unpack(pkg: str, version: str, members: list[str], dest: Path, work: Path) -> None:
    """Download one package into `work` and copy just `members` out of it into `dest`."""
    if pkg == "scikit-image":
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", f"scikit-image=={version}", "-d", str(work)],
                       check=True)
        with zipfile.ZipFile(next(work.glob("scikit_image-*.whl"))) as zf:
            for member in members:
                zf.extract(member, dest)
        return
    subprocess.run(["apt-get", "download", "-q", f"{pkg}={version}"], cwd=work, check=True)
    tree = work / "tree"
    subprocess.run(["dpkg-deb", "-x", str(next(work.glob("*.deb"))), str(tree)], check=True)
    for member in members:
        (dest / member).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / member, dest / member)


def fetch_sources(cache_dir: Path) -> list[Path]:
    """Each manifest photo as a file under `cache_dir`/src, fetched (once) and checked."""
    rows = read_manifest()
    root = cache_dir / "src"
    paths = [root / pkg / path for pkg, _, path, _ in rows]
    for pkg, version in sorted({(r[0], r[1]) for r in rows}):
        members = [r[2] for r in rows if r[0] == pkg]
        if all((root / pkg / m).exists() for m in members):
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as work:  # the package itself: dropped
            _unpack(pkg, version, members, root / pkg, Path(work))
    for path, (_, _, name, sha) in zip(paths, rows, strict=True):
        if _sha(path) != sha:
            raise SystemExit(f"{name}: sha256 differs from the manifest; delete {root} to refetch")
    return paths


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


# --- screenshots -----------------------------------------------------------------------------

WORDS = (
    "the", "photo", "trip", "see", "you", "soon", "tomorrow", "meeting", "lunch", "great",
    "thanks", "okay", "sure", "when", "where", "weekend", "dinner", "tonight", "train",
    "station", "ticket", "update", "settings", "wifi", "bluetooth", "display", "battery",
    "storage", "privacy", "account", "notifications", "sounds", "weather", "news", "today",
    "morning", "download", "share", "album", "camera", "gallery", "message", "call", "video",
    "music", "home", "office",
)
PHONES = ((1080, 2400), (1170, 2532), (1080, 1920), (720, 1600), (1284, 2778), (1080, 2340))
DESKTOPS = ((1920, 1080), (1366, 768), (2560, 1440))
ACCENTS = ((33, 150, 243), (0, 137, 123), (94, 53, 177), (230, 81, 0), (46, 125, 50))


@cache
def _font(size: int) -> Any:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _line(rng: np.random.Generator, font: Any, width: float) -> str:
    words: list[str] = []
    while True:
        word = str(rng.choice(WORDS))
        if font.getlength(" ".join([*words, word])) > width:
            return " ".join(words) or word
        words.append(word)


@dataclass
class Screen:
    """A blank screen being drawn on: size, dp scale, theme and a few shared helpers."""

    img: Image.Image
    d: Any
    s: float  # pixels per dp
    fg: tuple[int, ...]
    bg: tuple[int, ...]
    dark: bool
    accent: tuple[int, ...]
    rng: np.random.Generator

    def text(self, x: float, y: float, width: float, size: float, lines: int = 1,
             fill: tuple[int, ...] | None = None) -> None:
        px = int(size * self.s)
        for i in range(lines):
            ragged = width * (self.rng.uniform(0.5, 0.9) if i == lines - 1 else 1.0)
            self.d.text(((x * self.s), (y + i * size * 1.45) * self.s),
                        _line(self.rng, _font(px), ragged * self.s), font=_font(px),
                        fill=fill or self.fg)

    def box(self, x0: float, y0: float, x1: float, y1: float, radius: float,
            fill: tuple[int, ...]) -> None:
        s = self.s
        self.d.rounded_rectangle((x0 * s, y0 * s, x1 * s, y1 * s), radius * s, fill=fill)


def _chat(sc: Screen, photo: Image.Image, w: float, h: float) -> None:
    sc.box(0, 0, w, 80, 0, sc.accent)
    sc.text(60, 36, 150, 20, fill=(255, 255, 255))
    y, left = 95.0, True
    while y < h - 150:
        if sc.rng.random() < 0.15:
            thumb = ImageOps.contain(photo, (int(230 * sc.s),) * 2)
            x = 10 * sc.s if left else (w - 10) * sc.s - thumb.width
            sc.img.paste(thumb, (int(x), int(y * sc.s)))
            y += thumb.height / sc.s + 10
        else:
            lines, bw = int(sc.rng.integers(1, 4)), sc.rng.uniform(140, 280)
            x = 10 if left else w - 10 - bw
            other = (235, 235, 235) if not sc.dark else (48, 48, 48)
            sc.box(x, y, x + bw, y + lines * 15 * 1.45 + 18, 14, other if left else sc.accent)
            sc.text(x + 10, y + 9, bw - 20, 15, lines, sc.fg if left else (255, 255, 255))
            y += lines * 15 * 1.45 + 28
        left = bool(sc.rng.random() < 0.5)
    sc.box(10, h - 60, w - 60, h - 14, 23, (60,) * 3 if sc.dark else (240,) * 3)
    sc.box(w - 54, h - 60, w - 8, h - 14, 23, sc.accent)


def _settings(sc: Screen, photo: Image.Image, w: float, h: float) -> None:
    sc.d.text((16 * sc.s, 40 * sc.s), "Settings", font=_font(int(30 * sc.s)), fill=sc.fg)
    for i, y in enumerate(np.arange(110, h - 70, 72)):
        sc.box(16, y + 14, 52, y + 50, 18, ACCENTS[(i * 3) % len(ACCENTS)])
        sc.text(70, y + 12, 200, 15)
        sc.text(70, y + 36, 250, 12, fill=(128, 128, 128))
        sc.box(70, y + 70, w, y + 71, 0, (90,) * 3 if sc.dark else (225,) * 3)


def _article(sc: Screen, photo: Image.Image, w: float, h: float) -> None:
    sc.box(0, 0, w, 56, 0, (40,) * 3 if sc.dark else (245,) * 3)
    sc.text(16, 70, w - 32, 24, 2)
    y = 160.0
    while y < h - 40:
        if sc.rng.random() < 0.25:
            pic = ImageOps.fit(photo, (int((w - 32) * sc.s), int(200 * sc.s)))
            sc.img.paste(pic, (int(16 * sc.s), int(y * sc.s)))
            y += 220
        else:
            lines = int(sc.rng.integers(3, 8))
            sc.text(16, y, w - 32, 15, lines)
            y += lines * 15 * 1.45 + 18


def _viewer(sc: Screen, photo: Image.Image, w: float, h: float) -> None:
    sc.img.paste((0, 0, 0), (0, 0, *sc.img.size))
    pic = ImageOps.contain(photo, (sc.img.width, int(sc.img.height * 0.8)))
    sc.img.paste(pic, ((sc.img.width - pic.width) // 2, (sc.img.height - pic.height) // 2))
    for i in range(4):
        cx = w * (i + 0.5) / 4
        sc.box(cx - 12, h - 60, cx + 12, h - 36, 4, (230, 230, 230))
    sc.box(14, 36, 34, 40, 2, (255, 255, 255))


def _home(sc: Screen, photo: Image.Image, w: float, h: float) -> None:
    sc.img.paste(ImageOps.fit(photo, sc.img.size), (0, 0))
    sc.box(16, 60, w - 16, 104, 22, (250, 250, 250))
    for r in range(5):
        for c in range(4):
            x, y = (c + 0.5) * w / 4 - 26, 150 + r * 100
            sc.box(x, y, x + 52, y + 52, 14, ACCENTS[(r * 4 + c) % len(ACCENTS)])
            sc.d.text(((x - 4) * sc.s, (y + 58) * sc.s), str(sc.rng.choice(WORDS))[:9],
                      font=_font(int(12 * sc.s)), fill=(255, 255, 255))


def _desktop(sc: Screen, photo: Image.Image, w: float, h: float) -> None:
    sc.img.paste(ImageOps.fit(photo, sc.img.size), (0, 0))
    sc.box(0, h - 40, w, h, 0, (32, 32, 36))
    for i in range(6):
        sc.box(10 + i * 44, h - 34, 38 + i * 44, h - 6, 6, ACCENTS[i % len(ACCENTS)])
    x0, y0 = w * sc.rng.uniform(0.05, 0.2), h * sc.rng.uniform(0.05, 0.15)
    x1, y1 = x0 + w * 0.6, y0 + h * 0.7
    sc.box(x0, y0, x1, y1, 0, sc.bg)
    sc.box(x0, y0, x1, y0 + 32, 0, (50,) * 3 if sc.dark else (225,) * 3)
    sc.text(x0 + 20, y0 + 50, x1 - x0 - 40, 15, int((y1 - y0 - 70) / 22))


TEMPLATES = {"chat": _chat, "settings": _settings, "article": _article, "viewer": _viewer,
             "home": _home, "desktop": _desktop}


def screenshot(template: str, photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A phone or desktop screen at a real screen resolution, drawn in dp (phones: 360 dp
    wide); some templates show the source photo (a viewer, a home screen, a chat)."""
    sizes = DESKTOPS if template == "desktop" else PHONES
    width, height = sizes[int(rng.integers(len(sizes)))]
    scale = 1.0 if template == "desktop" else width / 360
    dark = bool(rng.random() < 0.3)
    bg, fg = ((18, 18, 18), (230, 230, 230)) if dark else ((255, 255, 255), (25, 25, 25))
    img = Image.new("RGB", (width, height), bg)
    sc = Screen(img, ImageDraw.Draw(img), scale, fg, bg, dark,
                ACCENTS[int(rng.integers(len(ACCENTS)))], rng)
    TEMPLATES[template](sc, photo, width / scale, height / scale)
    on_photo = template in ("chat", "viewer", "home", "desktop")
    sc.d.text((12 * scale, 6 * scale), f"12:{int(rng.integers(60)):02d}",
              font=_font(int(13 * scale)), fill=(255, 255, 255) if on_photo or dark else fg)
    return img


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
        return exposure(_resize(master, OUTPUT), rng.choice([-1, 1]) * rng.uniform(0.3, 0.8)), \
            "camera"
    if kind == "resized":
        return _resize(master, int(rng.choice([640, 800, 1280, 1600]))), "camera"
    if kind == "recompressed":
        return _resize(master, int(rng.choice([1280, 1600]))), "phone-share"
    if kind == "download":  # a saved wallpaper: a screen size, no camera
        h, w = master.shape[:2]
        if max(h, w) < 1280:
            return master, "plain"
        pil = ImageOps.fit(Image.fromarray(_u8(master)), (1280, 720) if w >= h else (720, 1280),
                           Image.Resampling.LANCZOS)
        return np.asarray(pil, np.float32), "plain"
    raise ValueError(kind)


def _defect(kind: str, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A discard made from the OUTPUT-sized `base`; kernel sizes are in its pixels."""
    if kind == "motion":
        return _convolve(base, motion_kernel(rng.uniform(10, 40), rng.uniform(0, np.pi)))
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


def _save(img: np.ndarray, path: Path, how: str, rng: np.random.Generator,
          camera: tuple[str, str], when: datetime) -> None:
    if how == "camera" and rng.random() < 0.15:
        how = "phone-share"  # sent through a messenger: EXIF stripped, recompressed
    if how == "camera":
        img = sensor(img, rng, rng.uniform(0.5, 2.0))
    pil = Image.fromarray(_u8(img))
    if how in ("camera", "camera-clean"):
        pil.save(path, "JPEG", quality=int(rng.integers(85, 96)), exif=_exif(camera, when))
    else:
        pil.save(path, "JPEG", quality=int(rng.integers(55, 75) if how == "phone-share" else 85))


def _burst(master: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """The sharp frame, then two shaken ones a little off to the side."""
    offsets = [rng.uniform(-0.3, 0.3, 2)] + [rng.uniform(-1, 1, 2) for _ in range(2)]
    frames = [_resize(crop(master, 0.94, *o), OUTPUT) for o in offsets]
    return [frames[0]] + [
        _convolve(f, motion_kernel(rng.uniform(6, 18), rng.uniform(0, np.pi))) for f in frames[1:]
    ]


def _source_name(path: Path) -> str:
    """The photo's name: Plasma's files are named by size inside a folder named for the photo."""
    return path.parts[-4] if path.parent.name == "images" else path.stem


def _photos_of(s: int, path: Path, album: Path, seed: int) -> list[Item]:
    """Every album file made from source photo number `s`."""
    rng = np.random.default_rng([seed, s])
    master = _load_source(path)
    camera = CAMERAS[s % len(CAMERAS)]
    t0 = datetime(2024, 5, 1, 9) + timedelta(days=s, minutes=int(rng.integers(600)))
    kinds = ["original", *map(str, rng.choice(KEEPER_VARIANTS, 3, replace=False)),
             "motion", "defocus", "pocket" if s % 2 == 0 else "underexposed", "blown"]
    stem = f"{s:02d}-{_source_name(path)}"
    items = []
    for n, kind in enumerate(kinds):
        if kind in DISCARD_KINDS:
            img, how = _defect(kind, _resize(master, OUTPUT), rng), "camera"
        else:
            img, how = _keeper(kind, master, rng)
        _save(img, album / f"{stem}-{kind}.jpg", how, rng, camera, t0 + timedelta(minutes=7 * n))
        items.append(Item(f"{stem}-{kind}.jpg", s, kind, int(kind in DISCARD_KINDS)))
    for n, frame in enumerate(_burst(master, rng)):
        kind = "burst_sharp" if n == 0 else "burst_shaken"
        when = t0 + timedelta(minutes=90, milliseconds=400 * n)
        pil = Image.fromarray(_u8(sensor(frame, rng, rng.uniform(0.5, 2.0))))
        pil.save(album / f"{stem}-burst{n}.jpg", "JPEG", quality=int(rng.integers(85, 96)),
                 exif=_exif(camera, when))
        items.append(Item(f"{stem}-burst{n}.jpg", s, kind, int(kind in DISCARD_KINDS)))
    templates = list(TEMPLATES)
    shot = screenshot(templates[s % len(templates)], Image.fromarray(_u8(master)), rng)
    name = f"{stem}-screenshot.{'png' if rng.random() < 0.85 else 'jpg'}"
    if name.endswith("jpg"):
        shot.save(album / name, "JPEG", quality=90)  # a screenshot shared on: re-encoded
    else:
        shot.save(album / name, "PNG")
    return [*items, Item(name, s, "screenshot", 1)]


def build_album(sources: list[Path], album: Path, seed: int) -> list[Item]:
    """The album under `album` (reused when it is complete and of this recipe and seed)."""
    index = album / "album.json"
    if index.exists():
        meta = json.loads(index.read_text())
        items = [Item(**i) for i in meta["items"]]
        if (meta["version"], meta["seed"]) == (ALBUM_VERSION, seed) and all(
            (album / i.file).exists() for i in items
        ):
            return items
    album.mkdir(parents=True, exist_ok=True)
    items = [item for s, path in enumerate(sources) for item in _photos_of(s, path, album, seed)]
    index.write_text(json.dumps({"version": ALBUM_VERSION, "seed": seed,
                                 "items": [i.__dict__ for i in items]}, indent=1))
    return items


# --- features --------------------------------------------------------------------------------


@dataclass
class Features:
    signals: np.ndarray  # (n, 17) quality.signal_vector
    candidates: np.ndarray  # (n, 3) candidate_signals: not in quality.py (yet)
    embeddings: np.ndarray  # (n, 2048) InceptionV3 pooled, random weights
    shots: list[bursts.Shot]


CANDIDATES = ("reblur", "anisotropy", "edge_contrast")


def _box(g: np.ndarray, axis: int, n: int = 9) -> np.ndarray:
    pad = [(0, 0), (0, 0)]
    pad[axis] = (n // 2 + 1, n // 2)
    c = np.cumsum(np.pad(g, pad, mode="edge"), axis=axis)
    length = c.shape[axis]
    return (np.take(c, range(n, length), axis) - np.take(c, range(length - n), axis)) / n


def candidate_signals(gray: np.ndarray) -> np.ndarray:
    """Blur cues that are less tied to scene content than Laplacian variance, computed on the
    same work image, to see whether quality.py should grow them:
    - reblur (Crete et al. 2007): how little a 9-tap box blur changes neighbour differences,
      0 sharp .. 1 already blurred; the worse of the two axes.
    - anisotropy: coherence of the image's structure tensor, (l1 - l2) / (l1 + l2); motion blur
      wipes out gradients along its direction.
    - edge_contrast: log of the 99.9th percentile gradient over the 1-99 % tonal range; a sharp
      edge anywhere is steep for its contrast, a blurred one is not.
    """
    g = gray.astype(np.float64) * 255.0
    reblur = 0.0
    for axis in (0, 1):
        d_orig = np.abs(np.diff(g, axis=axis))
        d_blur = np.abs(np.diff(_box(g, axis), axis=axis))
        total = d_orig.sum()
        kept = np.maximum(0.0, d_orig - d_blur).sum()
        reblur = max(reblur, (total - kept) / total if total > 0 else 1.0)
    gx = (g[1:-1, 2:] - g[1:-1, :-2]) / 2
    gy = (g[2:, 1:-1] - g[:-2, 1:-1]) / 2
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / max(jxx + jyy, 1e-9)
    p1, p99 = np.percentile(g, [1, 99])
    steep = np.percentile(np.hypot(gx, gy), 99.9)
    return np.array([reblur, coherence, np.log((steep + 1) / (p99 - p1 + 1))])


def _embedder(cache_dir: Path, seed: int, threads: int) -> Any:
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    from photosieve.trainer import model as netlib

    base = netlib.build_base("inceptionv3", SIZE, None)
    weights = cache_dir / f"inceptionv3-none-s{seed}.weights.h5"
    if weights.exists():  # the very same random base as the run that filled the cache
        base.load_weights(weights)
    else:
        base.save_weights(weights)
    return netlib.embed_fn(netlib.build_network(base, SIZE).embedder, 16)


def _taken(meta: dict[str, str]) -> datetime | None:
    try:
        when = datetime.strptime(meta["DateTimeOriginal"], "%Y:%m:%d %H:%M:%S")
    except (KeyError, ValueError):
        return None
    return when + timedelta(milliseconds=int(meta.get("SubSecTimeOriginal", "0") or 0))


def extract(items: list[Item], album: Path, cache_dir: Path, seed: int, threads: int) -> Features:
    """One `imaging.load` per photo gives the 299 crop (embedding) and the gray work image
    (signals); embeddings are cached by content hash, signals always recomputed."""
    store = cache_dir / f"embeddings-inceptionv3-{SIZE}-crop-none-s{seed}.npz"
    cached: dict[str, np.ndarray] = {}
    if store.exists():
        with np.load(store) as z:
            cached = dict(zip(z["shas"].tolist(), z["vecs"], strict=True))
    signals, extra, shots, shas, todo, pixels = [], [], [], [], [], []
    for i, item in enumerate(items):
        path = album / item.file
        sha = _sha(path)
        dec = imaging.load(path, SIZE, fit="crop", want_gray=True)
        assert dec.gray is not None
        sig = quality.compute_signals(dec.gray, dec.pixels, width=dec.width, height=dec.height,
                                      fmt=dec.format, metadata=dec.metadata)
        signals.append(quality.signal_vector(sig))
        extra.append(candidate_signals(dec.gray))
        camera = " ".join(filter(None, (dec.metadata.get("Make"), dec.metadata.get("Model"))))
        shots.append(bursts.Shot(item.file, camera or None, _taken(dec.metadata),
                                 bursts.dhash(dec.gray), sig["sharpness_tile_max"]))
        shas.append(sha)
        if sha not in cached:
            todo.append(i)
            pixels.append(dec.pixels)
    if todo:
        start = time.monotonic()
        embed = _embedder(cache_dir, seed, threads)
        vecs = embed(np.stack(pixels))
        print(f"embedded {len(todo)} photos in {time.monotonic() - start:.0f} s", flush=True)
        cached.update({shas[i]: v for i, v in zip(todo, vecs, strict=True)})
        np.savez(store, shas=np.array(list(cached)), vecs=np.stack(list(cached.values())))
    return Features(np.stack(signals).astype(np.float64), np.stack(extra),
                    np.stack([cached[s] for s in shas]).astype(np.float64), shots)


# --- heads: L2 logistic regression on standardised (and PCA-reduced) features -----------------


def fit_logreg(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Newton's method on mean log-loss + lam/2 |w|^2 (bias unpenalised); returns [w, b]."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    reg = np.full(xb.shape[1], lam)
    reg[-1] = 1e-9
    w = np.zeros(xb.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) / len(y) + reg * w
        hess = (xb.T * (p * (1 - p))) @ xb / len(y) + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x @ w[:-1] + w[-1], -30, 30)))


def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mean, std = x[train].mean(0), x[train].std(0)
    return (x - mean) / np.where(std > 1e-9, std, 1.0)


def _pca(z: np.ndarray, train: np.ndarray) -> np.ndarray:
    """All rows projected on the train rows' principal axes, each scaled to unit variance."""
    _, sv, vt = np.linalg.svd(z[train] - z[train].mean(0), full_matrices=False)
    keep = sv > 1e-6 * sv[0]
    return (z @ vt[keep].T) / (sv[keep] / np.sqrt(len(train)))


def _spline(z: np.ndarray) -> np.ndarray:
    """Each standardised column plus hinges max(0, z - c) at c = -1, 0, +1 sd: a per-signal
    piecewise-linear response, so one extreme signal (a blown sky) can outweigh the others."""
    return np.hstack([z] + [np.maximum(0.0, z - c) for c in (-1.0, 0.0, 1.0)])


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """Smallest threshold (flag when score > it) losing at most KEEP_LOSS of the keepers."""
    keep = np.sort(scores[y == 0])[::-1]
    return float(keep[int(np.floor(KEEP_LOSS * len(keep)))]) if len(keep) else 0.5


@dataclass(frozen=True)
class Head:
    label: str
    quality: bool  # the 17 signals
    embedding: bool  # PCA of the standardised embeddings
    spline: bool = False  # hinge basis on the quality block
    candidates: bool = False  # the 3 candidate signals join the quality block


HEADS = (
    Head("embedding only", False, True),
    Head("quality only", True, False),
    Head("combined", True, True),
    Head("quality, spline", True, False, spline=True),
    Head("combined, spline", True, True, spline=True),
    Head("quality + candidates, spline", True, False, spline=True, candidates=True),
    Head("combined + candidates, spline", True, True, spline=True, candidates=True),
)
MAIN = 3  # the first three are the heads; the rest are the improvements tried


def _grid(head: Head, f: Features, tr: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The head's candidate designs (all rows), fitted on the train rows only."""
    q = np.zeros((len(f.signals), 0))
    if head.quality:
        raw = np.hstack([f.signals, f.candidates]) if head.candidates else f.signals
        q = _standardise(raw, tr)
        q = _standardise(_spline(q), tr) if head.spline else q
    if not head.embedding:
        return [("", q)]
    e = _pca(_standardise(f.embeddings, tr), tr)
    if not head.quality:
        return [(f"k={k}", e[:, :k]) for k in PCA_DIMS]
    return [(f"k={k} a={a:g}", np.hstack([a * q, e[:, :k]])) for k in PCA_DIMS for a in Q_WEIGHTS]


def run_fold(head: Head, f: Features, y: np.ndarray, tr: np.ndarray, va: np.ndarray,
             te: np.ndarray) -> tuple[np.ndarray, float, str]:
    """Fit on train, choose the design, lambda and threshold on validation; test scores."""
    best = (np.inf, "", np.zeros(0), np.zeros(0))
    for name, x in _grid(head, f, tr):
        for lam in LAMBDAS:
            w = fit_logreg(x[tr], y[tr], lam)
            loss = _log_loss(predict(w, x[va]), y[va])
            if loss < best[0]:
                best = (loss, f"{name} l={lam:g}".strip(), w, x)
    _, chosen, w, x = best
    return predict(w, x[te]), _threshold(predict(w, x[va]), y[va]), chosen


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def folds(n_sources: int, k: int, seed: int) -> np.ndarray:
    """Fold of each source photo: a seeded shuffle dealt round-robin (equal-sized folds)."""
    order = np.random.default_rng(seed).permutation(n_sources)
    fold = np.empty(n_sources, np.int64)
    fold[order] = np.arange(n_sources) % k
    return fold


@dataclass
class Result:
    scores: list[np.ndarray]  # per repeat: every photo's score from the model it was test for
    thresholds: list[np.ndarray]  # per repeat: that model's validation threshold
    chosen: list[str]


def evaluate(items: list[Item], f: Features, seed: int, repeats: int,
             k: int = 5) -> list[Result]:
    """Out-of-fold test scores for each head: per outer fold t, test = fold t, validation =
    fold t+1, train = the other three; `repeats` different fold assignments."""
    y = np.array([i.label for i in items], np.float64)
    source = np.array([i.source for i in items])
    out = [Result([], [], []) for _ in HEADS]
    for r in range(repeats):
        fold_of = folds(int(source.max()) + 1, k, seed + r)[source]
        for head, res in zip(HEADS, out, strict=True):
            scores, thresholds = np.zeros(len(y)), np.zeros(len(y))
            for t in range(k):
                te, va = np.flatnonzero(fold_of == t), np.flatnonzero(fold_of == (t + 1) % k)
                tr = np.flatnonzero((fold_of != t) & (fold_of != (t + 1) % k))
                scores[te], thresholds[te], chosen = run_fold(head, f, y, tr, va, te)
                res.chosen.append(chosen)
            res.scores.append(scores)
            res.thresholds.append(thresholds)
    return out


# --- report ----------------------------------------------------------------------------------


def metrics(scores: np.ndarray, thresholds: np.ndarray, y: np.ndarray) -> dict[str, float]:
    flag = scores > thresholds
    roc_t = _threshold(scores, y)  # the test ROC's own <= 1 % point: a curve measure, like AUC
    return {
        "acc": float(np.mean((scores > 0.5) == y)),
        "auc": auc(scores, y),
        "roc_catch": float(np.mean(scores[y == 1] > roc_t)),
        "catch": float(np.mean(flag[y == 1])),
        "loss": float(np.mean(flag[y == 0])),
        "acc_t": float(np.mean(flag == y)),
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    return {key: (float(np.mean([r[key] for r in rows])), float(np.std([r[key] for r in rows])))
            for key in rows[0]}


def burst_line(items: list[Item], f: Features, scores: np.ndarray, thresholds: np.ndarray) -> str:
    """How `bursts` would handle the album's bursts given the combined head's scores."""
    shots = [bursts.Shot(s.key, s.camera, s.taken, s.phash, s.sharpness, float(p))
             for s, p in zip(f.shots, scores, strict=True)]
    kind = {i.file: i.kind for i in items}
    limit = {i.file: float(t) for i, t in zip(items, thresholds, strict=True)}
    flagged = {i.file for i, p, t in zip(items, scores, thresholds, strict=True) if p > t}
    groups = [g for g in bursts.group_bursts(shots) if any(kind[s.key] == "burst_sharp" for s in g)]
    kept_sharp = caught = shaken = 0
    for group in groups:
        best, proposed = bursts.burst_proposals(group, threshold=limit[group[0].key],
                                                signals_lean={})
        kept_sharp += kind[best.key] == "burst_sharp"
        caught += sum(kind[s.key] == "burst_shaken" for s in proposed)
    shaken = sum(i.kind == "burst_shaken" for i in items)
    alone = sum(i.kind == "burst_shaken" and i.file in flagged for i in items)
    n_sharp = sum(i.kind == "burst_sharp" for i in items)
    return (f"bursts (repeat 1): {len(groups)}/{n_sharp} grouped by bursts.group_bursts; sharp "
            f"frame chosen as best in {kept_sharp}; shaken frames flagged by the combined head "
            f"alone {alone}/{shaken}, with bursts.burst_proposals {caught}/{shaken}")


def _row(label: str, m: dict[str, tuple[float, float]]) -> str:
    cells = [f"{m[k][0]:.3f} ({m[k][1]:.3f})" for k in ("acc", "auc", "roc_catch")]
    cells += [f"{m[k][0]:.3f}" for k in ("catch", "loss", "acc_t")]
    return f"| {label} | " + " | ".join(cells) + " |"


def _by_kind(items: list[Item], res: Result) -> list[str]:
    lines = ["| combined head, by kind | n | flagged @0.5 | flagged @val threshold |",
             "|---|---|---|---|"]
    for kind in sorted({i.kind for i in items}, key=lambda k: (k in DISCARD_KINDS, k)):
        mask = np.array([i.kind == kind for i in items])
        at5 = np.mean([np.mean(s[mask] > 0.5) for s in res.scores])
        att = np.mean([np.mean(s[mask] > t[mask])
                       for s, t in zip(res.scores, res.thresholds, strict=True)])
        role = "discard" if kind in DISCARD_KINDS else "keeper"
        lines.append(f"| {kind} ({role}) | {int(mask.sum())} | {at5:.2f} | {att:.2f} |")
    return lines


def report(items: list[Item], f: Features, results: list[Result], args: argparse.Namespace,
           seconds: float) -> str:
    y = np.array([i.label for i in items], np.float64)
    rows = [_mean([metrics(s, t, y) for s, t in zip(r.scores, r.thresholds, strict=True)])
            for r in results]
    n_keep = int((y == 0).sum())
    header = ("| head | acc @0.5 | ROC AUC | caught @<=1% keepers lost (test ROC) "
              "| val threshold: caught | keepers lost | acc |")
    lines = [
        f"photosieve quality benchmark, real photos: {len(sourcesof(items))} source photos -> "
        f"{len(items)} images ({n_keep} keepers, {len(items) - n_keep} discards)",
        f"InceptionV3 weights=None (seed {args.seed}), {SIZE} crop, pooled 2048-d; "
        f"{len(quality.SIGNAL_NAMES)} quality signals; L2 logistic regression (numpy)",
        f"group 5-fold by source photo (test / validation / 3 train folds) x {args.repeats} "
        f"fold assignments: mean (sd); {seconds:.0f} s",
        "", header, "|" + "---|" * 7,
        *(_row(h.label, m) for h, m in zip(HEADS[:MAIN], rows[:MAIN], strict=True)),
    ]
    emb, qual, comb = (m for m in rows[:MAIN])
    checks = [
        ("combined acc >= 0.93", comb["acc"][0] >= 0.93),
        ("combined acc >= both", comb["acc"][0] >= max(emb["acc"][0], qual["acc"][0])),
        ("combined caught @<=1% >= both",
         comb["roc_catch"][0] >= max(emb["roc_catch"][0], qual["roc_catch"][0])),
    ]
    lines += ["", "targets: " + "; ".join(f"{n} {'PASS' if ok else 'MISS'}" for n, ok in checks)]
    lines += ["", "improvements tried (same protocol):", "", header, "|" + "---|" * 7,
              *(_row(h.label, m) for h, m in zip(HEADS[MAIN:], rows[MAIN:], strict=True))]
    lines += ["", *_by_kind(items, results[2]), "",
              burst_line(items, f, results[2].scores[0], results[2].thresholds[0])]
    for head, res in zip(HEADS, results, strict=True):
        common = Counter(res.chosen).most_common(2)
        lines.append(f"chosen on validation, {head.label}: "
                     + ", ".join(f"{c} ({n}/{len(res.chosen)})" for c, n in common))
    return "\n".join(lines)


def sourcesof(items: list[Item]) -> set[int]:
    return {i.source for i in items}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=HERE / ".cache" / "quality_album")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="fold assignments to average")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads")
    args = parser.parse_args()
    start = time.monotonic()
    cache_dir = args.cache.resolve()
    sources = fetch_sources(cache_dir)
    items = build_album(sources, cache_dir / "album", args.seed)
    feats = extract(items, cache_dir / "album", cache_dir, args.seed, args.threads)
    results = evaluate(items, feats, args.seed, args.repeats)
    print(report(items, feats, results, args, time.monotonic() - start))


if __name__ == "__main__":
    main()
