"""Screenshots for the real-photo quality album (benchmarks/album_build.py): a chat, a settings
page, an article, a photo viewer, a home screen or a desktop, drawn in dp at a real phone or
desktop resolution with real fonts; several show the album's source photo. Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

WORDS = (
    "the",
    "photo",
    "trip",
    "see",
    "you",
    "soon",
    "tomorrow",
    "meeting",
    "lunch",
    "great",
    "thanks",
    "okay",
    "sure",
    "when",
    "where",
    "weekend",
    "dinner",
    "tonight",
    "train",
    "station",
    "ticket",
    "update",
    "settings",
    "wifi",
    "bluetooth",
    "display",
    "battery",
    "storage",
    "privacy",
    "account",
    "notifications",
    "sounds",
    "weather",
    "news",
    "today",
    "morning",
    "download",
    "share",
    "album",
    "camera",
    "gallery",
    "message",
    "call",
    "video",
    "music",
    "home",
    "office",
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

    def text(
        self,
        x: float,
        y: float,
        width: float,
        size: float,
        lines: int = 1,
        fill: tuple[int, ...] | None = None,
    ) -> None:
        px = int(size * self.s)
        for i in range(lines):
            ragged = width * (self.rng.uniform(0.5, 0.9) if i == lines - 1 else 1.0)
            self.d.text(
                ((x * self.s), (y + i * size * 1.45) * self.s),
                _line(self.rng, _font(px), ragged * self.s),
                font=_font(px),
                fill=fill or self.fg,
            )

    def box(
        self, x0: float, y0: float, x1: float, y1: float, radius: float, fill: tuple[int, ...]
    ) -> None:
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
            sc.d.text(
                ((x - 4) * sc.s, (y + 58) * sc.s),
                str(sc.rng.choice(WORDS))[:9],
                font=_font(int(12 * sc.s)),
                fill=(255, 255, 255),
            )


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


TEMPLATES = {
    "chat": _chat,
    "settings": _settings,
    "article": _article,
    "viewer": _viewer,
    "home": _home,
    "desktop": _desktop,
}


def screenshot(template: str, photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A phone or desktop screen at a real screen resolution, drawn in dp (phones: 360 dp
    wide); some templates show the source photo (a viewer, a home screen, a chat)."""
    sizes = DESKTOPS if template == "desktop" else PHONES
    width, height = sizes[int(rng.integers(len(sizes)))]
    scale = 1.0 if template == "desktop" else width / 360
    dark = bool(rng.random() < 0.3)
    bg, fg = ((18, 18, 18), (230, 230, 230)) if dark else ((255, 255, 255), (25, 25, 25))
    img = Image.new("RGB", (width, height), bg)
    sc = Screen(
        img, ImageDraw.Draw(img), scale, fg, bg, dark, ACCENTS[int(rng.integers(len(ACCENTS)))], rng
    )
    TEMPLATES[template](sc, photo, width / scale, height / scale)
    on_photo = template in ("chat", "viewer", "home", "desktop")
    sc.d.text(
        (12 * scale, 6 * scale),
        f"12:{int(rng.integers(60)):02d}",
        font=_font(int(13 * scale)),
        fill=(255, 255, 255) if on_photo or dark else fg,
    )
    return img
