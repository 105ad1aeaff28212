"""What a file name says, before anything is read: a photo format or not, hidden or temporary
(a watcher must skip it), and which of its siblings are its sidecars and how they follow a
new name. Pure string functions, shared by naming.py (which re-exports them), the watcher and
the mover; nothing here touches the file system.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "RAW_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "basename",
    "is_hidden_or_temp",
    "is_supported",
    "is_video",
    "sidecar_names",
    "sidecar_target",
    "split_name",
]

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".heic", ".heif", ".hif", ".webp", ".tif", ".tiff"}
)
RAW_EXTENSIONS: frozenset[str] = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"}
)
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".mov", ".3gp", ".m4v", ".mkv", ".avi", ".qt", ".3g2"}
)
_SIDECAR_EXTENSIONS = frozenset({".xmp", ".aae"})
# A Live Photo is a still and a short video of the same stem; the video travels with the still.
_LIVE_STILLS = frozenset({".heic", ".heif", ".hif", ".jpg", ".jpeg"})
_LIVE_VIDEOS = frozenset({".mov", ".mp4"})
# A RAW travels only with the camera's own rendering of it.
_RAW_COMPANIONS = frozenset({".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif"})

_TEMP_SUFFIXES: tuple[str, ...] = (".part", ".crdownload", ".tmp", ".temp", ".download", ".partial")
_TEMP_SUFFIXES += (".!sync", ".!qb")  # Resilio Sync, qBittorrent
_JUNK_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store"})
_JUNK_DIRS = frozenset({"@eadir", "#recycle", "#snapshot", "$recycle.bin"})


def split_name(name: str) -> tuple[str, str]:
    """("IMG_1.MP", "jpg") for "IMG_1.MP.jpg"; a leading dot is not an extension."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem.strip(".") or not ext:
        return name, ""
    return stem, ext


def basename(name: str) -> str:
    """The last "/" level; a backslash is a character of Linux names, not a separator."""
    return name.rsplit("/", 1)[-1]


def _same_name(a: str, b: str) -> bool:
    """Same stem exactly, extension compared case-insensitively."""
    a_stem, a_ext = split_name(a)
    b_stem, b_ext = split_name(b)
    return a_stem == b_stem and a_ext.lower() == b_ext.lower()


def _suffix(name: str) -> str:
    """The lower-cased final extension with its dot, "" if none."""
    ext = split_name(name)[1]
    return f".{ext.lower()}" if ext else ""


def sidecar_names(photo_name: str, siblings: Iterable[str]) -> list[str]:
    """Names among ``siblings`` that must move together with ``photo_name``.

    XMP/AAE sidecars named "IMG_1.xmp" or "IMG_1.jpg.xmp"; a RAW of the same
    stem when the photo is the camera's JPEG/HEIC; the video half of a Live
    Photo ("IMG_1.MOV" with "IMG_1.HEIC": same stem; see video.live_photo_still); and the
    RAW's and the video's own sidecars. Stems are compared exactly, extensions
    case-insensitively. Sorted.
    """
    stem, ext = split_name(photo_name)
    names = [s for s in siblings if s != photo_name]
    takes_raw = f".{ext.lower()}" in _RAW_COMPANIONS
    raws = [n for n in names if split_name(n)[0] == stem and _suffix(n) in RAW_EXTENSIONS]
    owners = [photo_name, *raws] if takes_raw else [photo_name]
    found = set(raws) if takes_raw else set()
    if f".{ext.lower()}" in _LIVE_STILLS:
        live = [n for n in names if split_name(n)[0] == stem and _suffix(n) in _LIVE_VIDEOS]
        found.update(live)
        owners += live
    for sibling in names:
        sib_stem = split_name(sibling)[0]
        if _suffix(sibling) not in _SIDECAR_EXTENSIONS:
            continue
        if sib_stem == stem or any(_same_name(sib_stem, owner) for owner in owners):
            found.add(sibling)
    return sorted(found)


def sidecar_target(sidecar_name: str, photo_name: str, new_photo_name: str) -> str:
    """The sidecar's new name after ``photo_name`` became ``new_photo_name``.

    "IMG_1.jpg.xmp" follows the full new name; "IMG_1.xmp", "IMG_1.CR2" and
    "IMG_1.CR2.xmp" follow the new stem. The sidecar's own suffix keeps its case.
    """
    stem, _ = split_name(photo_name)
    new_stem, _ = split_name(new_photo_name)
    sidecar_stem, sidecar_ext = split_name(sidecar_name)
    if sidecar_ext and _same_name(sidecar_stem, photo_name):
        return f"{new_photo_name}.{sidecar_ext}"
    if sidecar_name.startswith(f"{stem}.") and sidecar_name != photo_name:
        return new_stem + sidecar_name[len(stem) :]
    raise ValueError(f"{sidecar_name!r} is not a sidecar of {photo_name!r}")


def is_hidden_or_temp(name: str) -> bool:
    """True for names a watcher must ignore: hidden, partial, temporary or NAS junk.

    ``name`` may be a relative path; any hidden or NAS-metadata level counts.
    Covers dot-files (incl. Syncthing ".syncthing.*.tmp", rsync ".name.XXXXXX",
    ".goutputstream-*"), download/sync suffixes, "~" backups, Office "~$" locks,
    Thumbs.db / .DS_Store / desktop.ini and Synology "@eaDir".
    """
    levels = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not levels:
        return True
    for level in levels:
        if level.startswith(".") or level.lower() in _JUNK_DIRS:
            return True
    last = levels[-1]
    lowered = last.lower()
    return (
        lowered.endswith(_TEMP_SUFFIXES)
        or last.endswith("~")
        or last.startswith("~$")
        or lowered in _JUNK_NAMES
        or "@syno" in lowered  # Synology "IMG_1.jpg@SynoEAStream" streams
    )


def is_video(name: str) -> bool:
    """True if the extension (any case) is a video container photosieve files by date."""
    return _suffix(basename(name)) in VIDEO_EXTENSIONS


def is_supported(name: str) -> bool:
    """True if the extension (any case) is a photo format photosieve handles."""
    _, ext = split_name(basename(name))
    return bool(ext) and f".{ext.lower()}" in SUPPORTED_EXTENSIONS
