"""Excel 2.x-95 workbooks, read with xlrd and shown to the reader in python-calamine's shape:
BIFF2-4 (a bare record stream with no OLE container) and BIFF5/7 (Excel 5.0/95, Mac Excel,
and what older web systems' PHP writers still produce).

python-calamine reads BIFF2-4 not at all, and BIFF5/7 badly: its 8-bit strings go through the
code page as if they were UTF-16 halves, so GBK text (code page 936) comes back as noise, and
it refuses the Mac code pages (10000 and up) it does not know. xlrd 2.0 reads every BIFF
version and decodes 8-bit strings with Python's codecs; the Mac code pages xlrd does not know
are given the codec of the Windows page they share their bytes with. It runs after the same
pre-flight (size cap, the grid of cells with a value, no encryption) and in the same
sandboxed worker as calamine.
"""
from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from python_calamine import SheetTypeEnum, SheetVisibleEnum

log = logging.getLogger("taizhang")

OLD_BIFF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00")   # BOF of BIFF2, 3, 4
# Mac code pages xlrd does not know -> the codec that reads the same bytes
MAC_CODEPAGES = {10001: "shift_jis", 10002: "big5", 10003: "euc_kr", 10004: "mac_arabic",
                 10005: "cp1255", 10008: "gb18030", 10017: "mac_cyrillic", 10021: "cp874",
                 10082: "mac_croatian", 10010: "mac_romanian", 10029: "mac_latin2"}


def is_old_biff(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4).startswith(OLD_BIFF)
    except OSError:
        return False


@dataclass
class _Meta:
    name: str
    typ: object
    visible: object


class _Sheet:
    def __init__(self, sheet, datemode: int) -> None:
        self._sheet, self._datemode, self.name = sheet, datemode, sheet.name
        self.merged_cell_ranges = ()

    def to_python(self, skip_empty_area: bool = False, nrows: int | None = None) -> list[list]:
        rows = range(self._sheet.nrows if nrows is None else min(nrows, self._sheet.nrows))
        return [[self._value(cell) for cell in self._sheet.row(r)] + [""] * (self._sheet.ncols - self._sheet.row_len(r))
                for r in rows]

    def _value(self, cell):
        import xlrd
        if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
            return ""
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                moment = xlrd.xldate_as_datetime(cell.value, self._datemode)
            except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                return cell.value
            return moment.date() if moment.time() == datetime.min.time() else moment
        if cell.ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(cell.value)
        return cell.value


class OldWorkbook:
    """The subset of python-calamine's CalamineWorkbook that ``read_workbook`` uses."""

    def __init__(self, path: Path) -> None:
        import xlrd
        quiet = io.StringIO()               # xlrd prints its complaints; they go to the log
        try:
            self._book = xlrd.open_workbook(str(path), on_demand=False, logfile=quiet)
        except LookupError:                 # a code page xlrd has no codec for
            override = MAC_CODEPAGES.get(_codepage(path) or 0)
            if override is None:
                raise ValueError("unsupported codepage") from None
            self._book = xlrd.open_workbook(str(path), on_demand=False, logfile=quiet,
                                            encoding_override=override)
        if quiet.getvalue():
            log.info("xlrd on %s: %s", path, quiet.getvalue()[:500])
        self.sheet_names = self._book.sheet_names()
        visible = {0: SheetVisibleEnum.Visible, 1: SheetVisibleEnum.Hidden}
        self.sheets_metadata = [_Meta(s.name, SheetTypeEnum.WorkSheet, visible.get(s.visibility,
                                                                                   SheetVisibleEnum.VeryHidden))
                                for s in self._book.sheets()]

    def get_sheet_by_name(self, name: str) -> _Sheet:
        return _Sheet(self._book.sheet_by_name(name), self._book.datemode)

    def __enter__(self) -> "OldWorkbook":
        return self

    def __exit__(self, *exc: object) -> None:
        self._book.release_resources()


def _codepage(path: Path) -> int | None:
    """The CODEPAGE record of a BIFF5/7 workbook's globals (None when there is none)."""
    import olefile
    with olefile.OleFileIO(str(path)) as ole:
        stream = "Workbook" if ole.exists("Workbook") else "Book"
        data = ole.openstream(stream).read()
    pos = 0
    while pos + 4 <= len(data):
        rtype, size = struct.unpack_from("<HH", data, pos)
        if rtype == 0x0042 and size >= 2:
            return struct.unpack_from("<H", data, pos + 4)[0]
        if rtype == 0x000A:
            return None
        pos += 4 + size
    return None
