"""Cell-level edits of one worksheet: values (strings inline, so sharedStrings.xml stays
untouched and a text that starts with "=" stays text), styles, ``<dimension>``, new
``<col>`` widths and merged ranges; every other element of the sheet, extLst
included, is kept."""
from __future__ import annotations

import copy
import datetime as dt
import math
import numbers
import re
from bisect import bisect_left
from typing import TYPE_CHECKING, Sequence

from lxml import etree

from toolkit.core.cells import cell_ref, parse_ref
from toolkit.outputs.writeback.model import KEEP, CellEdit, WritebackError
from toolkit.outputs.writeback.package import _canon, _insert_ordered, _local

if TYPE_CHECKING:
    from toolkit.outputs.writeback.workbook import _Workbook

_XML_NS = "http://www.w3.org/XML/1998/namespace"

# CT_Worksheet child order: new elements are inserted where the schema wants them.
_SHEET_ORDER = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
    "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
    "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
    "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
    "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst")


class _Sheet:
    """Cell-level edits of one worksheet tree, keeping row and cell order."""

    def __init__(self, root, wb: _Workbook) -> None:
        self.root, self.wb = root, wb
        self.ns = etree.QName(root).namespace
        self.data = root.find(self._q("sheetData"))
        if self.data is None:
            raise WritebackError("该工作表不是普通工作表（可能是图表页），工具无法写入。")
        self.rows: dict[int, etree._Element] = {}
        n = 0
        for row in self.data.iterchildren(self._q("row")):
            n = int(row.get("r")) if row.get("r") else n + 1
            row.set("r", str(n))   # rows may omit r: number them explicitly
            self.rows[n] = row
        self.row_keys = sorted(self.rows)
        self._cells: dict[int, dict[int, etree._Element]] = {}
        self._new_rows: set[int] = set()
        self.changed = False
        self.touched: list[tuple[int, int]] = []
        self.removed_formulas: list[str] = []
        self._arrays: list[tuple[tuple[int, int, int, int], etree._Element]] | None = None

    def _q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    # -- rows and cells
    def row(self, n: int, create: bool):
        row = self.rows.get(n)
        if row is None and create:
            row = etree.Element(self._q("row"), r=str(n))
            i = bisect_left(self.row_keys, n)
            if i < len(self.row_keys):
                self.rows[self.row_keys[i]].addprevious(row)
            else:
                self.data.append(row)
            self.rows[n] = row
            self.row_keys.insert(i, n)
            self._new_rows.add(n)
        return row

    def cells(self, n: int, row) -> dict[int, etree._Element]:
        if n not in self._cells:
            found, col = {}, -1
            for c in row.iterchildren(self._q("c")):
                col = parse_ref(c.get("r"))[0] if c.get("r") else col + 1
                c.set("r", cell_ref(col, n))
                found[col] = c
            self._cells[n] = found
        return self._cells[n]

    def cell(self, col: int, n: int, create: bool):
        row = self.row(n, create)
        if row is None:
            return None
        cells = self.cells(n, row)
        c = cells.get(col)
        if c is None and create:
            c = etree.Element(self._q("c"), r=cell_ref(col, n))
            later = [k for k in cells if k > col]
            if later:
                cells[min(later)].addprevious(c)
            else:
                row.append(c)
            cells[col] = c
        return c

    def default_style(self, col: int, n: int) -> int:
        row = self.rows.get(n)
        if row is not None and row.get("customFormat") in ("1", "true") and row.get("s"):
            return int(row.get("s"))
        cols = self.root.find(self._q("cols"))
        for c in (cols if cols is not None else ()):
            if _local(c) == "col" and int(c.get("min")) <= col + 1 <= int(c.get("max")):
                return int(c.get("style", "0"))
        return 0

    def style_of(self, ref: str) -> int:
        col, n = parse_ref(ref)
        c = self.cell(col, n, create=False)
        if c is not None:
            return int(c.get("s", "0"))
        return self.default_style(col, n)

    # -- the edit
    def set(self, ref: str, edit: CellEdit) -> None:
        col, n = parse_ref(ref)
        existing = self.cell(col, n, create=False)
        before = _canon(existing) if existing is not None else None
        if existing is None and edit.value is KEEP and not edit.restyles:
            return
        c = self.cell(col, n, create=True)
        if edit.style_from:
            base = self.style_of(edit.style_from)
        else:
            base = int(c.get("s")) if c.get("s") else self.default_style(col, n)
        if edit.value is not KEEP:
            self._write_value(c, ref, edit.value)
        is_date = isinstance(edit.value, dt.date)
        if edit.restyles or is_date:
            s = self.wb.styles.derive(base, edit, is_date)
        else:
            s = base
        if s or c.get("s"):
            c.set("s", str(s))
        _order_attributes(c, ("r", "s", "t"))
        if before is None and len(c) == 0 and not c.get("s"):
            self._drop_new_cell(c, col, n)   # never leave an empty new cell behind
            return
        if before != _canon(c):
            self.changed = True
            self.touched.append((col, n))

    def _drop_new_cell(self, c, col: int, n: int) -> None:
        row = c.getparent()
        row.remove(c)
        del self._cells[n][col]
        if n in self._new_rows and len(row) == 0:
            self.data.remove(row)
            del self.rows[n]
            self.row_keys.remove(n)
            self._new_rows.discard(n)

    def _write_value(self, c, ref: str, value: object) -> None:
        for child in list(c):
            name = _local(child)
            if name in ("f", "v", "is"):
                c.remove(child)
            if name == "f":
                self._drop_formula(c, child)
        for a in ("t", "cm", "vm"):
            c.attrib.pop(a, None)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if isinstance(value, bool):
            c.set("t", "b")
            self._v(c, "1" if value else "0")
        elif isinstance(value, (dt.date, dt.datetime)):
            self._v(c, _number_text(_serial(value, self.wb.date1904)))
        elif isinstance(value, numbers.Real):
            if not math.isfinite(float(value)):
                raise WritebackError(f"单元格 {ref} 的值 {value} 不是有限数字，无法写入。")
            self._v(c, _number_text(value))
        else:
            c.set("t", "inlineStr")
            is_ = etree.Element(self._q("is"))
            t = etree.SubElement(is_, self._q("t"))
            text = _ooxml_text(str(value))
            t.text = text
            if text != text.strip() or "\n" in text:
                t.set(f"{{{_XML_NS}}}space", "preserve")
            c.insert(0, is_)

    def _v(self, c, text: str) -> None:
        v = etree.Element(self._q("v"))
        v.text = text
        c.insert(0, v)

    # -- formulas that a written value replaces
    def _drop_formula(self, c, f) -> None:
        self.removed_formulas.append(c.get("r"))
        if f.get("t") == "shared" and f.get("ref") and f.text:
            self._unshare(f.get("si"), f.text, c.get("r"))
        self._unarray(parse_ref(c.get("r")))

    def _unshare(self, si: str, formula: str, origin: str) -> None:
        """The master of a shared formula goes: give each follower its own formula."""
        from openpyxl.formula.translate import Translator  # rare path: import lazily

        for f in self.data.iter(self._q("f")):
            if f.get("t") == "shared" and f.get("si") == si and not f.text:
                target = f.getparent().get("r")
                f.text = Translator("=" + formula, origin=origin).translate_formula(target)[1:]
                for a in ("t", "si", "ref"):
                    f.attrib.pop(a, None)

    def _unarray(self, where: tuple[int, int]) -> None:
        """A value written inside an array formula's range dissolves the array (values stay)."""
        if self._arrays is None:
            self._arrays = []
            for f in self.data.iter(self._q("f")):
                if f.get("t") == "array" and f.get("ref"):
                    self._arrays.append((_range_box(f.get("ref")), f))
        col, n = where
        for box, f in self._arrays:
            c0, r0, c1, r1 = box
            if c0 <= col <= c1 and r0 <= n <= r1 and f.getparent() is not None:
                self.removed_formulas.append(f.getparent().get("r"))
                f.getparent().remove(f)

    # -- layout
    def set_width(self, col: int, width: float) -> None:
        cols = self.root.find(self._q("cols"))
        if cols is None:
            cols = etree.Element(self._q("cols"))
            _insert_ordered(self.root, cols, _SHEET_ORDER)
        n = col + 1
        for c in list(cols):
            if _local(c) != "col" or not int(c.get("min")) <= n <= int(c.get("max")):
                continue
            if c.get("customWidth") in ("1", "true"):
                return
            self._split_col(cols, c, n)
            break
        new = etree.Element(self._q("col"), min=str(n), max=str(n), width=f"{width:g}",
                            customWidth="1")
        for c in cols:
            if _local(c) == "col" and int(c.get("min")) == n:
                for k, v in c.attrib.items():
                    if k not in ("width", "customWidth"):
                        new.set(k, v)
                cols.replace(c, new)
                break
        else:
            later = [c for c in cols if _local(c) == "col" and int(c.get("min")) > n]
            later[0].addprevious(new) if later else cols.append(new)
        self.changed = True

    def _split_col(self, cols, c, n: int) -> None:
        """Cut the <col> range covering ``n`` so that ``n`` stands alone."""
        lo, hi = int(c.get("min")), int(c.get("max"))
        pieces = [(lo, n - 1), (n, n), (n + 1, hi)]
        for a, b in pieces:
            if a > b:
                continue
            piece = copy.deepcopy(c)
            piece.set("min", str(a))
            piece.set("max", str(b))
            c.addprevious(piece)
        cols.remove(c)

    def add_merge(self, rng: str) -> None:
        box = _range_box(rng)
        merges = self.root.find(self._q("mergeCells"))
        if merges is None:
            merges = etree.Element(self._q("mergeCells"))
            _insert_ordered(self.root, merges, _SHEET_ORDER)
        for m in merges:
            if _overlap(box, _range_box(m.get("ref", "A1"))):
                return
        etree.SubElement(merges, self._q("mergeCell"), ref=rng)
        merges.set("count", str(len(merges)))
        self.changed = True

    def finish(self) -> None:
        """Grow <dimension> and the rows' spans to cover the cells written."""
        if not self.touched:
            return
        for col, n in self.touched:
            row = self.rows[n]
            spans = row.get("spans")
            if spans:
                nums = [int(x) for part in spans.split() for x in part.split(":")]
                row.set("spans", f"{min(*nums, col + 1)}:{max(*nums, col + 1)}")
        dim = self.root.find(self._q("dimension"))
        if dim is not None:
            c0, r0, c1, r1 = _range_box(dim.get("ref", "A1"))
            for col, n in self.touched:
                c0, r0, c1, r1 = min(c0, col), min(r0, n), max(c1, col), max(r1, n)
            new = f"{cell_ref(c0, r0)}:{cell_ref(c1, r1)}" if (c0, r0) != (c1, r1) else cell_ref(c0, r0)
            if new != dim.get("ref"):
                dim.set("ref", new)


def _order_attributes(el, first: Sequence[str]) -> None:
    """Put ``first`` attributes first, as Excel writes them (r, s, t on a cell)."""
    items = list(el.attrib.items())
    ordered = [(k, v) for name in first for k, v in items if k == name]
    if [k for k, _ in items[:len(ordered)]] == [k for k, _ in ordered]:
        return
    rest = [(k, v) for k, v in items if k not in first]
    el.attrib.clear()
    for k, v in ordered + rest:
        el.set(k, v)


def _range_box(rng: str) -> tuple[int, int, int, int]:
    a, _, b = rng.partition(":")
    c0, r0 = parse_ref(a)
    c1, r1 = parse_ref(b) if b else (c0, r0)
    return min(c0, c1), min(r0, r1), max(c0, c1), max(r0, r1)


def _overlap(a, b) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _serial(value: dt.date, date1904: bool) -> float:
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value.replace(tzinfo=None) - epoch
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6


def _number_text(value) -> str:
    f = float(value)
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _ooxml_text(s: str) -> str:
    """Text as OOXML stores it: control characters as _xHHHH_, a literal _xHHHH_ escaped."""
    s = _ESCAPE_LIKE.sub(r"_x005F_\1", s)
    s = _ILLEGAL_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
    return _SURROGATE.sub("\ufffd", s)
