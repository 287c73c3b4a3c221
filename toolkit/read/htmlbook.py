"""Web pages saved as .xls (the "导出Excel" of web systems, Excel's and LibreOffice's "save as
web page"), shown to the reader in python-calamine's shape.

Excel, WPS and LibreOffice open such a page as a sheet: each table row is a row, ``colspan``
and ``rowspan`` merge cells, text between tables is a row of its own. Here each top-level
table is a sheet (with the text above it: the title and "填报单位" lines), named as Excel names
its sheets in the page (``<x:Name>``) or 表格1, 表格2 …; text after the last table goes to
the last sheet. Every value is the cell's text as shown (so an 18-digit ID or a leading zero
survives, and dates are read by the reader's own date parsing); a nested table's text stays
in its cell.

Only called after pre-flight measured the page (:mod:`toolkit.intake.htmlscan`): spans are
clamped as there, so the rectangle built here is one pre-flight allowed. The standard
library's ``html.parser`` expands only HTML's own character references, never declared
entities.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from python_calamine import SheetTypeEnum, SheetVisibleEnum

from toolkit.intake.htmlscan import MAX_COLSPAN, MAX_ROWSPAN

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_SHEET_NAME = re.compile(r"<x:Name>\s*(.*?)\s*</x:Name>", re.S)
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")
_GBK_FAMILY = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "gb18030", "hz-gb-2312"}
_HIDDEN = {"head", "script", "style", "title", "template", "noscript"}
_BREAKS = {"br", "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "tr"}


def decode_page(data: bytes) -> str:
    """The page as text: its BOM, else the charset its <meta> names (GB2312 and GBK read as
    GB18030, their superset), else UTF-8, else GB18030 (what Chinese web systems write)."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, "replace")
    declared = _CHARSET.search(data[:8192])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in _GBK_FAMILY else name
        try:
            return data.decode(name, "replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


@dataclass
class _Table:
    rows: list[list[str]] = field(default_factory=list)
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    covered: dict[int, int] = field(default_factory=dict)    # column -> last row a span above covers


class _Page(HTMLParser):
    """Collects top-level tables as sheets: (rows, merged ranges), with the text around them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sheets: list[_Table] = []
        self.names: list[str] = []
        self._current = _Table()            # the sheet being filled: text rows, then its table
        self._depth = 0                     # table nesting
        self._hidden = 0
        self._cell: list[str] | None = None
        self._span = (1, 1)
        self._row: int | None = None
        self._col = 0
        self._text: list[str] = []          # text outside any table

    # --- tags --------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
            return
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self._flush_text()
            return
        if self._depth != 1:
            if self._cell is not None and tag in _BREAKS:
                self._cell.append("\n")
            elif self._depth == 0 and tag in _BREAKS:
                self._flush_text()
            return
        if tag == "tr":
            self._end_cell()
            self._row = len(self._current.rows)
            self._current.rows.append([])
            self._col = 0
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:                       # a cell with no <tr>: browsers make one
                self.handle_starttag("tr", [])
            values = dict(attrs)
            self._span = (_span(values.get("rowspan"), MAX_ROWSPAN), _span(values.get("colspan"), MAX_COLSPAN))
            self._cell = []
        elif self._cell is not None and tag in _BREAKS:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "table" and self._depth:
            if self._depth == 1:
                self._end_cell()
                self._row = None
                self.sheets.append(self._current)
                self._current = _Table()
            self._depth -= 1
        elif self._depth == 1 and tag in ("td", "th"):
            self._end_cell()
        elif self._depth == 0 and tag in _BREAKS:
            self._flush_text()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._depth == 0:
            self._text.append(data)

    def handle_comment(self, data: str) -> None:
        self.names += _SHEET_NAME.findall(data)       # Excel: <x:ExcelWorksheet><x:Name>台账</x:Name>

    # --- cells -------------------------------------------------------------------------------
    def _end_cell(self) -> None:
        if self._cell is None:
            return
        text = "\n".join(_SPACE.sub(" ", line).strip() for line in "".join(self._cell).split("\n"))
        text = text.strip("\n")
        self._cell = None
        table, r = self._current, self._row
        row = table.rows[r]
        while table.covered.get(self._col, -1) >= r:
            self._col += 1
        rowspan, colspan = self._span
        c = self._col
        _put(row, c, text)
        for dc in range(1, colspan):
            _put(row, c + dc, "")
        if rowspan > 1:
            for dc in range(colspan):
                table.covered[c + dc] = r + rowspan - 1
        if rowspan > 1 or colspan > 1:
            table.merged.append(((r, c), (r + rowspan - 1, c + colspan - 1)))
        self._col = c + colspan

    def _flush_text(self) -> None:
        text = _SPACE.sub(" ", "".join(self._text)).strip()
        self._text = []
        if text:
            self._current.rows.append([text])

    def close(self) -> None:
        super().close()
        self._end_cell()
        self._flush_text()
        if self._depth or not self.sheets:
            self.sheets.append(self._current)                  # a table never closed
        else:
            self.sheets[-1].rows += self._current.rows         # text after the last table: its footer


def _span(value: str | None, most: int) -> int:
    digits = re.match(r"\s*([0-9]{1,9})", value or "")
    return min(max(int(digits.group(1)), 1), most) if digits else 1


def _put(row: list, c: int, value: str) -> None:
    if len(row) <= c:
        row.extend([""] * (c + 1 - len(row)))
    row[c] = value


class _Meta:
    def __init__(self, name: str) -> None:
        self.name, self.typ, self.visible = name, SheetTypeEnum.WorkSheet, SheetVisibleEnum.Visible


class _Sheet:
    def __init__(self, name: str, table: _Table) -> None:
        self.name, self._table = name, table
        width = max((len(r) for r in table.rows), default=0)
        self._rows = [r + [""] * (width - len(r)) for r in table.rows]
        self.merged_cell_ranges = [((r0, c0), (min(r1, len(self._rows) - 1), c1)) for (r0, c0), (r1, c1) in table.merged]

    def to_python(self, skip_empty_area: bool = False, nrows: int | None = None) -> list[list]:
        rows = self._rows if nrows is None else self._rows[:nrows]
        return [list(r) for r in rows]


class HtmlWorkbook:
    """The subset of python-calamine's CalamineWorkbook that ``read_workbook`` uses."""

    def __init__(self, path: Path) -> None:
        page = _Page()
        page.feed(decode_page(Path(path).read_bytes()))
        page.close()
        tables = [t for t in page.sheets if t.rows]
        names = _unique([n for n in page.names if n][:len(tables)]
                        + [f"表格{i + 1}" for i in range(len(page.names), len(tables))])
        self._sheets = {name: _Sheet(name, t) for name, t in zip(names, tables)}
        self.sheet_names = list(self._sheets)
        self.sheets_metadata = [_Meta(n) for n in self.sheet_names]

    def get_sheet_by_name(self, name: str) -> _Sheet:
        return self._sheets[name]

    def __enter__(self) -> "HtmlWorkbook":
        return self

    def __exit__(self, *exc: object) -> None:
        self._sheets.clear()


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for n in names:
        name, k = n, 2
        while name in seen:
            name, k = f"{n}（{k}）", k + 1
        seen.add(name)
        out.append(name)
    return out
