"""The workbook's zip package: members read on demand, XML parts parsed, edited and
written back; every part nobody touched is copied byte for byte (same compression, order)."""
from __future__ import annotations

import datetime as dt
import logging
import posixpath
import zipfile
from pathlib import Path
from typing import Sequence

from lxml import etree

from toolkit.outputs.writeback.model import NotPatchable

log = logging.getLogger("taizhang")

_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


def _rels_name(part: str) -> str:
    d, b = posixpath.split(part)
    return posixpath.join(d, "_rels", b + ".rels")


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


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
                log.info("part %s cannot be parsed: %s", name, e)        # the parser's English: the log only
                why = "嵌套层数过多" if "depth" in str(e).lower() else "内容不完整或格式错误"
                book = Path(self.zf.filename).name if self.zf.filename else "工作簿"
                raise NotPatchable(f"“{book}”内部的 {name} 无法解析（{why}），工具没有改动它。"
                                   "请用 Excel/WPS 打开后另存为新的 .xlsx 再试。") from e
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
