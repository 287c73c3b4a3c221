"""Copies python-calamine can open of valid but unusual packages that Excel, WPS and LibreOffice
open without a question (issue 19). Each repair changes only what calamine stumbles on:

.xlsx/.xlsm
- XML parts in UTF-16 (calamine reads UTF-8 only): transcoded, the declaration with them;
- ``<sheet state="show">`` and other states Excel treats as visible: the attribute dropped;
- a ``<dimension ref>`` calamine cannot parse ("A1:", "1:9", ""): dropped (it is a hint);
- a sheet the workbook lists whose part (or relationship) is missing: left out of the
  workbook, and named in a warning, instead of refusing the file for it.

.ods
- no ``mimetype`` member (or no manifest): written, as LibreOffice would;
- pretty-printed content (whitespace between the cells of a row, which calamine takes for a
  stray cell): whitespace-only text outside paragraphs dropped; text inside ``<text:p>``
  is never touched.

Every other member is copied byte for byte. A copy is made only after a file passed
pre-flight, into a folder the caller owns (the worker's temporary one), and the caller
pre-flights it again before any parser sees it.
"""
from __future__ import annotations

import codecs
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from toolkit.read.openable import fresh_path, rels_of, resolve_target, rewrite_zip, workbook_part, xml_attr

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_MANIFEST = (b'<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
                 b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                 b'<manifest:file-entry manifest:full-path="/" manifest:media-type="' + ODS_MIMETYPE + b'"/>'
                 b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                 b"</manifest:manifest>")
_SHEET = re.compile(rb"<(?:[\w.\-]+:)?sheet\s[^>]*>")
_REL = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*>")
_STATE = re.compile(rb'\sstate\s*=\s*"([^"]*)"')
_DIMENSION = re.compile(rb"<(?:[\w.\-]+:)?dimension\s[^>]*?/>")
_GOOD_REF = re.compile(rb'ref\s*=\s*"\$?[A-Za-z]{1,3}\$?[0-9]{1,7}(?::\$?[A-Za-z]{1,3}\$?[0-9]{1,7})?"')
_DECLARATION = re.compile(r'^(\ufeff?<\?xml[^>]*?encoding\s*=\s*["\'])[^"\']*(["\'])', re.I)
_STATES = (b"visible", b"hidden", b"veryHidden")


@dataclass
class Repaired:
    path: Path
    missing_sheets: list[str] = field(default_factory=list)


def repaired_copy(source: Path, file_format: str | None, folder: Path) -> Repaired | None:
    """A copy calamine can open, or None when nothing here would change the file."""
    if file_format in ("xlsx", "xlsm"):
        return _repair_ooxml(source, fresh_path(folder, "repaired", f".{file_format}"))
    if file_format == "ods":
        return _repair_ods(source, fresh_path(folder, "repaired", ".ods"))
    return None


# --------------------------------------------------------------------------- OOXML

def _repair_ooxml(source: Path, out: Path) -> Repaired | None:
    with zipfile.ZipFile(source) as z:
        names = {n.casefold(): n for n in z.namelist()}
        edits: dict[str, bytes] = {}
        for name in z.namelist():
            if name.lower().endswith((".xml", ".rels")):
                text = _utf8(z.read(name))
                if text is not None:
                    edits[name] = text
        read = lambda n: edits[n] if n in edits else z.read(n)     # noqa: E731
        book = workbook_part(_TranscodedZip(z, edits), names)
        missing: list[str] = []
        if book is not None:
            workbook, sheet_parts, missing = _repair_workbook(read(book), book, names, read)
            if workbook != read(book):
                edits[book] = workbook
            for part in sheet_parts:
                fixed = _DIMENSION.sub(lambda m: m.group() if _GOOD_REF.search(m.group()) else b"", read(part))
                if fixed != read(part):
                    edits[part] = fixed
        if not edits:
            return None
        rewrite_zip(z, out, edits)
    return Repaired(out, missing)


class _TranscodedZip:
    """Enough of a ZipFile for ``workbook_part``: reads return the transcoded parts."""

    def __init__(self, z: zipfile.ZipFile, edits: dict[str, bytes]) -> None:
        self._z, self._edits = z, edits

    def read(self, name: str) -> bytes:
        return self._edits[name] if name in self._edits else self._z.read(name)


def _utf8(data: bytes) -> bytes | None:
    """A UTF-16 XML part as UTF-8 with its declaration saying so; None for any other part."""
    if data[:2] not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<"):
        return None
    enc = {b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}.get(data[:2], "utf-16")
    text = data.decode(enc, "replace").lstrip("\ufeff")
    return _DECLARATION.sub(r"\1UTF-8\2", text, count=1).encode("utf-8")


def _repair_workbook(workbook: bytes, book: str, names: dict[str, str], read) -> tuple[bytes, list[str], list[str]]:
    """(the workbook part with odd sheet states and sheets without a part left out, the sheet
    parts that exist, the names of the sheets left out)."""
    rels_name = names.get(rels_of(book).casefold())
    rels = read(rels_name) if rels_name else b""
    targets = {xml_attr(r, "Id"): xml_attr(r, "Target").decode("utf-8", "replace") for r in _REL.findall(rels)}
    parts, missing = [], []
    for tag in _SHEET.findall(workbook):
        rid = xml_attr(tag, "r:id") or xml_attr(tag, "id")
        target = targets.get(rid)
        part = names.get(resolve_target(book, target).casefold()) if target else None
        if part is None:
            workbook = _drop_tag(workbook, tag)
            missing.append(xml_attr(tag, "name").decode("utf-8", "replace"))
            continue
        parts.append(part)
        state = _STATE.search(tag)
        if state and state.group(1) not in _STATES:
            workbook = workbook.replace(tag, tag.replace(state.group(0), b""), 1)
    return workbook, parts, missing


def _drop_tag(data: bytes, tag: bytes) -> bytes:
    if tag.endswith(b"/>"):
        return data.replace(tag, b"", 1)
    local = re.match(rb"<([\w.\-:]+)", tag).group(1)
    return re.sub(re.escape(tag) + rb".*?</" + re.escape(local) + rb">", b"", data, count=1, flags=re.S)


# --------------------------------------------------------------------------- ODS

_TOKEN = re.compile(rb"<[^>]*>|[^<]+")
_PARAGRAPH = re.compile(rb"<(/?)text:(?:p|h)[\s/>]")


def _repair_ods(source: Path, out: Path) -> Repaired | None:
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = z.namelist()
        dst.writestr(zipfile.ZipInfo("mimetype"), ODS_MIMETYPE, zipfile.ZIP_STORED)
        if "META-INF/manifest.xml" not in names:
            dst.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        for info in z.infolist():
            if info.filename == "mimetype":
                continue
            with z.open(info) as src, dst.open(info.filename, "w") as sink:
                if info.filename == "content.xml":
                    for piece in without_layout_whitespace(iter(lambda: src.read(1 << 20), b"")):
                        sink.write(piece)
                else:
                    shutil.copyfileobj(src, sink, 1 << 20)
    return Repaired(out)


def without_layout_whitespace(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """ODS content with the whitespace-only text between elements dropped, except inside a
    paragraph (``<text:p>``, ``<text:h>``), where every character is the cell's text."""
    depth, carry = 0, b""
    for piece in _with_end(iter(pieces)):
        buf = carry + (piece or b"")
        end = len(buf) if piece is None else buf.rfind(b"<")
        if end <= 0:
            carry = buf
            continue
        out = []
        for m in _TOKEN.finditer(buf, 0, end):
            token = m.group()
            if token[:1] == b"<":
                p = _PARAGRAPH.match(token)
                if p and not token.endswith(b"/>"):
                    depth = max(0, depth + (-1 if p.group(1) else 1))
                out.append(token)
            elif depth or token.strip():
                out.append(token)
        carry = buf[end:]
        yield b"".join(out)


def _with_end(pieces: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from pieces
    yield None

