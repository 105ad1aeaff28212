"""Tests for vision.imaging: orientation, modes, fit, formats, metadata and every bad input."""

from __future__ import annotations

import logging
import os
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageFile

from photosieve import libnoise
from photosieve.errors import BadInput
from photosieve.vision import imaging

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


# ---------------------------------------------------------------- helpers


def _halves(width: int = 200, height: int = 100) -> Image.Image:
    """Left half red, right half blue: any rotation or flip shows in where the colours land."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = RED
    pixels[:, width // 2 :] = BLUE
    return Image.fromarray(pixels)


def _noisy(width: int, height: int, seed: int = 0) -> Image.Image:
    """Gradients plus noise: photo-like content whose JPEG is not trivially small."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], -1)
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


def _exif(orientation: int | None = None, **exif_ifd: str) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    for name, value in exif_ifd.items():
        sub[ExifTags.Base[name]] = value
    return exif


def _save(img: Image.Image, path: Path, **kwargs: object) -> Path:
    img.save(path, **kwargs)  # type: ignore[arg-type]
    return path


def _save_heic(img: Image.Image, path: Path, exif: Image.Exif | None = None) -> Path:
    heif = pillow_heif.from_pillow(img)
    if exif is not None:
        heif.info["exif"] = exif.tobytes()  # from_pillow's info also drives irot on save
    heif.save(path, quality=90)
    return path


def _close(actual: np.ndarray, expected: tuple[int, ...], tol: int = 12) -> bool:
    return bool(np.all(np.abs(actual.astype(int) - np.array(expected)) <= tol))


def _load_error(path: Path) -> BadInput:
    with pytest.raises(BadInput) as caught:
        imaging.load(path, 32)
    assert caught.value.path == path
    return caught.value


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_exif_orientation_6_turns_the_picture_upright(tmp_path: Path, fmt: str, ext: str) -> None:
    path = _save(_halves(), tmp_path / f"o6.{ext}", format=fmt, exif=_exif(6))
    got = imaging.load(path, 100, fit="letterbox")
    # Orientation 6 = rotate 90 degrees clockwise: the left (red) half ends up on top.
    assert (got.width, got.height) == (100, 200)
    assert _close(got.pixels[10, 50], RED)
    assert _close(got.pixels[90, 50], BLUE)


def test_orientation_is_applied_after_a_drafted_decode(tmp_path: Path) -> None:
    path = _save(_halves(1600, 800), tmp_path / "big.jpg", quality=95, exif=_exif(8))
    got = imaging.load(path, 100, fit="letterbox")
    # Orientation 8 = rotate 90 degrees counter-clockwise: red goes to the bottom.
    assert (got.width, got.height) == (800, 1600)
    assert _close(got.pixels[90, 50], RED)
    assert _close(got.pixels[10, 50], BLUE)


def test_load_frame_is_the_upright_whole_frame_within_its_side(tmp_path: Path) -> None:
    path = _save(_halves(1600, 800), tmp_path / "big.jpg", quality=95, exif=_exif(8))
    frame = imaging.load_frame(path, 400)
    assert frame.mode == "RGB" and frame.size == (200, 400)
    assert _close(np.asarray(frame)[380, 100], RED) and _close(np.asarray(frame)[20, 100], BLUE)
    assert imaging.load_frame(path, 4000).size == (800, 1600)  # never enlarged
    clear = _save(Image.new("RGBA", (30, 20), (0, 0, 0, 0)), tmp_path / "clear.png")
    assert _close(np.asarray(imaging.load_frame(clear, 100)), imaging.BACKGROUND, tol=0)
    with pytest.raises(BadInput):
        imaging.load_frame(tmp_path / "missing.jpg", 100)


def test_heic_rotation_is_applied_once(tmp_path: Path) -> None:
    path = _save_heic(_halves(), tmp_path / "o6.heic", exif=_exif(6))
    got = imaging.load(path, 100, fit="letterbox")
    assert (got.width, got.height) == (100, 200)
    assert _close(got.pixels[10, 50], RED, tol=20)
    assert _close(got.pixels[90, 50], BLUE, tol=20)


# ---------------------------------------------------------------- modes


def _mode_cases() -> list[tuple[str, Image.Image, str, tuple[int, int, int]]]:
    palette = Image.new("P", (16, 16), 1)
    palette.putpalette([0, 0, 0, *GREEN] + [0] * 762)
    transparent_palette = palette.copy()
    transparent_palette.info["transparency"] = 1
    sixteen = Image.fromarray(np.full((16, 16), 65535, np.uint16))
    return [
        ("rgba-clear", Image.new("RGBA", (16, 16), (0, 0, 0, 0)), "PNG", (255, 255, 255)),
        ("rgba-solid", Image.new("RGBA", (16, 16), (*RED, 255)), "PNG", RED),
        ("la-clear", Image.new("LA", (16, 16), (0, 0)), "PNG", (255, 255, 255)),
        ("la-solid", Image.new("LA", (16, 16), (0, 255)), "PNG", (0, 0, 0)),
        ("p", palette, "PNG", GREEN),
        ("p-transparent", transparent_palette, "PNG", (255, 255, 255)),
        ("cmyk-jpeg", Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", RED),
        ("i16-png", sixteen, "PNG", (255, 255, 255)),
        ("i32-tiff", Image.new("I", (16, 16), 32896), "TIFF", (128, 128, 128)),
        ("float-tiff", Image.new("F", (16, 16), 0.5), "TIFF", (128, 128, 128)),
        ("l", Image.new("L", (16, 16), 77), "PNG", (77, 77, 77)),
        ("1-bit", Image.new("1", (16, 16), 1), "PNG", (255, 255, 255)),
    ]


@pytest.mark.parametrize(
    ("name", "img", "fmt", "expected"), _mode_cases(), ids=[c[0] for c in _mode_cases()]
)
def test_every_mode_becomes_rgb(
    tmp_path: Path, name: str, img: Image.Image, fmt: str, expected: tuple[int, int, int]
) -> None:
    path = _save(img, tmp_path / f"{name}.{fmt.lower()}", format=fmt)
    got = imaging.load(path, 8)
    assert got.pixels.shape == (8, 8, 3)
    assert got.pixels.dtype == np.uint8
    assert _close(got.pixels[4, 4], expected, tol=3)


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.repeat(np.array([[0, 32896, 65535]], np.uint16), 32, axis=0).repeat(32, axis=1)
    path = _save(Image.fromarray(ramp), tmp_path / "ramp.png")
    got = imaging.load(path, 96, fit="letterbox")
    row = got.pixels[48, :, 0]
    assert row[10] <= 1
    assert 126 <= row[48] <= 130  # a mid value stays mid, where a clip would give 255
    assert row[85] >= 254


# ---------------------------------------------------------------- draft, fit, gray


def test_drafted_jpeg_matches_a_full_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(_noisy(2400, 1600), tmp_path / "photo.jpg", quality=90)
    decoded_sizes: list[tuple[int, int]] = []
    real_draft = imaging._draft

    def spy(img: Image.Image, size: int, fit: imaging.Fit, want_gray: bool) -> None:
        real_draft(img, size, fit, want_gray)
        decoded_sizes.append(img.size)

    monkeypatch.setattr(imaging, "_draft", spy)
    drafted = imaging.load(path, 299)
    monkeypatch.setattr(imaging, "_draft", lambda *args: None)
    full = imaging.load(path, 299)
    assert decoded_sizes == [(600, 400)]  # 1/4 scale keeps the short side >= 299
    assert (drafted.width, drafted.height) == (full.width, full.height) == (2400, 1600)
    assert float(np.abs(drafted.pixels.astype(int) - full.pixels.astype(int)).mean()) < 3.0


def test_crop_keeps_the_centre_square(tmp_path: Path) -> None:
    img = Image.new("RGB", (300, 100), GREEN)
    img.paste(Image.new("RGB", (100, 100), RED), (100, 0))
    path = _save(img, tmp_path / "wide.png")
    got = imaging.load(path, 64, fit="crop")
    assert got.pixels.shape == (64, 64, 3)
    assert _close(got.pixels[2, 2], RED) and _close(got.pixels[61, 61], RED)
    assert imaging.DEFAULT_FIT == "crop"
    assert np.array_equal(imaging.load(path, 64).pixels, got.pixels)


def test_letterbox_keeps_the_whole_frame_and_pads(tmp_path: Path) -> None:
    path = _save(_halves(200, 100), tmp_path / "wide.png")
    got = imaging.load(path, 64, fit="letterbox")
    pad = (imaging.PAD_VALUE,) * 3
    assert got.pixels.shape == (64, 64, 3)
    assert _close(got.pixels[2, 32], pad, tol=0) and _close(got.pixels[61, 32], pad, tol=0)
    assert _close(got.pixels[32, 4], RED) and _close(got.pixels[32, 60], BLUE)


def test_gray_work_image_comes_from_the_same_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(_noisy(1600, 800), tmp_path / "photo.jpg", quality=90)
    opened: list[object] = []
    real_open = Image.open

    def counting_open(*args: object, **kwargs: object) -> Image.Image:
        opened.append(args)
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", counting_open)
    got = imaging.load(path, 64, want_gray=True)
    assert len(opened) == 1
    assert got.gray is not None
    assert got.gray.shape == (imaging.WORK_SIZE // 2, imaging.WORK_SIZE)
    assert got.gray.dtype == np.float32
    assert float(got.gray.min()) >= 0.0 and float(got.gray.max()) <= 1.0
    # Luma of the gradient: the bottom-right corner is brighter than the top-left.
    assert got.gray[-5:, -5:].mean() > got.gray[:5, :5].mean() + 0.3
    assert imaging.load(path, 64).gray is None


def test_one_pixel_image_is_upscaled(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (1, 1), BLUE), tmp_path / "dot.png")
    got = imaging.load(path, 32, want_gray=True)
    assert got.pixels.shape == (32, 32, 3) and _close(got.pixels[16, 16], BLUE, tol=0)
    assert (got.width, got.height) == (1, 1)
    assert got.gray is not None and got.gray.shape == (imaging.WORK_SIZE, imaging.WORK_SIZE)


def test_bad_size_or_fit_is_a_programming_error(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (8, 8)), tmp_path / "a.png")
    with pytest.raises(ValueError):
        imaging.load(path, 0)
    with pytest.raises(ValueError):
        imaging.load(path, 8, fit="stretch")  # type: ignore[arg-type]


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(("fmt", "ext"), [("GIF", "gif"), ("WEBP", "webp")])
def test_animation_gives_its_first_frame(tmp_path: Path, fmt: str, ext: str) -> None:
    frames = [Image.new("RGB", (16, 16), RED), Image.new("RGB", (16, 16), BLUE)]
    path = tmp_path / f"anim.{ext}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100)
    got = imaging.load(path, 8)
    assert got.format == fmt
    assert _close(got.pixels[4, 4], RED, tol=16)


def test_other_formats_report_their_name(tmp_path: Path) -> None:
    bmp = imaging.load(_save(Image.new("RGB", (8, 8), RED), tmp_path / "a.bmp"), 8)
    tif = imaging.load(_save(Image.new("RGB", (8, 8), RED), tmp_path / "a.tif"), 8)
    assert (bmp.format, tif.format) == ("BMP", "TIFF")
    assert _close(bmp.pixels[4, 4], RED, tol=0)


def test_multi_picture_jpeg_reports_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "stereo.jpg"
    left, right = Image.new("RGB", (16, 16), RED), Image.new("RGB", (16, 16), BLUE)
    left.save(path, format="MPO", save_all=True, append_images=[right])
    got = imaging.load(path, 8)
    assert got.format == "JPEG"
    assert _close(got.pixels[4, 4], RED)


def test_heic_round_trip_with_metadata(tmp_path: Path) -> None:
    exif = _exif(DateTimeOriginal="2023:07:14 18:30:05", OffsetTimeOriginal="+02:00")
    path = _save_heic(Image.new("RGB", (64, 48), RED), tmp_path / "IMG_0001.HEIC", exif)
    got = imaging.load(path, 32)
    assert got.format == "HEIF"
    assert (got.width, got.height) == (64, 48)
    assert _close(got.pixels[16, 16], RED, tol=20)
    assert got.metadata["container"] == "heif"
    assert got.metadata["Exif.Photo.DateTimeOriginal"] == "2023:07:14 18:30:05"
    assert imaging.read_metadata(path) == got.metadata


def test_register_heif_is_idempotent() -> None:
    imaging.register_heif()
    imaging.register_heif()
    assert "HEIF" in Image.OPEN


def test_postscript_is_refused_without_running_ghostscript(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (8, 8), RED), tmp_path / "a.eps", format="EPS")
    assert _load_error(path).reason == "not an image"


# ---------------------------------------------------------------- metadata


def test_exif_dating_fields_from_both_ifds(tmp_path: Path) -> None:
    exif = _exif(
        DateTimeOriginal="2024:02:29 23:59:58\x00",
        SubsecTimeOriginal="042 ",
        OffsetTimeOriginal="-05:00",
        DateTimeDigitized="2024:02:29 23:59:59",
    )
    exif[ExifTags.Base.Make] = "  Acme\x00\x00"
    exif[ExifTags.Base.Model] = "Snap 3"
    exif[ExifTags.Base.Software] = "firmware 1.2"
    exif[ExifTags.Base.DateTime] = "2024:03:01 10:00:00"
    path = _save(_halves(), tmp_path / "dated.jpg", exif=exif)
    expected = {
        "Exif.Photo.DateTimeOriginal": "2024:02:29 23:59:58",
        "Exif.Photo.SubSecTimeOriginal": "042",
        "Exif.Photo.OffsetTimeOriginal": "-05:00",
        "Exif.Photo.DateTimeDigitized": "2024:02:29 23:59:59",
        "Exif.Image.Make": "Acme",
        "Exif.Image.Model": "Snap 3",
        "Exif.Image.DateTime": "2024:03:01 10:00:00",
        "Make": "Acme",
        "Model": "Snap 3",
    }
    assert imaging.load(path, 16).metadata == expected
    assert imaging.read_metadata(path) == expected


def test_non_utf8_bytes_are_decoded_safely(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = b"Caf\xe9\x00"
    path = _save(_halves(), tmp_path / "latin.jpg", exif=exif)
    assert imaging.read_metadata(path) == {"Exif.Image.Make": "Café", "Make": "Café"}


def test_garbage_exif_never_fails_the_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    """Pillow's "Corrupt EXIF data" warning goes to the DEBUG log with the photo's path, not
    to Python's warning display (stderr, no path)."""
    path = _save(_halves(), tmp_path / "junk.jpg", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xffjunk")
    with caplog.at_level(logging.DEBUG, logger="photosieve"):
        got = imaging.load(path, 16)
    assert got.metadata == {}
    assert _close(got.pixels[8, 2], RED)
    assert not [w for w in recwarn if "EXIF" in str(w.message)]
    noted = [r for r in caplog.records if r.name == "photosieve.decode"]
    assert noted and all(r.levelno == logging.DEBUG for r in noted)
    assert f"Pillow on {path}: Corrupt EXIF data" in noted[0].getMessage()


def test_read_metadata_decodes_no_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(_halves(), tmp_path / "a.jpg", exif=_exif(DateTimeOriginal="2020:01:01 00:00:00"))

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert imaging.read_metadata(path) == {"Exif.Photo.DateTimeOriginal": "2020:01:01 00:00:00"}


# ---------------------------------------------------------------- bad input


def _tiff_with_samples_per_pixel(path: Path, samples: int) -> Path:
    """An RGB TIFF whose SamplesPerPixel tag says `samples`: Pillow logs an ERROR record about
    it (logger PIL.TiffImagePlugin), then cannot identify the file."""
    _save(Image.new("RGB", (4, 4)), path)
    data = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for entry in range(struct.unpack_from("<H", data, ifd)[0]):
        offset = ifd + 2 + 12 * entry
        if struct.unpack_from("<H", data, offset)[0] == 277:
            struct.pack_into("<H", data, offset + 8, samples)
    path.write_bytes(data)
    return path


def test_pillow_log_record_joins_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Pillow's own ERROR line (no path, on stderr) becomes the detail of the photo's reason
    and a DEBUG line naming the photo."""
    path = _tiff_with_samples_per_pixel(tmp_path / "spp.tif", 65535)
    with caplog.at_level(logging.DEBUG):
        error = _load_error(path)
    detail = "More samples per pixel than can be decoded: 65535"
    assert error.reason == f"not an image; {detail}"
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("photosieve.decode", logging.DEBUG, f"Pillow on {path}: {detail}")
    ]


def test_libtiff_error_joins_the_reason_not_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """libtiff writes its errors to file descriptor 2 from C; they become the reason's detail."""
    path = _save(
        Image.new("RGB", (8, 8)), tmp_path / "deflate.tif", compression="tiff_adobe_deflate"
    )
    data = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for entry in range(struct.unpack_from("<H", data, ifd)[0]):
        offset = ifd + 2 + 12 * entry
        if struct.unpack_from("<H", data, offset)[0] == 279:  # StripByteCounts: 1 MiB
            struct.pack_into("<I", data, offset + 8, 1 << 20)
    path.write_bytes(data)
    error = _load_error(path)
    assert error.reason.startswith("corrupt: decoder error -2; libtiff TIFFFillStrip: Read error")
    assert "TIFF" not in capfd.readouterr().err


def test_a_reason_is_capped(tmp_path: Path) -> None:
    """Reasons quote libraries, which may quote the file: at most MAX_REASON_CHARS of it."""
    error = BadInput(tmp_path / "a.jpg", "corrupt: " + "x" * 5000)
    assert error.reason == "corrupt: " + "x" * 291 + "… (+4709 characters)"
    assert str(error) == f"{tmp_path / 'a.jpg'}: {error.reason}"


def test_png_with_a_large_icc_profile_loads(tmp_path: Path) -> None:
    """A 1.5 MB ICC profile (Exiv2's ReaganLargePng.png has 1.15 MB) was over Pillow's 1 MB
    limit on a decompressed chunk, and the valid photo refused as corrupt."""
    profile = bytes(range(256)) * 6000  # 1.5 MB, a few kB compressed
    path = _save(Image.new("RGB", (40, 30), RED), tmp_path / "icc.png", icc_profile=profile)
    assert _close(imaging.load(path, 16).pixels[8, 8], RED)
    with Image.open(path) as img:
        assert img.info["icc_profile"] == profile


def test_png_chunk_bomb_is_still_refused(tmp_path: Path) -> None:
    profile = bytes(imaging.MAX_PNG_CHUNK + 1)
    path = _save(Image.new("RGB", (4, 4)), tmp_path / "bomb.png", icc_profile=profile)
    assert path.stat().st_size < 100_000
    assert _load_error(path).reason == (
        "corrupt: Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"
    )


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    assert _load_error(path).reason == "empty file"


def test_text_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n" * 20)
    assert _load_error(path).reason == "not an image"
    with pytest.raises(BadInput, match="not an image"):
        imaging.read_metadata(path)


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "album.jpg"
    path.mkdir()
    assert _load_error(path).reason == "not a regular file"


def test_missing_file(tmp_path: Path) -> None:
    assert _load_error(tmp_path / "gone.jpg").reason == "not found"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    outcome: list[BaseException | imaging.Decoded] = []

    def attempt() -> None:
        try:
            outcome.append(imaging.load(path, 32))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt)
    worker.start()
    worker.join(timeout=5)
    blocked = worker.is_alive()
    if blocked:  # stuck in open(): give it a writer so the thread can end and be joined
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
    assert not blocked
    assert len(outcome) == 1 and isinstance(outcome[0], BadInput)
    assert outcome[0].reason == "not a regular file"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(_halves(), tmp_path / "secret.jpg")
    real_open = os.open

    def denying_open(target: object, flags: int, *args: object) -> int:
        if Path(str(target)) == path:
            raise PermissionError(13, "Permission denied", str(target))
        return real_open(target, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(imaging.os, "open", denying_open)
    assert _load_error(path).reason == "unreadable: permission denied"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = _save(_halves(), tmp_path / "secret.jpg")
    path.chmod(0)
    assert _load_error(path).reason == "unreadable: permission denied"


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif")])
def test_truncated(tmp_path: Path, fmt: str, ext: str) -> None:
    whole = _save(_noisy(300, 200), tmp_path / f"whole.{ext}", format=fmt)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert _load_error(cut).reason == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_heic_is_bad_input(tmp_path: Path) -> None:
    whole = _save_heic(_noisy(128, 96), tmp_path / "whole.heic")
    cut = tmp_path / "cut.heic"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert _load_error(cut).reason in {"truncated", "not an image"}


def _png_claiming(tmp_path: Path, width: int, height: int) -> Path:
    """A tiny real PNG whose IHDR (and its CRC) is rewritten to claim a huge size."""
    data = bytearray(_save(Image.new("1", (1, 1)), tmp_path / "tiny.png").read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    return path


def test_decompression_bomb_header(tmp_path: Path) -> None:
    path = _png_claiming(tmp_path, 30000, 30000)
    assert path.stat().st_size < 200
    assert _load_error(path).reason == "decompression bomb: 900000000 pixels"
    with pytest.raises(BadInput, match="decompression bomb"):
        imaging.read_metadata(path)


def test_pillow_bomb_warning_becomes_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(Image.new("RGB", (40, 40)), tmp_path / "big.png")  # 1600 px: warning zone
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    filters_before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # must not matter: the loader decides, not the caller
        assert _load_error(path).reason == "decompression bomb: 1600 pixels"
    assert warnings.filters == filters_before


def test_own_pixel_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(Image.new("RGB", (20, 20)), tmp_path / "a.png")
    monkeypatch.setattr(imaging, "MAX_PIXELS", 399)
    assert _load_error(path).reason == "decompression bomb: 400 pixels"
    assert imaging.MAX_PIXELS != Image.MAX_IMAGE_PIXELS


# ---------------------------------------------------------------- load_many


def test_load_many_keeps_order_and_returns_bad_files(tmp_path: Path) -> None:
    colours = [RED, GREEN, BLUE, (200, 200, 0), (0, 200, 200)]
    paths = [
        _save(Image.new("RGB", (40, 30), c), tmp_path / f"{i}.jpg") for i, c in enumerate(colours)
    ]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    paths.insert(2, bad)
    libnoise.install()  # once, at start (the CLI does); after that decoding swaps no filters
    filters_before = list(warnings.filters)
    results = imaging.load_many(paths, 16, want_gray=True, workers=3)
    assert warnings.filters == filters_before
    assert isinstance(results[2], BadInput) and results[2].path == bad
    good = [r for r in results if isinstance(r, imaging.Decoded)]
    assert len(good) == 5
    for result, colour in zip(good, colours, strict=True):
        assert _close(result.pixels[8, 8], colour)
        assert result.gray is not None


def test_load_many_of_nothing() -> None:
    assert imaging.load_many([], 16) == []
