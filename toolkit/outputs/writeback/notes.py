"""Notes (Excel's legacy comments) the toolkit adds to cells: the problem and what to do,
shown when the clerk points at a red cell of an annotated copy.

A note is two parts: the text in ``xl/commentsN.xml`` and the box in a VML drawing
(``xl/drawings/vmlDrawingN.vml``, referenced by the sheet's ``<legacyDrawing>``). A sheet
that has neither gets both. A sheet that has them already (the clerk's own notes, form
buttons) gets ours appended; a cell that already carries a note keeps the clerk's
note and gets none of ours (the 校验结果 sheet still lists the problem). A VML drawing
that is not well-formed XML (old Excel writes some that are not) is left alone and
its sheet gets no notes: nothing the clerk made is ever rewritten to add ours.
"""
from __future__ import annotations

import logging
import re
from typing import Mapping

from lxml import etree

from toolkit.core.cells import parse_ref
from toolkit.outputs.writeback.package import _insert_ordered, _Package
from toolkit.outputs.writeback.sheet import _SHEET_ORDER
from toolkit.outputs.writeback.workbook import _r_ns, _rel_type, _Workbook

log = logging.getLogger("taizhang")

AUTHOR = "台账工具"
_COMMENTS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_CT = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_V, _O, _X = ("urn:schemas-microsoft-com:vml", "urn:schemas-microsoft-com:office:office",
              "urn:schemas-microsoft-com:office:excel")
_SHAPE_ID = re.compile(r"_x0000_s(\d+)")
_NOTE_TYPE = "_x0000_t202"


def add_notes(wb: _Workbook, part: str, notes: Mapping[str, str]) -> int:
    """Add ``notes`` (cell ref -> text) to the sheet ``part``; returns how many were added."""
    pkg, sheet = wb.pkg, wb.pkg.xml(part)
    vml = _vml_part(wb, part, sheet)
    if vml is None:
        return 0
    comments = _comments_part(wb, part)
    root = pkg.xml(comments)
    ns = etree.QName(root).namespace
    taken = {c.get("ref") for c in root.iter(f"{{{ns}}}comment")}
    author = _author_id(root, ns)
    added = 0
    for ref, text in notes.items():
        if ref in taken:
            continue
        _append_comment(root, ns, ref, author, text)
        _append_shape(pkg.xml(vml), ref)
        added += 1
    if added:
        pkg.touch(comments)
        pkg.touch(vml)
    return added


def _comments_part(wb: _Workbook, part: str) -> str:
    pkg = wb.pkg
    found = pkg.targets(part, "/comments")
    if found:
        return found[0][1]
    name = _free(pkg, "xl/comments{}.xml")
    root = etree.Element(f"{{{wb.ns}}}comments", nsmap={None: wb.ns})
    etree.SubElement(root, f"{{{wb.ns}}}authors")
    etree.SubElement(root, f"{{{wb.ns}}}commentList")
    _new_part(pkg, name, root)
    pkg.add_relationship(part, _rel_type(wb.root, "comments"), name)
    pkg.add_override(name, _COMMENTS_CT)
    return name


def _vml_part(wb: _Workbook, part: str, sheet) -> str | None:
    """The sheet's VML drawing (made if absent), or None when it cannot be edited safely."""
    pkg = wb.pkg
    ns = etree.QName(sheet).namespace
    legacy = sheet.find(f"{{{ns}}}legacyDrawing")
    if legacy is not None:
        rid = legacy.get(f"{{{_r_ns(sheet)}}}id")
        target = next((t for r, t in pkg.targets(part, "/vmlDrawing") if r == rid), None)
        try:
            return target if target is not None and pkg.xml(target) is not None else None
        except Exception:       # not well-formed: leave the clerk's drawing alone
            log.info("notes skipped: the VML drawing %s of %s cannot be parsed", target, part)
            return None
    name = _free(pkg, "xl/drawings/vmlDrawing{}.vml")
    _new_part(pkg, name, _empty_vml(_free_idmap(pkg)))
    rid = pkg.add_relationship(part, _rel_type(wb.root, "vmlDrawing"), name)
    el = etree.Element(f"{{{ns}}}legacyDrawing")
    el.set(f"{{{_r_ns(sheet)}}}id", rid)
    _insert_ordered(sheet, el, _SHEET_ORDER)
    pkg.touch(part)
    _vml_default(pkg)
    return name


def _append_comment(root, ns: str, ref: str, author: int, text: str) -> None:
    comment = etree.SubElement(root.find(f"{{{ns}}}commentList"), f"{{{ns}}}comment")
    comment.set("ref", ref)
    comment.set("authorId", str(author))
    body = etree.SubElement(comment, f"{{{ns}}}text")
    run = etree.SubElement(body, f"{{{ns}}}r")
    props = etree.SubElement(run, f"{{{ns}}}rPr")
    etree.SubElement(props, f"{{{ns}}}b")
    etree.SubElement(run, f"{{{ns}}}t").text = f"{AUTHOR}："
    t = etree.SubElement(etree.SubElement(body, f"{{{ns}}}r"), f"{{{ns}}}t")
    t.text = "\n" + text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _author_id(root, ns: str) -> int:
    authors = root.find(f"{{{ns}}}authors")
    names = [a.text for a in authors]
    if AUTHOR in names:
        return names.index(AUTHOR)
    etree.SubElement(authors, f"{{{ns}}}author").text = AUTHOR
    return len(names)


def _append_shape(vml, ref: str) -> None:
    col, row = parse_ref(ref)
    ids = [int(m.group(1)) for s in vml.iter(f"{{{_V}}}shape") if (m := _SHAPE_ID.fullmatch(s.get("id", "")))]
    block = int((vml.find(f".//{{{_O}}}idmap").get("data") or "1").split(",")[0])
    shape = etree.SubElement(vml, f"{{{_V}}}shape", id=f"_x0000_s{max(ids, default=block * 1024) + 1}",
                             type=f"#{_NOTE_TYPE}",
                             style="position:absolute;margin-left:60pt;margin-top:2pt;width:220pt;"
                                   "height:90pt;z-index:1;visibility:hidden")
    shape.set("fillcolor", "#ffffe1")
    shape.set(f"{{{_O}}}insetmode", "auto")
    etree.SubElement(shape, f"{{{_V}}}fill", color2="#ffffe1")
    etree.SubElement(shape, f"{{{_V}}}shadow", on="t", color="black", obscured="t")
    etree.SubElement(shape, f"{{{_V}}}path", {f"{{{_O}}}connecttype": "none"})
    box = etree.SubElement(shape, f"{{{_V}}}textbox", style="mso-direction-alt:auto")
    etree.SubElement(box, "div", style="text-align:left")
    data = etree.SubElement(shape, f"{{{_X}}}ClientData", ObjectType="Note")
    for tag, value in (("MoveWithCells", None), ("SizeWithCells", None),
                       ("Anchor", f"{col + 1}, 15, {max(row - 2, 0)}, 10, {col + 5}, 15, {row + 4}, 4"),
                       ("AutoFill", "False"), ("Row", str(row - 1)), ("Column", str(col))):
        etree.SubElement(data, f"{{{_X}}}{tag}").text = value


def _empty_vml(block: int):
    root = etree.Element("xml", nsmap={"v": _V, "o": _O, "x": _X})
    layout = etree.SubElement(root, f"{{{_O}}}shapelayout", {f"{{{_V}}}ext": "edit"})
    etree.SubElement(layout, f"{{{_O}}}idmap", {f"{{{_V}}}ext": "edit", "data": str(block)})
    kind = etree.SubElement(root, f"{{{_V}}}shapetype", id=_NOTE_TYPE, coordsize="21600,21600",
                            path="m,l,21600r21600,l21600,xe")
    kind.set(f"{{{_O}}}spt", "202")
    etree.SubElement(kind, f"{{{_V}}}stroke", joinstyle="miter")
    etree.SubElement(kind, f"{{{_V}}}path", {"gradientshapeok": "t", f"{{{_O}}}connecttype": "rect"})
    return root


def _free_idmap(pkg: _Package) -> int:
    """A shape-id block no other VML drawing of the workbook uses."""
    used = set()
    for name in pkg.names:
        if name.endswith(".vml") and name not in pkg.added:
            used |= {int(n) for n in re.findall(rb'idmap[^>]*data="(\d+)', pkg.zf.read(name))}
    return max(used, default=0) + 1


def _free(pkg: _Package, pattern: str) -> str:
    n = 1
    while pattern.format(n) in pkg.names:
        n += 1
    return pattern.format(n)


def _new_part(pkg: _Package, name: str, root) -> None:
    pkg.add(name, b"")
    pkg._trees[name] = root


def _vml_default(pkg: _Package) -> None:
    """[Content_Types].xml knows .vml (a Default by extension, as Excel writes it)."""
    root = pkg.xml("[Content_Types].xml")
    ns = etree.QName(root).namespace
    if any(d.get("Extension", "").lower() == "vml" for d in root.iter(f"{{{ns}}}Default")):
        return
    default = etree.Element(f"{{{ns}}}Default", Extension="vml", ContentType=_VML_CT)
    root.insert(0, default)
    pkg.touch("[Content_Types].xml")

