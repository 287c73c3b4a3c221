"""Excel binary workbooks (.xlsb): the record streams of its sheets and shared strings,
measured in chunks with bounded memory, like the XML of an .xlsx (:mod:`.xmlscan`).

A BIFF12 record is a type (a 1-2 byte varint), a size (a 1-4 byte varint) and a body.
python-calamine places the cells of the value records (BrtCellRk ... BrtFmlaError,
0x02-0x0B) at the row of the last BrtRowHdr (0x00) and the column in their first four
bytes, and builds the rectangle they span, as for .xlsx; blank cells (0x01, 0x0C) are not
placed. The short cells of newer Excel versions (0x0D-0x12) are counted too (counting more
is safe). Every BrtSSTItem (0x13) of the shared strings becomes a string the parser keeps.
"""
from __future__ import annotations

import re
import struct

from toolkit.intake.xmlscan import Grid, check_shared_strings

_ROW, _SST_ITEM = 0x0000, 0x0013
_VALUES = frozenset(range(0x02, 0x0C)) | frozenset(range(0x0D, 0x13))
SHEET_FOLDERS = ("xl/worksheets/", "xl/dialogsheets/", "xl/macrosheets/")


def scanner_for(name: str):
    """The scanner of a .xlsb member (None: a part we do not measure)."""
    low = name.replace("\\", "/")
    if low.endswith(".bin") and low.startswith(SHEET_FOLDERS):
        return XlsbSheet(name)
    if low == "xl/sharedStrings.bin":
        return XlsbStrings(name)
    return None


class _Records:
    """Splits streamed bytes into (type, first bytes of the body) without keeping bodies."""

    HEAD = 8                                 # bytes of a body we look at

    def __init__(self) -> None:
        self._buf = b""
        self._skip = 0                       # body bytes still to pass over

    def feed(self, data: bytes):
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data, self._skip = data[self._skip:], 0
        buf, pos = self._buf + data, 0
        while True:
            parsed = _header(buf, pos)
            if parsed is None:
                break
            typ, size, body = parsed
            if body + min(size, self.HEAD) > len(buf):
                break                        # the head of the body has not arrived yet
            yield typ, buf[body:body + min(size, self.HEAD)]
            if body + size > len(buf):
                self._skip, pos = body + size - len(buf), len(buf)
                break
            pos = body + size
        self._buf = buf[pos:]


def _header(buf: bytes, pos: int):
    """(type, size, body offset) of the record at ``pos``, or None if not all there."""
    typ, pos = _varint(buf, pos, 2)
    if typ is None:
        return None
    size, pos = _varint(buf, pos, 4)
    if size is None:
        return None
    return typ, size, pos


def _varint(buf: bytes, pos: int, most: int):
    value = 0
    for i in range(most):
        if pos + i >= len(buf):
            return None, pos
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    return value, pos + most


class _RecordGrid(Grid):
    def __init__(self, part: str) -> None:
        super().__init__(part)
        self._records = _Records()


class XlsbSheet(_RecordGrid):
    """A .xlsb sheet: the rectangle of its cells with a value."""

    _row = 0

    def feed(self, chunk: bytes) -> None:
        for typ, head in self._records.feed(chunk):
            if typ == _ROW and len(head) >= 4:
                self._row = struct.unpack_from("<I", head)[0]
            elif typ in _VALUES and len(head) >= 4:
                self.count(self._row + 1, struct.unpack_from("<I", head)[0] + 1)


class XlsbStrings(_RecordGrid):
    """sharedStrings.bin: counts its BrtSSTItem records."""

    strings = 0

    def feed(self, chunk: bytes) -> None:
        self.strings += sum(1 for typ, _ in self._records.feed(chunk) if typ == _SST_ITEM)

    def check(self, name_of=lambda: None) -> None:
        check_shared_strings(self.strings)


_BUNDLE_SHEET = 0x009C
_REL = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*>")


def sheet_name(workbook: bytes, rels: bytes, part: str) -> str | None:
    """The name a clerk sees for the sheet stored in ``part``: the BrtBundleSh record of
    ``xl/workbook.bin`` whose relationship (``xl/_rels/workbook.bin.rels``) targets it."""
    targets = {}
    for rel in _REL.findall(rels):
        rid, target = re.search(rb'\bId\s*=\s*"([^"]*)"', rel), re.search(rb'\bTarget\s*=\s*"([^"]*)"', rel)
        if rid and target:
            targets[rid.group(1).decode("utf-8", "replace")] = target.group(1).decode("utf-8", "replace")
    pos = 0
    while (parsed := _header(workbook, pos)) is not None:
        typ, size, body = parsed
        if typ == _BUNDLE_SHEET and size >= 12:
            try:
                rid, at = _wide(workbook, body + 8)
                name, _ = _wide(workbook, at)
            except (struct.error, UnicodeDecodeError):
                return None
            if targets.get(rid) and part.endswith(targets[rid].lstrip("/").removeprefix("xl/")):
                return name
        pos = body + size
        if pos > len(workbook):
            break
    return None


def _wide(data: bytes, at: int) -> tuple[str, int]:
    n = struct.unpack_from("<I", data, at)[0]
    if n == 0xFFFFFFFF or n > 32767:
        return "", at + 4
    return data[at + 4:at + 4 + 2 * n].decode("utf-16-le"), at + 4 + 2 * n
