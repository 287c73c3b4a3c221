"""A ledger from a grid of values: the sheet open in front of the clerk (the Excel buttons).

The buttons get the sheet's values from Excel (xlwings), not a file; this module hands them
to ``toolkit.read.workbook``'s own sheet parser through just enough of a python-calamine
workbook, so the sheet is read exactly as the same file would be.
"""
from __future__ import annotations

from pathlib import Path

from python_calamine import SheetTypeEnum, SheetVisibleEnum

from toolkit.core import fields as F
from toolkit.core.ledger import Ledger
from toolkit.read.workbook import read_workbook


class _GridSheet:
    """Just enough of a python-calamine sheet for toolkit.read.workbook's parser."""

    def __init__(self, name: str, rows: list[list]):
        self.name = name
        width = max((len(r) for r in rows), default=0)
        self._rows = [list(r) + [""] * (width - len(r)) for r in rows]
        self.merged_cell_ranges = ()        # values carry no merge information

    def to_python(self, skip_empty_area: bool = True, nrows: int | None = None) -> list[list]:
        return self._rows[:nrows] if nrows is not None else list(self._rows)


class _Meta:
    def __init__(self, name: str):
        self.name, self.typ, self.visible = name, SheetTypeEnum.WorkSheet, SheetVisibleEnum.Visible


class _GridWorkbook:
    """Just enough of a python-calamine workbook: the ledger sheet (and the template's
    marker sheet, which names the village)."""

    def __init__(self, sheets: dict[str, list[list]]):
        self._sheets = {name: _GridSheet(name, rows) for name, rows in sheets.items()}
        self.sheet_names = list(self._sheets)
        self.sheets_metadata = [_Meta(name) for name in self._sheets]

    def get_sheet_by_name(self, name: str) -> _GridSheet:
        return self._sheets[name]


def ledger_from_grid(book_name: str, sheet_name: str, grid: list[list],
                     marker: list[list] | None = None, aliases: tuple = ()) -> Ledger:
    """A Ledger read from a grid of values (calamine conventions: "" for an empty cell).

    ``book_name`` stands in for the file (the village may come from it, as from a
    file name); ``marker`` is the template's hidden marker sheet, if the book has one.
    """
    sheets = {sheet_name: grid}
    if marker is not None:
        sheets[F.TEMPLATE_MARKER_SHEET] = marker
    ledger = Ledger(path=Path(book_name))
    read_workbook(_GridWorkbook(sheets), ledger, aliases)
    return ledger
