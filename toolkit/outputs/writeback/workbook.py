"""The workbook part: its sheets, its styles part, its date system, and the calcChain
entries a removed formula leaves stale."""
from __future__ import annotations

import posixpath
import re

from lxml import etree

from toolkit.outputs.writeback.package import _Package
from toolkit.outputs.writeback.styles import _minimal_styles, _Styles

_REL_TRANSITIONAL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"


_ONE_RANGE = re.compile(r"('(?:[^']|'')+'|[^!,']+)!\$?([A-Z]{1,3})\$?(\d+):\$?([A-Z]{1,3})\$?(\d+)")


class _Workbook:
    """Sheets, styles and the date system of the package's workbook part."""

    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.part = pkg.workbook_part
        self.root = pkg.xml(self.part)
        self.ns = etree.QName(self.root).namespace
        pr = self.root.find(f"{{{self.ns}}}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904") in ("1", "true")
        self._styles: _Styles | None = None

    def sheets(self) -> list[tuple[str, str, str]]:
        """[(name, sheetId, part)] in workbook order."""
        rels = {rid: target for rid, target in self.pkg.targets(self.part, "")}
        out = []
        sheets = self.root.find(f"{{{self.ns}}}sheets")
        for el in (sheets if sheets is not None else ()):
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            out.append((el.get("name", ""), el.get("sheetId", ""), rels.get(rid, "")))
        return out

    def find_sheet(self, name: str) -> tuple[str, str] | None:
        """(sheetId, part) of the sheet called ``name`` (exact, else case-insensitive)."""
        sheets = self.sheets()
        for wanted in (lambda n: n == name, lambda n: n.casefold() == name.casefold()):
            for n, sid, part in sheets:
                if wanted(n):
                    return sid, part
        return None

    def trim_print_area(self, name: str, last_row: int) -> bool:
        """End the sheet's print area (``_xlnm.Print_Area``, one range) at ``last_row``.

        A template prints its blank rows too; a copy of a few cases should not. Sheets
        without a print area, or with several ranges, are left as they are. True if changed.
        """
        names = [n for n, _, _ in self.sheets()]
        if name not in names:
            return False
        defined = self.root.find(f"{{{self.ns}}}definedNames")
        for el in (defined if defined is not None else ()):
            if el.get("name") != "_xlnm.Print_Area" or el.get("localSheetId") != str(names.index(name)):
                continue
            m = _ONE_RANGE.fullmatch((el.text or "").strip())
            if m is None or int(m.group(5)) <= last_row:
                return False
            el.text = f"{m.group(1)}!${m.group(2)}${m.group(3)}:${m.group(4)}${max(last_row, int(m.group(3)))}"
            self.pkg.touch(self.part)
            return True
        return False

    @property
    def styles(self) -> _Styles:
        if self._styles is None:
            found = self.pkg.targets(self.part, "/styles")
            if found:
                part = found[0][1]
            else:
                part = posixpath.join(posixpath.dirname(self.part), "styles.xml")
                self.pkg.add(part, b"")
                self.pkg._trees[part] = _minimal_styles(self.ns)
                self.pkg.add_relationship(self.part, _rel_type(self.root, "styles"), part)
                self.pkg.add_override(part, _STYLES_CT)
            self._styles = _Styles(self.pkg, part)
        return self._styles


def _r_ns(root) -> str:
    """The officeDocument relationships namespace in the package's flavour (transitional/strict)."""
    return next((ns for ns in root.nsmap.values() if ns and ns.endswith("relationships")
                 and "package" not in ns), _REL_TRANSITIONAL)


def _rel_type(root, kind: str) -> str:
    return f"{_r_ns(root)}/{kind}"


# --- calcChain ------------------------------------------------------------------------
def _prune_calc_chain(wb: _Workbook, removed: list[tuple[str, str]]) -> None:
    """Drop calcChain entries of cells that lost their formula (Excel calls a stale one corrupt)."""
    found = wb.pkg.targets(wb.part, "/calcChain")
    if not found:
        return
    rid, part = found[0]
    root = wb.pkg.xml(part)
    gone = set(removed)
    sheet = None
    for c in list(root):
        if not isinstance(c.tag, str):
            continue
        sheet = c.get("i", sheet)
        if (sheet, c.get("r")) in gone:
            nxt = c.getnext()
            if c.get("i") and nxt is not None and not nxt.get("i"):
                nxt.set("i", c.get("i"))
            root.remove(c)
            wb.pkg.touch(part)
    if not any(isinstance(c.tag, str) for c in root):
        _remove_part(wb, rid, part)


def _remove_part(wb: _Workbook, rid: str, part: str) -> None:
    pkg = wb.pkg
    pkg.remove(part)
    rels_name, rels = pkg.rels(wb.part)
    for rel in list(rels):
        if rel.get("Id") == rid:
            rels.remove(rel)
    pkg.touch(rels_name)
    ct = pkg.xml("[Content_Types].xml")
    for ov in list(ct):
        if ov.get("PartName") == "/" + part:
            ct.remove(ov)
    pkg.touch("[Content_Types].xml")
