"""When a workbook was last saved, as the office program that saved it wrote inside the file.

Two files of one village are two versions of its ledger; the one the village saved last
is the newer, whatever order they reached the township in (a clerk who saves last week's
file from a chat window after this week's gives it the later file time). Excel, WPS and
LibreOffice write the time of every save into the file:

- .xlsx/.xlsm/.xlsb: ``dcterms:modified`` in the core properties part (``docProps/core.xml``,
  or wherever ``_rels/.rels`` points), W3CDTF in UTC;
- .ods: ``dc:date`` in ``meta.xml``;
- .xls: the OLE SummaryInformation's "last saved" time (a FILETIME, UTC).

Returned as the computer's local time without a zone (the archive's one clock), or None
when the file carries no such time (some export tools write none, and a web page saved as
.xls has no such place). Parts written in UTF-16 are read too. Reads only those small
parts, after the pre-flight has bounded the file; never raises.
"""
from __future__ import annotations

import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from toolkit.intake.preflight import KEPT_BYTES

_CORE_TYPE = "relationships/metadata/core-properties"
_PART_BYTES = KEPT_BYTES         # core.xml and meta.xml are a few hundred bytes (pre-flight keeps as many)
_MODIFIED = re.compile(rb"<(?:[\w.-]+:)?modified\b[^>]*>\s*([^<\s]+)\s*<")
_ODS_DATE = re.compile(rb"<dc:date\b[^>]*>\s*([^<\s]+)\s*<")
_TARGET = re.compile(rb"<Relationship\b[^>]*>")
_EARLIEST = datetime(1990, 1, 1)


def last_saved(path: Path, file_format: str | None, parts: dict[str, bytes] | None = None) -> datetime | None:
    """The file's own last-saved time (local, naive), or None. ``parts``: the part's bytes by
    name when pre-flight already inflated them (``preflight(kept=...)``): the file is not
    opened again."""
    try:
        if file_format in ("xlsx", "xlsm", "xlsb"):
            if parts and "docProps/core.xml" in parts:
                return _time_in(parts["docProps/core.xml"], _MODIFIED)
            return _zip_time(path, _core_part, _MODIFIED)
        if file_format == "ods":
            if parts and "meta.xml" in parts:
                return _time_in(parts["meta.xml"], _ODS_DATE)
            return _zip_time(path, lambda z: "meta.xml", _ODS_DATE)
        if file_format == "xls":
            return _ole_time(path)
    except Exception:       # noqa: BLE001 - a time we cannot read is a time we do not have
        return None
    return None


def _zip_time(path: Path, part_of, pattern: re.Pattern) -> datetime | None:
    with zipfile.ZipFile(path) as z:
        name = part_of(z)
        if name is None or name not in z.NameToInfo or z.getinfo(name).file_size > _PART_BYTES:
            return None
        with z.open(name) as f:
            return _time_in(f.read(_PART_BYTES), pattern)


def _time_in(part: bytes, pattern: re.Pattern) -> datetime | None:
    found = pattern.search(_as_utf8(part[:_PART_BYTES]))
    return _plausible(_w3cdtf(found.group(1).decode("ascii", "ignore"))) if found else None


def _as_utf8(data: bytes) -> bytes:
    """A part written in UTF-16 (valid, and some tools do) as UTF-8 for the patterns above."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"):
        enc = {b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}.get(data[:2], "utf-16")
        return data.decode(enc, "replace").encode("utf-8")
    return data


def _core_part(z: zipfile.ZipFile) -> str | None:
    if "docProps/core.xml" in z.NameToInfo:
        return "docProps/core.xml"
    if "_rels/.rels" not in z.NameToInfo or z.getinfo("_rels/.rels").file_size > _PART_BYTES:
        return None
    for rel in _TARGET.findall(_as_utf8(z.read("_rels/.rels"))):
        if _CORE_TYPE.encode() in rel:
            target = re.search(rb'Target="([^"]+)"', rel)
            return target.group(1).decode("utf-8", "ignore").lstrip("/") if target else None
    return None


def _w3cdtf(text: str) -> datetime | None:
    """2010-10-18T02:00:00Z, with or without fractions or an offset, as local naive time."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:         # LibreOffice's meta.xml writes local time without a zone
        return when
    return when.astimezone().replace(tzinfo=None)


def _ole_time(path: Path) -> datetime | None:
    import olefile
    with olefile.OleFileIO(str(path)) as ole:
        if not ole.exists("\x05SummaryInformation"):
            return None
        saved = ole.get_metadata().last_saved_time
    if not isinstance(saved, datetime):
        return None
    return saved.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


def _plausible(when: datetime | None) -> datetime | None:
    """A time no office program wrote (before 1990: an unset clock or a tool's zero) is none."""
    return when if when is not None and when >= _EARLIEST else None
