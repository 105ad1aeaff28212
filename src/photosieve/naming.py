"""File naming: target names and folders from templates, sanitising, collisions. What a name
says (photo format, hidden or temporary, sidecars) is filekinds.py.

Pure string functions; nothing here touches the file system. Templates use
``str.format`` syntax with a closed set of fields: ``taken`` (a datetime; the
format spec is a strftime pattern), ``stem``, ``ext``, ``make``, ``model`` and
``source``. Every field value and every final name is sanitised, so EXIF
metadata can never smuggle a path separator or control character into a path.
Stamping is idempotent: a name that already carries the template's stamp is
returned as it is (only its extension lower-cased).

New names are valid UTF-8. A byte of the original name that is not UTF-8 (a lone
surrogate after os.fsdecode) is read as Windows-1252, the likeliest source of
such names (old cameras, Windows shares), so "caf\xe9.jpg" becomes "café"; the
five bytes 1252 leaves undefined become "_". A rendered name leaves room for a
sidecar suffix (".xmp") and the largest collision counter ("-1000") within 255
bytes: the stem is shortened, never the extension.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import PurePosixPath
from string import Formatter

from photosieve.filekinds import basename as _basename
from photosieve.filekinds import split_name as _split_name

DEFAULT_NAME_TEMPLATE = "{taken:%Y-%m-%d_%H-%M-%S}_{stem}"
DEFAULT_FOLDER_TEMPLATE = "{taken:%Y}/{taken:%m}"
# What a bare "{taken}" means: the stamp format, never str(datetime) with colons.
DEFAULT_TAKEN_FORMAT = "%Y-%m-%d_%H-%M-%S"

NAME_FIELDS = frozenset({"taken", "stem", "ext", "make", "model", "source"})
# Folders are rendered without an original file name, so stem/ext do not exist there.
FOLDER_FIELDS = NAME_FIELDS - {"stem", "ext"}

MAX_NAME_BYTES = 255
# Room kept in every rendered name for a sidecar's ".xmp" and candidate_names' "-1000".
NAME_ROOM = len(".xmp") + len("-1000")
MAX_RENDERED_BYTES = MAX_NAME_BYTES - NAME_ROOM
UNKNOWN = "unknown"


# Separators, C0/C1 controls, lone surrogates (undecodable bytes), characters
# exFAT/SMB reject, and bidi overrides that can disguise an extension.
_BAD_CHARS = re.compile(
    '[\x00-\x1f\x7f-\x9f/\\\\:*?"<>|\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]+'
)
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
)
_PAD = " \t\r\n\x00"
_UNDECODED = re.compile("[\udc80-\udcff]")


# strftime directive -> regex of what it renders (C locale), for is_stamped.
_DIRECTIVE_RES = {
    "Y": r"\d{4}",
    "G": r"\d{4}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "y": r"\d{2}",
    "I": r"\d{2}",
    "U": r"\d{2}",
    "W": r"\d{2}",
    "V": r"\d{2}",
    "j": r"\d{3}",
    "f": r"\d{6}",
    "u": r"\d",
    "w": r"\d",
    "e": r"[ \d]\d",
    "a": r"[A-Za-z]+",
    "A": r"[A-Za-z]+",
    "b": r"[A-Za-z]+",
    "B": r"[A-Za-z]+",
    "h": r"[A-Za-z]+",
    "p": r"[A-Za-z]+",
    "%": "%",
}
# Directives strptime can verify; other specs are trusted on the regex alone.
_CHECKABLE = frozenset("YmdHMSyjfaAbBpI%")
_DIRECTIVE = re.compile(r"%([-#]?)(.)", re.DOTALL)

_Part = tuple[str, str | None, str]  # literal, field name, format spec


def sanitize_component(text: str) -> str:
    """Make ``text`` safe as one path component on Linux, exFAT and SMB shares.

    Runs of forbidden characters become one "_"; leading/trailing dots and
    whitespace go; the result is capped at 255 UTF-8 bytes on a character
    boundary, is never empty, "." or "..", and is not a Windows device name.
    Unicode letters and emoji are kept; undecodable bytes are read as
    Windows-1252 (see the module doc).
    """
    cleaned = _EDGES.sub("", _BAD_CHARS.sub("_", _UNDECODED.sub(_as_cp1252, text)))
    cleaned = _EDGES.sub("", _truncate_bytes(cleaned, MAX_NAME_BYTES))
    if not cleaned:
        return "_"
    head, dot, tail = cleaned.partition(".")
    if head.upper() in _WINDOWS_RESERVED:
        cleaned = _truncate_bytes(f"{head}_{dot}{tail}", MAX_NAME_BYTES)
    return cleaned


def _as_cp1252(match: re.Match[str]) -> str:
    """One undecodable byte (os.fsdecode's U+DCxx) as its Windows-1252 character, else "_"."""
    try:
        return bytes([ord(match.group()) - 0xDC00]).decode("cp1252")
    except UnicodeDecodeError:
        return "_"


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= limit:
        return text
    # "ignore" drops the partial multibyte character the cut may leave.
    return data[: max(limit, 0)].decode("utf-8", errors="ignore")


def _parse(template: str, allowed: frozenset[str]) -> list[_Part]:
    try:
        raw = list(Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} has bad syntax: {exc}") from None
    parts: list[_Part] = []
    for literal, field, spec, conversion in raw:
        if field is not None:
            if field not in allowed:
                shown = "{" + field + "}"
                names = ", ".join(sorted(allowed))
                raise ValueError(f"template {template!r}: unknown field {shown}; use {names}")
            if conversion is not None or "{" in (spec or ""):
                raise ValueError(f"template {template!r}: no conversions or nested fields")
        parts.append((literal, field, spec or ""))
    return parts


def validate_template(template: str, *, folders: bool) -> None:
    """Raise ValueError with a one-line reason if ``template`` is unusable.

    A folder template may be empty (no sub-folders) and uses "/" between
    levels; it must be relative and contain no ".." level. A name template must
    be non-empty and contain no "/".
    """
    if not isinstance(template, str):
        raise ValueError(f"template must be text, not {type(template).__name__}")
    kind = "folder" if folders else "name"
    if "\\" in template:
        raise ValueError(f"{kind} template {template!r}: use '/' between folders, not '\\'")
    if folders:
        if template.startswith("/"):
            raise ValueError(f"folder template {template!r} must be relative, not start with '/'")
        if any(level.strip() == ".." for level in template.split("/")):
            raise ValueError(f"folder template {template!r} must not contain '..'")
    elif not template.strip():
        raise ValueError("name template is empty")
    elif "/" in template:
        raise ValueError(f"name template {template!r} must not contain '/'")
    parts = _parse(template, FOLDER_FIELDS if folders else NAME_FIELDS)
    sample = {field: "x" for field in NAME_FIELDS}
    try:
        _render(parts, datetime(2000, 1, 2, 3, 4, 5), sample, folders=folders)
    except ValueError as exc:
        raise ValueError(f"{kind} template {template!r}: bad format spec: {exc}") from None


def _render(
    parts: list[_Part], taken: datetime, values: Mapping[str, str], *, folders: bool
) -> str:
    out: list[str] = []
    for literal, field, spec in parts:
        out.append(literal)
        if field == "taken":
            # Zones are not part of names: the camera's wall clock is.
            text = taken.replace(tzinfo=None).strftime(spec or DEFAULT_TAKEN_FORMAT)
            levels = text.split("/") if folders else [text]
            out.append("/".join(_BAD_CHARS.sub("_", level) for level in levels))
        elif field is not None:
            out.append(format(values[field], spec))
    return "".join(out)


def _meta_value(metadata: Mapping[str, str], key: str) -> str:
    raw = metadata.get(key, metadata.get(key.lower()))
    if not isinstance(raw, str) or not raw.strip(_PAD):
        return UNKNOWN
    return sanitize_component(raw.strip(_PAD))


def _values(stem: str, ext: str, metadata: Mapping[str, str] | None) -> dict[str, str]:
    meta = metadata or {}
    return {
        "stem": sanitize_component(stem),
        "ext": sanitize_component(ext) if ext else "",
        "make": _meta_value(meta, "Make"),
        "model": _meta_value(meta, "Model"),
        "source": _meta_value(meta, "source"),
    }


def _join(base: str, ext: str) -> str:
    """``base.ext`` within MAX_RENDERED_BYTES, shortening the base rather than the extension."""
    suffix = f".{ext}" if ext else ""
    budget = MAX_RENDERED_BYTES - len(suffix.encode("utf-8"))
    if not suffix or budget < 1:
        return _truncate_bytes(sanitize_component(base + suffix), MAX_RENDERED_BYTES) or "_"
    return (_EDGES.sub("", _truncate_bytes(base, budget)) or "_") + suffix


def render_name(
    template: str, taken: datetime, original_name: str, metadata: Mapping[str, str] | None = None
) -> str:
    """The new file name (with its lower-cased extension) for a photo.

    A name that is already stamped for ``template`` comes back unchanged
    except for the extension's case, so re-running never stacks stamps.
    """
    validate_template(template, folders=False)
    parts = _parse(template, NAME_FIELDS)
    stem, ext = _split_name(_basename(original_name))
    ext = ext.lower()
    if is_stamped(original_name, template, metadata=metadata or {}):
        return _join(sanitize_component(stem), ext)
    base = sanitize_component(_render(parts, taken, _values(stem, ext, metadata), folders=False))
    uses_ext = any(field == "ext" for _, field, _ in parts)
    if uses_ext and ext and base.lower().endswith(f".{ext}"):
        base = base[: -len(ext) - 1]  # the template wrote the extension itself
    return _join(base, ext)


def render_folder(
    template: str, taken: datetime, metadata: Mapping[str, str] | None = None
) -> PurePosixPath:
    """The relative destination folder; never absolute, never containing "..".

    Empty levels (e.g. from an empty template) are dropped; an empty result
    is ``PurePosixPath(".")``.
    """
    validate_template(template, folders=True)
    parts = _parse(template, FOLDER_FIELDS)
    text = _render(parts, taken, _values("", "", metadata), folders=True)
    levels = [sanitize_component(level) for level in text.split("/") if _EDGES.sub("", level)]
    return PurePosixPath(*levels)


def is_stamped(
    original_name: str, template: str, *, metadata: Mapping[str, str] | None = None
) -> bool:
    """True if ``original_name`` already looks like ``template``'s output.

    Best effort for custom templates: the template becomes a regex (strftime
    directives -> digit patterns; make/model/source -> their sanitised values
    when ``metadata`` is given, else wildcards) allowing a trailing "-N"
    collision suffix, and stamped date parts must be real dates. With a
    ``taken`` field, a name that is only the stamp ("2024-05-03_14-22-10.jpg")
    counts as stamped too.
    """
    parts = _parse(template, NAME_FIELDS)
    name = _basename(original_name)
    known = _values("", "", metadata) if metadata is not None else None
    pattern, checks = _template_regex(parts, known, _split_name(name)[1])
    target = name if any(field == "ext" for _, field, _ in parts) else _split_name(name)[0]
    match = pattern.fullmatch(target)
    if match is None:
        return False
    return all(_strptime_ok(match[group], spec) for group, spec in checks)


def _template_regex(
    parts: list[_Part], known: Mapping[str, str] | None, ext: str
) -> tuple[re.Pattern[str], list[tuple[str, str]]]:
    pieces: list[str] = []
    checks: list[tuple[str, str]] = []
    has_taken = any(field == "taken" for _, field, _ in parts)
    for index, (literal, field, spec) in enumerate(parts):
        literal_re = re.escape(_BAD_CHARS.sub("_", literal))
        if field == "stem" and has_taken:
            # The date identifies the stamp, so "<stamp>.jpg" without a stem counts.
            pieces.append(f"(?:{literal_re}.+)?")
            continue
        pieces.append(literal_re)
        if field == "taken":
            fmt = _BAD_CHARS.sub("_", spec or DEFAULT_TAKEN_FORMAT)
            pieces.append(f"(?P<t{index}>{_strftime_regex(fmt)})")
            checks.append((f"t{index}", fmt))
        elif field == "stem":
            pieces.append(".+")
        elif field == "ext":
            pieces.append(f"(?i:{re.escape(ext)})")
        elif field is not None:
            pieces.append(re.escape(format(known[field], spec)) if known else ".+?")
    if not any(field == "ext" for _, field, _ in parts):
        pieces.append(r"(?:-\d+)?")
    return re.compile("".join(pieces), re.DOTALL), checks


def _strftime_regex(fmt: str) -> str:
    out: list[str] = []
    position = 0
    for match in _DIRECTIVE.finditer(fmt):
        out.append(re.escape(fmt[position : match.start()]))
        flag, code = match.groups()
        regex = _DIRECTIVE_RES.get(code, ".+?")
        # "%-d" (glibc) drops the zero padding.
        out.append(regex.replace(r"\d{2}", r"\d{1,2}") if flag == "-" else regex)
        position = match.end()
    out.append(re.escape(fmt[position:]))
    return "".join(out)


def _strptime_ok(text: str, fmt: str) -> bool:
    directives = [code for _, code in _DIRECTIVE.findall(fmt)]
    if not set(directives) <= _CHECKABLE:
        return True
    try:
        datetime.strptime(text, fmt.replace("%-", "%"))
    except ValueError:
        return False
    return True


def collision_name(name: str, n: int) -> str:
    """``name`` with a "-n" counter before its final extension ("a.b.jpg" -> "a.b-1.jpg")."""
    if n < 0:
        raise ValueError(f"collision counter must be >= 0, got {n}")
    if n == 0:
        return name
    stem, ext = _split_name(name)
    suffix = f"-{n}" + (f".{ext}" if ext else "")
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return (_truncate_bytes(stem, budget) or "_") + suffix


def candidate_names(name: str, limit: int = 1000) -> Iterator[str]:
    """``name``, then ``name-1`` ... ``name-<limit>`` (``limit + 1`` names in all)."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    for n in range(limit + 1):
        yield collision_name(name, n)
