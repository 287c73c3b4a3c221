"""Excel 2.x-4.0 worksheets (BIFF2-4, a bare record stream with no OLE container),
read with xlrd and shown to the reader in python-calamine's shape.

python-calamine reads BIFF5 and later only. xlrd 2.0 reads every BIFF version; it is
used for these old files alone, after the same pre-flight (size cap, the grid of
cells with a value, no encryption) and in the same sandboxed worker as calamine.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from python_calamine import SheetTypeEnum, SheetVisibleEnum

OLD_BIFF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00")   # BOF of BIFF2, 3, 4


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
        self._book = xlrd.open_workbook(str(path), on_demand=False)
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
