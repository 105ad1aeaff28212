"""The XMP write-back, pure part: a rejection merged into a sidecar and taken out again leaves
every property another app wrote as it was. Compared as RDF (pure XML, no exiftool needed) and,
where exiftool is installed, as exiftool reads the files."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photosieve.metadata import xmp_sidecar as xs

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XMP_NS = "{http://ns.adobe.com/xap/1.0/}"
OURS = "{" + xs.NS_URI + "}"
DIGIKAM = "{http://www.digikam.org/ns/1.0/}"

# What darktable, digiKam and Lightroom write, as their files look (shortened).
OWNER = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:acme="http://acme.example/ns/"
    xmp:Rating="3"
    xmp:Label="Red"
    darktable:xmp_version="5"
    digiKam:ColorLabel="2"
    acme:Thing="x &amp; y &lt;z&gt;">
   <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>beach</rdf:li></rdf:Bag></dc:subject>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Sunset</rdf:li>
    <rdf:li xml:lang="de-DE">Sonnenuntergang</rdf:li></rdf:Alt></dc:title>
   <darktable:history><rdf:Seq>
    <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    <rdf:li darktable:operation="colorin" darktable:enabled="0"/>
   </rdf:Seq></darktable:history>
   <digiKam:TagsList><rdf:Seq><rdf:li>People/Anna</rdf:li></rdf:Seq></digiKam:TagsList>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>People|Anna</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _value(node: ET.Element) -> object:
    """A property's value: text, a container's items, or a struct's fields, order kept for Seq."""
    container = next(iter(node), None)
    if container is None:
        attrs = {k: v for k, v in node.attrib.items() if not k.startswith(RDF)}
        return tuple(sorted(attrs.items())) if attrs else (node.text or "").strip()
    if container.tag in (f"{RDF}Seq", f"{RDF}Bag", f"{RDF}Alt"):
        items = tuple(
            (tuple(sorted(li.attrib.items())), _value(li)) for li in container.iter(f"{RDF}li")
        )
        return (container.tag, items if container.tag == f"{RDF}Seq" else tuple(sorted(items)))
    return _value(container)


def properties(packet: bytes) -> dict[str, object]:
    """Every top-level RDF property of the packet, attribute form or element form alike."""
    root = ET.fromstring(
        packet.decode("utf-8").split("?>", 1)[1] if packet.startswith(b"<?") else packet
    )
    found: dict[str, object] = {}
    for desc in root.iter(f"{RDF}Description"):
        for key, value in desc.attrib.items():
            if not key.startswith(RDF):
                found[key] = value
        for child in desc:
            found[child.tag] = _value(child)
    return found


def test_a_new_sidecar_says_rejected_with_score_and_reasons() -> None:
    packet = xs.rejected_packet(None, score=0.9312, reasons=["blurred", "model 0.93"], model="v3")
    props = properties(packet)
    assert props[f"{XMP_NS}Rating"] == "-1" and props[f"{DIGIKAM}PickLabel"] == "1"
    assert props[f"{OURS}Decision"] == "discard"
    assert props[f"{OURS}Score"] == "0.931"
    assert props[f"{OURS}Model"] == "v3"
    assert props[f"{OURS}Reasons"] == (f"{RDF}Seq", (((), "blurred"), ((), "model 0.93")))
    assert f"{OURS}PriorRating" not in props
    assert properties(xs.kept_packet(packet) or b"") == {}


def test_merge_keeps_every_owner_property_and_keep_restores_them_exactly() -> None:
    before = properties(OWNER)
    rejected = properties(xs.rejected_packet(OWNER, score=0.8, reasons=["dark"]))
    changed = {k for k in before if rejected.get(k) != before[k]}
    assert changed == {f"{XMP_NS}Rating"}
    assert rejected[f"{XMP_NS}Rating"] == "-1" and rejected[f"{OURS}PriorRating"] == "3"
    assert rejected[f"{DIGIKAM}PickLabel"] == "1" and f"{OURS}PriorPickLabel" not in rejected
    kept = xs.kept_packet(xs.rejected_packet(OWNER, score=0.8, reasons=["dark"]))
    assert kept is not None and properties(kept) == before


def test_rejecting_twice_remembers_the_owners_rating_not_ours() -> None:
    twice = xs.rejected_packet(
        xs.rejected_packet(OWNER, score=0.8, reasons=["a"]), score=0.9, reasons=[]
    )
    props = properties(twice)
    assert props[f"{OURS}PriorRating"] == "3" and props[f"{OURS}Score"] == "0.900"
    assert f"{OURS}Reasons" not in props
    assert properties(xs.kept_packet(twice) or b"")[f"{XMP_NS}Rating"] == "3"


def test_a_rating_the_owner_gave_since_is_theirs() -> None:
    rejected = xs.rejected_packet(OWNER, score=0.8, reasons=[])
    rerated = rejected.replace(b'xmp:Rating="-1"', b'xmp:Rating="5"')
    rerated = rerated.replace(b'digiKam:PickLabel="1"', b'digiKam:PickLabel="3"')
    assert xs.value(rerated, xs.RATING) == "5" and xs.value(rerated, xs.PICK_LABEL) == "3"
    kept = properties(xs.kept_packet(rerated) or b"")
    assert kept[f"{XMP_NS}Rating"] == "5" and kept[f"{DIGIKAM}PickLabel"] == "3"
    assert not any(k.startswith(OURS) for k in kept)


def test_a_sidecar_photosieve_never_marked_is_left_alone() -> None:
    assert xs.kept_packet(OWNER) is None


@pytest.mark.parametrize("bad", [b"not xml", b"<x:xmpmeta><rdf:RDF", b"\xff\xfe\x00junk", b"{}"])
def test_an_unreadable_sidecar_is_never_clobbered(bad: bytes) -> None:
    with pytest.raises(xs.XmpUnreadable):
        xs.rejected_packet(bad, score=0.9, reasons=[])


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=20,
)


@given(
    rating=st.one_of(st.none(), st.sampled_from(["-1", "0", "1", "2", "5"])),
    pick=st.one_of(st.none(), st.sampled_from(["0", "1", "2", "3"])),
    words=st.lists(_text.filter(lambda t: t.strip() == t and t), max_size=4, unique=True),
    note=_text.filter(lambda t: t.strip() == t),
)
def test_keep_undoes_reject_for_any_owner_sidecar(
    rating: str | None, pick: str | None, words: list[str], note: str
) -> None:
    from xml.sax.saxutils import escape, quoteattr

    rated = f" xmp:Rating={quoteattr(rating)}" if rating is not None else ""
    rated += f" digiKam:PickLabel={quoteattr(pick)}" if pick is not None else ""
    items = "".join(f"<rdf:li>{escape(w)}</rdf:li>" for w in words)
    subject = f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>" if words else ""
    owner = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        'rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:acme="http://acme.example/ns/" '
        f'xmlns:digiKam="http://www.digikam.org/ns/1.0/"{rated} '
        f"acme:Note={quoteattr(note)}>{subject}</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    rejected = xs.rejected_packet(owner, score=0.5, reasons=[note] if note else [])
    assert properties(rejected)[f"{XMP_NS}Rating"] == "-1"
    assert properties(rejected)[f"{DIGIKAM}PickLabel"] == "1"
    kept = xs.kept_packet(rejected)  # an owner's own -1 comes back as -1: it stays rejected
    assert kept is not None and properties(kept) == properties(owner)


EXIFTOOL = shutil.which("exiftool")


def _exiftool(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [EXIFTOOL or "exiftool", "-j", "-struct", "-G1", "-XMP:all", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    tags: dict[str, object] = json.loads(out)[0]
    tags.pop("SourceFile")
    return tags


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed (CI installs it)")
def test_exiftool_sees_the_rejection_and_every_owner_tag(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.jpg"
    photo.write_bytes(b"not read")
    car = tmp_path / "IMG_1.jpg.xmp"
    car.write_bytes(OWNER)
    before = _exiftool(car)
    cars = xs.sync(_enabled(), photo, [car], "discard", score=0.87, reasons=["blurred", "dark"])
    assert cars == [car]
    after = _exiftool(car)
    assert after["XMP-xmp:Rating"] == -1
    assert after["XMP-digiKam:PickLabel"] == 1
    assert after["XMP-photosieve:Score"] == 0.87
    assert after["XMP-photosieve:Reasons"] == ["blurred", "dark"]
    assert {k: v for k, v in after.items() if k in before and k != "XMP-xmp:Rating"} == {
        k: v for k, v in before.items() if k != "XMP-xmp:Rating"
    }
    xs.sync(_enabled(), photo, [car], "keep")
    assert _exiftool(car) == before


def _enabled() -> object:
    from photosieve.config import Config, MetadataConfig

    return Config(metadata=MetadataConfig(write_xmp="sidecar"))
