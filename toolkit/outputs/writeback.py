"""Surgical write-back into an existing .xlsx/.xlsm workbook.

openpyxl's load+save drops shapes, form buttons, x14 validations and
conditional formats, threaded comments and printer settings, so the toolkit
never round-trips a clerk's workbook through it. Instead ``patch_workbook``
opens the zip package, edits with lxml only the parts it must:

- the target sheet's XML (cells, ``<dimension>``, new ``<col>`` widths, new
  merged ranges; every other element of the sheet, extLst included, is kept),
- ``xl/styles.xml`` (new fonts, fills, number formats and cell formats are
  APPENDED, never renumbered; identical ones are reused, so daily runs do not
  grow the file),
- ``xl/calcChain.xml`` only when a formula cell is overwritten,
- for a new sheet: the new sheet part, ``xl/workbook.xml``,
  ``xl/_rels/workbook.xml.rels`` and ``[Content_Types].xml``,

and copies every other member unchanged (same bytes after decompression, same
compression type, same order). Strings are written as inline strings, so
``sharedStrings.xml`` stays untouched and a text that starts with "=" stays
text. The output goes to a temporary file beside the destination, is fsynced
and moved into place with ``os.replace``: a crash leaves the old file or the
complete new one. An in-place write first keeps a copy of the original in the
``备份`` folder beside the workbook.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import numbers
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from lxml import etree

from toolkit.core.config import BACKUP_DIR
from toolkit.core.cells import cell_ref, column_index, column_letter
from toolkit.core.errors import TaizhangError

TEMP_PREFIX = ".~taizhang-"
PATCHABLE_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")

_XML_NS = "http://www.w3.org/XML/1998/namespace"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL_TRANSITIONAL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

# CT_Worksheet child order: new elements are inserted where the schema wants them.
_SHEET_ORDER = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
    "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
    "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
    "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
    "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst")
_STYLE_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                "dxfs", "tableStyles", "colors", "extLst")
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9,
                    "0.00%": 10, "@": 49}
_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
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


@dataclass
class PatchResult:
    path: Path
    changed: bool
    changed_parts: list[str] = field(default_factory=list)
    added_parts: list[str] = field(default_factory=list)
    removed_parts: list[str] = field(default_factory=list)
    backup: Path | None = None


# --------------------------------------------------------------------------- locks
def lock_files(path: Path) -> list[Path]:
    """Lock files Excel/WPS (``~$name``, Excel's ``~$`` + name[2:]) or LibreOffice
    (``.~lock.name#``) keep beside a workbook while it is open."""
    path = Path(path)
    names = [f"~${path.name}", f".~lock.{path.name}#"]
    if len(path.name) > 2:
        names.append("~$" + path.name[2:])
    return [path.with_name(n) for n in dict.fromkeys(names) if path.with_name(n).exists()]


def workbook_in_use(path: Path) -> bool:
    """True when the workbook is open in Excel, WPS or LibreOffice."""
    path = Path(path)
    if lock_files(path):
        return True
    if os.name == "nt" and path.exists():   # Excel holds an exclusive share lock on Windows
        try:
            with open(path, "r+b"):
                pass
        except PermissionError:
            return True
    return False


def in_use_message(path: Path) -> str:
    found = lock_files(path)
    hint = (f"（发现锁定文件“{found[0].name}”；如确认没有人打开，可删除该锁定文件）" if found else "")
    return (f"文件“{Path(path).name}”正在被 Excel、WPS 或其他程序打开{hint}，工具没有改动它。"
            "请先保存并关闭该文件，再重新操作。")


# --------------------------------------------------------------------------- entry
def patch_workbook(src: Path, dst: Path, edits: Mapping[str, Mapping[str, CellEdit]], *,
                   new_sheets: Sequence[NewSheet] = (),
                   column_widths: Mapping[str, Mapping[int, float]] | None = None,
                   merges: Mapping[str, Sequence[str]] | None = None) -> PatchResult:
    """Write ``edits`` (sheet name -> cell ref -> CellEdit) from ``src`` into ``dst``.

    ``dst`` may be ``src`` (in place: the original is backed up first). Column
    widths (0-based column -> width) are set only where the sheet has no
    custom width; ``merges`` adds merged ranges that overlap none.
    """
    src, dst = Path(src), Path(dst)
    check_patchable(src)
    if workbook_in_use(dst):    # reading an open source is harmless; replacing an open file is not
        raise WorkbookInUse(in_use_message(dst))
    in_place = dst.exists() and os.path.samefile(src, dst)
    with _writer_lock(dst):
        _remove_stale_temps(dst)
        tmp = None
        try:
            with _open_zip(src) as zf:
                pkg = _Package(zf)
                try:
                    _apply(pkg, edits, new_sheets, column_widths or {}, merges or {})
                except (ValueError, KeyError, IndexError) as e:   # malformed sheet XML
                    raise NotPatchable(f"“{src.name}”内部结构异常（{e}），工具没有改动它。"
                                       "请用 Excel/WPS 打开后重新保存再试。") from e
                result = PatchResult(dst, pkg.dirty, *pkg.summary())
                if in_place and not pkg.dirty:
                    return result
                tmp = _write_temp(dst, pkg)
            if in_place:
                result.backup = backup_original(src)
            _commit(tmp, dst, mode_from=src)
            tmp = None
            return result
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)


def check_patchable(path: Path) -> None:
    """Raise NotPatchable with a Chinese reason unless ``path`` is an OOXML workbook."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise NotPatchable(f"找不到文件“{name}”。")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise NotPatchable(f"“{name}”是旧版 .xls 格式，工具无法在不损坏格式的前提下写入。"
                           "请在 Excel/WPS 中“另存为”Excel 工作簿（.xlsx）后再操作。")
    if suffix not in PATCHABLE_SUFFIXES:
        raise NotPatchable(f"“{name}”不是 .xlsx/.xlsm 工作簿，工具只能写入这两种格式。"
                           "请在 Excel/WPS 中另存为 .xlsx 后再操作。")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(8)
        if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise NotPatchable(f"“{name}”设置了打开密码（或实为旧版 .xls），工具无法写入。"
                               "请取消密码并另存为 .xlsx 后再操作。")
        raise NotPatchable(f"“{name}”已损坏或不是 Excel 文件，工具无法写入。"
                           "请用 Excel/WPS 打开确认后另存为 .xlsx。")


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise NotPatchable(f"“{path.name}”无法打开（{e}），工具没有改动它。") from e


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names in order (WritebackError if it is no OOXML workbook)."""
    check_patchable(path)
    with _open_zip(Path(path)) as zf:
        return [name for name, _, _ in _Workbook(_Package(zf)).sheets()]


def used_column_bound(path: Path, sheet: str, rows: set[int]) -> int:
    """The furthest 0-based column holding a value (or formula) in ``rows`` of ``sheet``;
    -1 when none. Fill appends its columns beyond it so nothing a person wrote is covered."""
    check_patchable(path)
    with _open_zip(Path(path)) as zf:
        wb = _Workbook(_Package(zf))
        found = wb.find_sheet(sheet)
        if found is None:
            raise WritebackError(f"工作簿中没有工作表“{sheet}”。")
        s = _Sheet(wb.pkg.xml(found[1]), wb)
        last = -1
        for n in rows:
            row = s.rows.get(n)
            if row is None:
                continue
            for col, c in s.cells(n, row).items():
                if col > last and any(_local(x) in ("v", "is", "f") for x in c):
                    last = col
        return last


# --------------------------------------------------------------------------- package
def _rels_name(part: str) -> str:
    d, b = posixpath.split(part)
    return posixpath.join(d, "_rels", b + ".rels")


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


class _Package:
    """The zip's members, with parsed XML parts that may be edited and re-serialised."""

    _parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                              remove_blank_text=False)

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.infos = zf.infolist()
        names = [i.filename for i in self.infos]
        if len(set(names)) != len(names):
            raise NotPatchable("工作簿内部有重复的部件，文件结构异常，工具没有改动它。")
        self.names = set(names)
        self._trees: dict[str, etree._Element] = {}
        self._dirty: set[str] = set()
        self.added: dict[str, bytes] = {}
        self.removed: set[str] = set()
        self.workbook_part = self._office_document()

    # -- XML parts
    def xml(self, name: str):
        if name not in self._trees:
            if name not in self.names:
                raise NotPatchable(f"工作簿缺少部件 {name}，文件结构异常，工具没有改动它。")
            try:
                root = etree.fromstring(self.zf.read(name), self._parser)
            except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError) as e:
                raise NotPatchable(f"工作簿部件 {name} 已损坏（{e}），工具没有改动它。") from e
            if root.getroottree().docinfo.doctype:
                raise NotPatchable(f"工作簿部件 {name} 含有 DTD 声明，出于安全考虑工具不写入。")
            self._trees[name] = root
        return self._trees[name]

    def touch(self, name: str) -> None:
        self._dirty.add(name)

    def add(self, name: str, data: bytes) -> None:
        self.added[name] = data
        self.names.add(name)

    def remove(self, name: str) -> None:
        self.removed.add(name)

    @property
    def dirty(self) -> bool:
        return bool(self._dirty or self.added or self.removed)

    def summary(self) -> tuple[list[str], list[str], list[str]]:
        changed = [i.filename for i in self.infos
                   if i.filename in self._dirty and i.filename not in self.removed]
        return changed, sorted(self.added), sorted(self.removed)

    def data(self, name: str) -> bytes:
        if name in self._dirty or (name in self.added and name in self._trees):
            return _DECL + etree.tostring(self._trees[name], encoding="UTF-8")
        return self.zf.read(name)

    # -- relationships
    def rels(self, part: str):
        """(rels part name, root) of ``part``'s relationships; created if absent."""
        name = _rels_name(part)
        if name not in self.names and name not in self._trees:
            self._trees[name] = etree.Element(f"{{{_PKG_RELS}}}Relationships", nsmap={None: _PKG_RELS})
            self.added[name] = b""   # filled at write time
            self.names.add(name)
        return name, self.xml(name)

    def targets(self, part: str, type_suffix: str) -> list[tuple[str, str]]:
        """[(rel id, target part)] of ``part``'s relationships whose type ends with the suffix."""
        name = _rels_name(part)
        if name not in self.names:
            return []
        out = []
        for rel in self.xml(name):
            if rel.get("Type", "").endswith(type_suffix) and rel.get("TargetMode") != "External":
                out.append((rel.get("Id"), _resolve(part, rel.get("Target", ""))))
        return out

    def _office_document(self) -> str:
        for _, target in self.targets("", "/officeDocument"):
            return target
        if "xl/workbook.xml" in self.names:
            return "xl/workbook.xml"
        raise NotPatchable("工作簿中找不到主工作簿部件，文件结构异常，工具没有改动它。")

    def add_relationship(self, part: str, type_uri: str, target_part: str) -> str:
        name, root = self.rels(part)
        used = {r.get("Id") for r in root}
        n = len(used) + 1
        while f"rId{n}" in used:
            n += 1
        rel = etree.SubElement(root, f"{{{_PKG_RELS}}}Relationship")
        rel.set("Id", f"rId{n}")
        rel.set("Type", type_uri)
        rel.set("Target", posixpath.relpath(target_part, posixpath.dirname(part) or "."))
        self.touch(name)
        return f"rId{n}"

    def add_override(self, part: str, content_type: str) -> None:
        root = self.xml("[Content_Types].xml")
        ov = etree.SubElement(root, f"{{{_CT_NS}}}Override")
        ov.set("PartName", "/" + part)
        ov.set("ContentType", content_type)
        self.touch("[Content_Types].xml")

    # -- writing
    def write_to(self, fileobj) -> None:
        with zipfile.ZipFile(fileobj, "w", allowZip64=True) as out:
            for info in self.infos:
                if info.filename in self.removed:
                    continue
                out.writestr(_clone_info(info), self.data(info.filename), info.compress_type)
            for name in self.added:
                data = self.data(name)
                info = zipfile.ZipInfo(name, date_time=dt.datetime.now().timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, data)


def _clone_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.compress_type = info.compress_type
    new.external_attr = info.external_attr
    new.create_system = info.create_system
    new.comment = info.comment
    return new


# --------------------------------------------------------------------------- applying
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


def _apply(pkg: _Package, edits, new_sheets, widths, merges) -> None:
    wb = _Workbook(pkg)
    removed_formulas: list[tuple[str, str]] = []
    for sheet_name, cells in edits.items():
        found = wb.find_sheet(sheet_name)
        if found is None:
            raise WritebackError(f"工作簿中没有工作表“{sheet_name}”，工具没有改动文件。")
        sheet_id, part = found
        sheet = _Sheet(pkg.xml(part), wb)
        for ref, edit in cells.items():
            sheet.set(ref, edit)
        for col, width in (widths.get(sheet_name) or {}).items():
            sheet.set_width(col, width)
        for rng in merges.get(sheet_name) or ():
            sheet.add_merge(rng)
        if sheet.changed:
            sheet.finish()
            pkg.touch(part)
        removed_formulas += [(sheet_id, ref) for ref in sheet.removed_formulas]
    for spec in new_sheets:
        _add_sheet(wb, spec)
    if removed_formulas:
        _prune_calc_chain(wb, removed_formulas)


# --------------------------------------------------------------------------- styles
def _canon(el) -> tuple:
    """A comparable form of an element: tags in Clark notation (prefixes don't matter),
    sorted attributes, text, children."""
    text = el.text if el.text and el.text.strip() else ""   # pretty-printing is not content
    return (el.tag, tuple(sorted(el.attrib.items())), text,
            tuple(_canon(c) for c in el if isinstance(c.tag, str)))


def _insert_ordered(parent, child, order: Sequence[str]) -> None:
    """Insert ``child`` before the first sibling that the schema orders after it."""
    pos = order.index(_local(child))
    for i, sib in enumerate(parent):
        name = _local(sib)
        if name in order and order.index(name) > pos:
            parent.insert(i, child)
            return
    parent.append(child)


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


# --------------------------------------------------------------------------- sheets
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def parse_ref(ref: str) -> tuple[int, int]:
    """"D5" -> (0-based column 3, row 5); ValueError for anything else."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return column_index(m.group(1)), int(m.group(2))


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


# --------------------------------------------------------------------------- calcChain
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


# --------------------------------------------------------------------------- new sheets
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


# --------------------------------------------------------------------------- files
def _writer_lock(dst: Path):
    """One toolkit writer per workbook at a time (a lock outside the clerk's folder)."""
    from filelock import FileLock, Timeout

    folder = Path(tempfile.gettempdir()) / "taizhang-locks"
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(str(dst.resolve()).encode("utf-8")).hexdigest()
    lock = FileLock(str(folder / f"{key}.lock"), timeout=0)

    class _Guard:
        def __enter__(self):
            try:
                lock.acquire()
            except Timeout:
                raise WritebackError(f"“{dst.name}”正在被另一个台账工具进程写入，请稍后再试。") from None

        def __exit__(self, *exc):
            lock.release()
    return _Guard()


def _temp_prefix(dst: Path) -> str:
    return f"{TEMP_PREFIX}{dst.name}-"


def _remove_stale_temps(dst: Path) -> None:
    """Temp files a killed earlier run left behind (we hold the writer lock)."""
    prefix = _temp_prefix(dst)
    if not dst.parent.is_dir():
        return
    for p in dst.parent.iterdir():
        if p.name.startswith(prefix) and p.name.endswith(".tmp"):
            try:
                p.unlink()
            except OSError:
                pass


def _write_temp(dst: Path, pkg: _Package) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(dst), suffix=".tmp", dir=dst.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w+b") as f:
            pkg.write_to(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _commit(tmp: Path, dst: Path, *, mode_from: Path | None) -> None:
    if mode_from is not None:
        try:
            shutil.copymode(mode_from, tmp)
        except OSError:
            pass
    try:
        os.replace(tmp, dst)
    except PermissionError as e:   # Windows: the destination got opened meanwhile
        raise WorkbookInUse(f"无法替换“{dst.name}”：文件可能正被 Excel/WPS 打开，或没有写入权限。"
                            "原文件未改动；请关闭该文件、确认文件夹可写后重试。") from e
    _fsync_dir(dst.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def backup_original(path: Path) -> Path:
    """Copy ``path`` into ``备份/<stem>_<YYYYmmdd-HHMMSS><ext>`` beside it, unless an
    identical backup exists already; return the backup's path."""
    path = Path(path)
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    size, digest = path.stat().st_size, _sha256(path)
    pattern = re.compile(re.escape(path.stem) + r"_\d{8}-\d{6}(-\d+)?" + re.escape(path.suffix) + "$")
    for old in sorted(folder.iterdir()):
        if pattern.match(old.name) and old.stat().st_size == size and _sha256(old) == digest:
            return old
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target, n = folder / f"{path.stem}_{stamp}{path.suffix}", 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}_{stamp}-{n}{path.suffix}"
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        shutil.copy2(path, name)
        with open(name, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return target


__all__ = ["BACKUP_DIR", "CellEdit", "DATE_FORMAT", "KEEP", "NewSheet", "NotPatchable",
           "PatchResult", "WorkbookInUse", "WritebackError", "backup_original", "check_patchable",
           "column_letter", "in_use_message", "lock_files", "parse_ref", "patch_workbook",
           "sheet_names", "used_column_bound", "workbook_in_use"]
