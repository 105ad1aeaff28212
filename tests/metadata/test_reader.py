"""The metadata reader: keys, sidecars, formats and names, on files written here and real ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from photosieve.metadata import legacy, pillow_exif, reader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    "{attrs}/></rdf:RDF></x:xmpmeta>"
)


def xmp(**attrs: str) -> str:
    return XMP.format(attrs=" ".join(f'{key.replace("_", ":")}="{v}"' for key, v in attrs.items()))


def jpeg(path: Path, *, original: str | None = None, packet: str | None = None) -> Path:
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Acme", "Snap 3"
    if original:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = original
    extra = {"xmp": packet.encode()} if packet else {}
    Image.new("RGB", (16, 12), (200, 10, 10)).save(path, exif=exif, **extra)
    return path


def test_exif_and_xmp_come_back_under_libexiv2_keys(tmp_path: Path) -> None:
    packet = xmp(xmp_CreateDate="2024-05-03T14:22:10+02:00", xmp_Rating="4")
    got = reader.read(jpeg(tmp_path / "a.jpg", original="2024:05:03 14:22:10", packet=packet))
    assert got["Exif.Photo.DateTimeOriginal"] == "2024:05:03 14:22:10"
    assert got["Xmp.xmp.CreateDate"] == "2024-05-03T14:22:10+02:00"
    assert got["Xmp.xmp.Rating"] == "4"
    assert (got["Make"], got["Model"]) == ("Acme", "Snap 3")


def test_real_camera_file_gives_make_model_and_iptc() -> None:
    got = reader.read(FIXTURES / "exiftool" / "MWG.jpg")
    assert got["Iptc.Application2.DateCreated"] == "1992-01-01"
    assert got["Exif.Photo.SubSecTimeOriginal"] == "111"
    canon = reader.read(FIXTURES / "exiftool" / "Canon.jpg")
    assert (canon["Make"], canon["Model"]) == ("Canon", "Canon EOS DIGITAL REBEL")


def test_maker_note_dates_are_kept_in_printed_form() -> None:
    got = reader.read(FIXTURES / "exiftool" / "Pentax.jpg")
    assert (got["Exif.Pentax.Date"], got["Exif.Pentax.Time"]) == ("2008:03:02", "12:01:23")


def test_heif_png_webp_tiff_go_through_the_same_reader() -> None:
    heic = reader.read(FIXTURES / "exiv2" / "Stonehenge.heic")
    assert heic["container"] == "heif"
    assert heic["Exif.Photo.DateTimeOriginal"] == "2015:07:16 15:38:54"
    png = reader.read(FIXTURES / "exiv2" / "ReaganSmallPng.png")
    assert png["Exif.Photo.DateTimeOriginal"] == "2004:06:21 23:37:53"
    tiff = reader.read(FIXTURES / "exiftool" / "ExifTool.tif")
    assert tiff["Exif.Image.DateTime"] == "2004:02:20 08:07:49"
    webp = reader.read(FIXTURES / "exiftool" / "RIFF.webp")
    assert "container" not in webp


def test_cif_and_qvci_blocks() -> None:
    assert legacy.read(FIXTURES / "exiftool" / "ExifTool.jpg") == {
        legacy.CIFF_KEY: "1998:05:01 21:33:18"
    }
    assert legacy.read(FIXTURES / "exiftool" / "CasioQVCI.jpg") == {
        legacy.QVCI_KEY: "1998:10:24 12:08:57"
    }
    assert legacy.read(FIXTURES / "exiftool" / "Canon.jpg") == {}


@pytest.mark.parametrize("sidecar", ["a.xmp", "a.jpg.xmp", "a.JPG.XMP"])
def test_sidecar_xmp_is_read_and_wins_over_the_embedded_packet(
    tmp_path: Path, sidecar: str
) -> None:
    name = "a.JPG" if sidecar.endswith("XMP") else "a.jpg"
    photo = jpeg(tmp_path / name, packet=xmp(xmp_Rating="1"))
    (tmp_path / sidecar).write_text(
        xmp(xmp_Rating="-1", exif_DateTimeOriginal="2001-02-03T04:05:06")
    )
    got = reader.read(photo)
    assert got["Xmp.xmp.Rating"] == "-1"
    assert got["Xmp.exif.DateTimeOriginal"] == "2001-02-03T04:05:06"


def test_name_ext_sidecar_wins_over_name_sidecar(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "a.jpg")
    (tmp_path / "a.xmp").write_text(xmp(xmp_Rating="2"))
    (tmp_path / "a.jpg.xmp").write_text(xmp(xmp_Rating="5"))
    assert reader.sidecars_of(photo) == [tmp_path / "a.xmp", tmp_path / "a.jpg.xmp"]
    assert reader.read(photo)["Xmp.xmp.Rating"] == "5"


def test_a_sidecar_cannot_bring_exif(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "b.jpg")
    # A JPEG posing as a sidecar: only XMP properties of sidecars are taken.
    jpeg(tmp_path / "posing.jpg", original="1999:01:01 00:00:00").rename(tmp_path / "b.jpg.xmp")
    assert "Exif.Photo.DateTimeOriginal" not in reader.read(photo)


def test_a_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.jpg"
    jpeg(Path(os.fsdecode(raw)), original="2020:01:01 10:00:00")
    assert reader.read(Path(os.fsdecode(raw)))["Exif.Photo.DateTimeOriginal"] == (
        "2020:01:01 10:00:00"
    )


def test_latin1_exif_text_is_decoded(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = b"Caf\xe9\x00"
    path = tmp_path / "latin.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif)
    assert reader.read(path)["Make"] == "Café"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert reader.read(fifo) == {}


def test_pillow_fallback_uses_the_same_keys(tmp_path: Path) -> None:
    path = jpeg(tmp_path / "c.jpg", original="2010:10:10 10:10:10")
    via_pillow = pillow_exif.read(path)
    assert via_pillow["Exif.Photo.DateTimeOriginal"] == "2010:10:10 10:10:10"
    assert set(via_pillow) <= set(reader.read(path))


def test_clean_strips_padding_and_junk_after_nul() -> None:
    assert pillow_exif.clean(b"  Acme\x00junk") == "Acme"
    assert pillow_exif.clean("2024:05:03 14:22:10\x00\x00 ") == "2024:05:03 14:22:10"
    assert pillow_exif.clean(42) == ""


def test_make_and_model_templates_come_from_the_reader(tmp_path: Path) -> None:
    from datetime import datetime

    from photosieve import naming

    canon = reader.read(FIXTURES / "exiftool" / "Canon.jpg")
    taken = datetime(2003, 12, 4, 6, 46, 52)
    assert naming.render_name("{make}_{model}_{stem}", taken, "Canon.jpg", canon) == (
        "Canon_Canon EOS DIGITAL REBEL_Canon.jpg"
    )
    # Only XMP names the camera: tiff:Make / tiff:Model stand in.
    path = tmp_path / "x.jpg"
    Image.new("RGB", (8, 8)).save(
        path,
        xmp=xmp(tiff_Make="Fuji", tiff_Model="X100")
        .replace("xmlns:exif=", 'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif=')
        .encode(),
    )
    assert str(naming.render_folder("{make}/{model}", taken, reader.read(path))) == "Fuji/X100"


def test_xmp_is_read_when_libexiv2_refuses_the_exif(tmp_path: Path) -> None:
    """An EXIF segment whose TIFF header is junk (Pillow's invalid-exif.jpg, a Photoshop save)
    makes libexiv2 refuse the whole file; the Pillow fallback reads no XMP, so the packet's
    xmp:CreateDate was lost and the photo dated by its mtime (exiftool: the XMP date)."""
    path = tmp_path / "bad-exif.jpg"
    bad_exif = b"Exif\x00\x00\xff\xff\xff\xff\x00\x00\x00\x08" + bytes(24)
    packet = xmp(xmp_CreateDate="2017-03-13T23:03:09-07:00")
    Image.new("RGB", (16, 12), (10, 200, 10)).save(path, exif=bad_exif, xmp=packet.encode())
    got = reader.read(path)
    assert got["Xmp.xmp.CreateDate"] == "2017-03-13T23:03:09-07:00"
    assert not any(key.startswith(("Exif.", "Iptc.")) for key in got)  # none came from the XMP
