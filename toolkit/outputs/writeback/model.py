"""What callers hand the write-back and get back: cell edits, new sheets, results, errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from toolkit.core.errors import TaizhangError

PATCHABLE_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
DATE_FORMAT = "yyyy-mm-dd"


class WritebackError(TaizhangError):
    """A write-back the toolkit refuses or could not finish; str() is Chinese for a clerk."""


class WorkbookInUse(WritebackError):
    """The workbook is open in Excel, WPS or LibreOffice (its lock file is present)."""


class NotPatchable(WritebackError):
    """Not an OOXML workbook this module can edit in place (.xls, .ods, encrypted, broken)."""


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()
"""CellEdit.value meaning: leave the cell's value as it is (only restyle it)."""


@dataclass(frozen=True)
class CellEdit:
    """What to do to one cell. Style fields: None leaves that aspect as it is.

    ``fill``/``font_color`` are "RRGGBB"; "" removes the fill / returns the font
    to automatic colour. ``style_from`` ("D5") takes the base style from another
    cell of the same sheet (used for appended columns, so borders match).
    Dates get ``yyyy-mm-dd`` unless their cell already has a date format or
    ``number_format`` says otherwise.
    """
    value: object = KEEP
    fill: str | None = None
    font_color: str | None = None
    bold: bool | None = None
    number_format: str | None = None
    wrap: bool | None = None
    style_from: str | None = None

    @property
    def restyles(self) -> bool:
        return any(x is not None for x in (self.fill, self.font_color, self.bold,
                                           self.number_format, self.wrap, self.style_from))


@dataclass(frozen=True)
class NewSheet:
    """A sheet the toolkit adds (校验结果). ``rows`` hold plain values or CellEdits.

    If a sheet of that name exists already its content is replaced.
    """
    name: str
    rows: Sequence[Sequence[object]]
    column_widths: Sequence[float] = ()
    header_row: int | None = 0          # 0-based row drawn bold on a grey fill
    header_fill: str = "D9D9D9"
    freeze_rows: int = 0
    wrap_columns: Sequence[int] = ()    # 0-based columns whose text wraps
    links: Mapping[str, str] = field(default_factory=dict)   # "A3" -> "'台账'!D5"
    row_heights: Mapping[int, float] = field(default_factory=dict)   # 0-based row -> points
    merges: Sequence[str] = ()          # "A1:F1": cells shown as one (the first one's text)


@dataclass
class PatchResult:
    path: Path
    changed: bool
    changed_parts: list[str] = field(default_factory=list)
    added_parts: list[str] = field(default_factory=list)
    removed_parts: list[str] = field(default_factory=list)
    backup: Path | None = None
