"""Generate the benchmark's 12 MP JPEGs once into a cache folder.

Each photo is a smooth random scene (a tiny random image upscaled) plus sensor-like noise, so
JPEG sizes land near real phone photos (~3-5 MB at quality 92) and decoding costs what a real
photo costs. Deterministic per index; files already present are reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 4000, 3000
QUALITY = 92


def _photo(index: int, noise: np.ndarray) -> Image.Image:
    rng = np.random.default_rng(index)
    scene = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(scene).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC))
    # Shift the shared noise field per photo so no two files share content.
    shifted = np.roll(noise, shift=(index * 37) % HEIGHT, axis=0)
    pixels = np.clip(base.astype(np.int16) + shifted, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def ensure_photos(folder: Path, count: int) -> list[Path]:
    """`count` photos in `folder`, generated only when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"IMG_{i:04d}.jpg" for i in range(count)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        rng = np.random.default_rng(12345)
        noise = rng.normal(0, 9, (HEIGHT, WIDTH, 3)).astype(np.int16)
        for path in missing:
            tmp = path.with_suffix(".tmp")
            _photo(int(path.stem[4:]), noise).save(tmp, "JPEG", quality=QUALITY)
            tmp.rename(path)
    return paths


if __name__ == "__main__":
    import sys

    out = ensure_photos(Path(sys.argv[1]), int(sys.argv[2]))
    sizes = [p.stat().st_size / 1e6 for p in out]
    print(f"{len(out)} photos, {min(sizes):.1f}-{max(sizes):.1f} MB")
