"""``xl/styles.xml``: new fonts, fills, number formats and cell formats are APPENDED, never
renumbered; identical ones are reused, so daily runs do not grow the file."""
from __future__ import annotations

import copy
import re

from lxml import etree

from toolkit.outputs.writeback.model import DATE_FORMAT, CellEdit
from toolkit.outputs.writeback.package import _canon, _insert_ordered, _Package

_STYLE_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                "dxfs", "tableStyles", "colors", "extLst")
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9,
                    "0.00%": 10, "@": 49}
_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


def _minimal_styles(ns: str):
    xml = (f'<styleSheet xmlns="{ns}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
           '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
           '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
           '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
           'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf '
           'numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>')
    return etree.fromstring(xml.encode())


class _Styles:
    """Appends (never renumbers) fonts, fills, number formats and cell formats."""

    def __init__(self, pkg: _Package, part: str) -> None:
        self.pkg, self.part = pkg, part
        self.root = pkg.xml(part)
        self.ns = etree.QName(self.root).namespace
        self._index: dict[str, dict[tuple, int]] = {}
        self._cache: dict[tuple, int] = {}

    def _q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def _container(self, name: str):
        el = self.root.find(self._q(name))
        if el is None:
            el = etree.Element(self._q(name))
            el.set("count", "0")
            _insert_ordered(self.root, el, _STYLE_ORDER)
        return el

    def _items(self, name: str) -> list:
        return [c for c in self._container(name) if isinstance(c.tag, str)]

    def _intern(self, container: str, el) -> int:
        """Index of an identical existing entry, else append ``el`` and return its index."""
        parent = self._container(container)
        if container not in self._index:
            idx: dict[tuple, int] = {}
            for i, c in enumerate(self._items(container)):
                idx.setdefault(_canon(c), i)
            self._index[container] = idx
        key = _canon(el)
        found = self._index[container].get(key)
        if found is not None:
            return found
        n = len(self._items(container))
        if n and parent[-1].tail:   # keep the file's pretty-printing
            el.tail = parent[-1].tail
        parent.append(el)
        parent.set("count", str(n + 1))
        self._index[container][key] = n
        self.pkg.touch(self.part)
        return n

    def xf(self, index: int):
        xfs = self._items("cellXfs")
        return xfs[index] if 0 <= index < len(xfs) else None

    def format_code(self, num_fmt_id: int) -> str | None:
        for nf in self._items("numFmts"):
            if nf.get("numFmtId") == str(num_fmt_id):
                return nf.get("formatCode")
        return None

    def is_date_style(self, index: int) -> bool:
        xf = self.xf(index)
        nid = int(xf.get("numFmtId", "0")) if xf is not None else 0
        return nid in _BUILTIN_DATE_IDS or _is_date_code(self.format_code(nid))

    def derive(self, base: int, edit: CellEdit, is_date: bool) -> int:
        """The cellXfs index of ``base`` changed as ``edit`` says (appended if new)."""
        number_format = edit.number_format
        if number_format is None and is_date and not self.is_date_style(base):
            number_format = DATE_FORMAT
        key = (base, edit.fill, edit.font_color, edit.bold, number_format, edit.wrap)
        if key not in self._cache:
            self._cache[key] = self._derive(base, edit, number_format)
        return self._cache[key]

    def _derive(self, base: int, edit: CellEdit, number_format: str | None) -> int:
        src = self.xf(base)
        xf = copy.deepcopy(src) if src is not None else etree.Element(self._q("xf"))
        xf.tail = None
        if src is None:
            for a in ("numFmtId", "fontId", "fillId", "borderId", "xfId"):
                xf.set(a, "0")
        if edit.fill is not None:
            xf.set("fillId", str(self._fill(edit.fill)))
            xf.set("applyFill", "1")
        if edit.font_color is not None or edit.bold is not None:
            xf.set("fontId", str(self._font(int(xf.get("fontId", "0")), edit)))
            xf.set("applyFont", "1")
        if number_format is not None:
            xf.set("numFmtId", str(self._num_fmt(number_format)))
            xf.set("applyNumberFormat", "1")
        if edit.wrap is not None:
            self._wrap(xf, edit.wrap)
        return self._intern("cellXfs", xf)

    def _fill(self, rgb: str) -> int:
        if not rgb:
            return 0
        fill = etree.Element(self._q("fill"))
        pf = etree.SubElement(fill, self._q("patternFill"), patternType="solid")
        etree.SubElement(pf, self._q("fgColor"), rgb=_argb(rgb))
        etree.SubElement(pf, self._q("bgColor"), indexed="64")
        return self._intern("fills", fill)

    def _font(self, base: int, edit: CellEdit) -> int:
        fonts = self._items("fonts")
        font = copy.deepcopy(fonts[base]) if 0 <= base < len(fonts) else etree.Element(self._q("font"))
        font.tail = None
        if edit.bold is not None:
            for b in font.findall(self._q("b")):
                font.remove(b)
            if edit.bold:
                font.insert(0, etree.Element(self._q("b")))
        if edit.font_color is not None:
            old = font.find(self._q("color"))
            color = etree.Element(self._q("color"), rgb=_argb(edit.font_color))
            if old is not None:
                font.replace(old, color) if edit.font_color else font.remove(old)
            elif edit.font_color:
                sz = font.find(self._q("sz"))
                font.insert(font.index(sz) + 1 if sz is not None else len(font), color)
        return self._intern("fonts", font)

    def _num_fmt(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        fmts = self._items("numFmts")
        for nf in fmts:
            if nf.get("formatCode") == code:
                return int(nf.get("numFmtId"))
        new_id = max([163, *(int(nf.get("numFmtId", "0")) for nf in fmts)]) + 1
        el = etree.Element(self._q("numFmt"), numFmtId=str(new_id), formatCode=code)
        self._intern("numFmts", el)
        return new_id

    def _wrap(self, xf, wrap: bool) -> None:
        al = xf.find(self._q("alignment"))
        if al is None:
            al = etree.Element(self._q("alignment"))
            xf.insert(0, al)
        if wrap:
            al.set("wrapText", "1")
        elif "wrapText" in al.attrib:
            del al.attrib["wrapText"]
        al.set("vertical", al.get("vertical", "top"))
        xf.set("applyAlignment", "1")


def _argb(rgb: str) -> str:
    rgb = rgb.lstrip("#").upper()
    return rgb if len(rgb) == 8 else "FF" + rgb


def _is_date_code(code: str | None) -> bool:
    if not code or code == "General":
        return False
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", code).lower()
    return bool(re.search(r"[ymdhse]", bare))
