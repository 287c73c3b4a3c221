"""Sheets the toolkit adds (校验结果): the new sheet part, ``xl/workbook.xml``,
``xl/_rels/workbook.xml.rels`` and ``[Content_Types].xml``; a sheet of that name
that exists already has its content replaced."""
from __future__ import annotations

import posixpath
import re

from lxml import etree

from toolkit.core.cells import cell_ref
from toolkit.outputs.writeback.model import CellEdit, NewSheet, WritebackError
from toolkit.outputs.writeback.package import _Package
from toolkit.outputs.writeback.sheet import _Sheet
from toolkit.outputs.writeback.workbook import _REL_TRANSITIONAL, _r_ns, _rel_type, _Workbook

_SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _add_sheet(wb: _Workbook, spec: NewSheet) -> None:
    if not spec.name or len(spec.name) > 31 or _BAD_SHEET_CHARS.search(spec.name):
        raise WritebackError(f"工作表名“{spec.name}”不合 Excel 规则（最多 31 字，不含 []:*?/\\）。")
    pkg, ns = wb.pkg, wb.ns
    found = wb.find_sheet(spec.name)
    if found is not None:
        part = found[1]
        pkg._trees[part] = _sheet_skeleton(ns, spec)
    else:
        part = _free_sheet_part(pkg, wb.part)
        pkg.add(part, b"")
        pkg._trees[part] = _sheet_skeleton(ns, spec)
        rid = pkg.add_relationship(wb.part, _rel_type(wb.root, "worksheet"), part)
        sheets = wb.root.find(f"{{{ns}}}sheets")
        ids = [int(s.get("sheetId", "0")) for s in sheets]
        el = etree.SubElement(sheets, f"{{{ns}}}sheet")
        el.set("name", spec.name)
        el.set("sheetId", str(max(ids, default=0) + 1))
        el.set(f"{{{_r_ns(wb.root)}}}id", rid)
        pkg.touch(wb.part)
        pkg.add_override(part, _SHEET_CT)
    sheet = _Sheet(pkg._trees[part], wb)
    for r, row in enumerate(spec.rows):
        for c, item in enumerate(row):
            edit = item if isinstance(item, CellEdit) else CellEdit(item)
            if r == spec.header_row:
                edit = CellEdit(edit.value, fill=spec.header_fill, bold=True, wrap=True)
            elif c in spec.wrap_columns:
                edit = CellEdit(edit.value, edit.fill, edit.font_color, edit.bold,
                                edit.number_format, True)
            sheet.set(cell_ref(c, r + 1), edit)
    for r, height in spec.row_heights.items():      # wrapped text prints whole (LibreOffice, Excel)
        row = sheet.row(r + 1, create=True)
        row.set("ht", f"{height:g}")
        row.set("customHeight", "1")
    for rng in spec.merges:
        sheet.add_merge(rng)
    sheet.finish()
    pkg.touch(part)


def _free_sheet_part(pkg: _Package, wb_part: str) -> str:
    folder = posixpath.join(posixpath.dirname(wb_part), "worksheets")
    n = 1
    while posixpath.join(folder, f"sheet{n}.xml") in pkg.names:
        n += 1
    return posixpath.join(folder, f"sheet{n}.xml")


def _sheet_skeleton(ns: str, spec: NewSheet):
    nrows = max(len(spec.rows), 1)
    ncols = max((len(r) for r in spec.rows), default=1) or 1
    root = etree.Element(f"{{{ns}}}worksheet", nsmap={None: ns, "r": _REL_TRANSITIONAL})
    q = lambda n: f"{{{ns}}}{n}"   # noqa: E731
    etree.SubElement(etree.SubElement(root, q("sheetPr")), q("pageSetUpPr"), fitToPage="1")
    etree.SubElement(root, q("dimension"), ref=f"A1:{cell_ref(ncols - 1, nrows)}")
    view = etree.SubElement(etree.SubElement(root, q("sheetViews")), q("sheetView"), workbookViewId="0")
    if spec.freeze_rows:
        top = f"A{spec.freeze_rows + 1}"
        etree.SubElement(view, q("pane"), ySplit=str(spec.freeze_rows), topLeftCell=top,
                         activePane="bottomLeft", state="frozen")
        etree.SubElement(view, q("selection"), pane="bottomLeft", activeCell=top, sqref=top)
    etree.SubElement(root, q("sheetFormatPr"), defaultRowHeight="15")
    if spec.column_widths:
        cols = etree.SubElement(root, q("cols"))
        for i, w in enumerate(spec.column_widths):
            etree.SubElement(cols, q("col"), min=str(i + 1), max=str(i + 1), width=f"{w:g}",
                             customWidth="1")
    etree.SubElement(root, q("sheetData"))
    if spec.links:
        links = etree.SubElement(root, q("hyperlinks"))
        for ref, location in spec.links.items():
            etree.SubElement(links, q("hyperlink"), ref=ref, location=location, display=ref)
    etree.SubElement(root, q("pageMargins"), left="0.7", right="0.7", top="0.75", bottom="0.75",
                     header="0.3", footer="0.3")
    etree.SubElement(root, q("pageSetup"), paperSize="9", fitToWidth="1", fitToHeight="0",
                     orientation="landscape")   # A4 landscape, one page wide
    return root
