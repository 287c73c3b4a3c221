"""Copies of a workbook that python-calamine can open, for files every office program opens.

- ``without_macro_sheets``: calamine refuses a whole workbook that has an Excel 4.0
  macro sheet ("Unrecognized sheet:type") or a dialog sheet, although the ledger
  sheet beside it is perfectly readable. The copy leaves out those parts and their
  entries in the workbook, its relationships and the content types; every other
  part is copied byte for byte. The macros are never run either way.
- ``decrypted_copy``: Excel encrypts "protected" workbooks with its built-in
  default password "VelvetSweatshop" and opens them without asking for one;
  msoffcrypto-tool decrypts them the same way. A password someone typed stays
  a password: the copy is None and the file is reported as encrypted.

Both write into a folder the caller owns (a temporary one, inside the sandboxed
worker) and are only called on files that passed pre-flight; the decrypted copy
must pass pre-flight itself before any parser sees it.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

DEFAULT_PASSWORD = "VelvetSweatshop"

_MACRO_TYPES = (b"/xlMacrosheet", b"/xlIntlMacrosheet", b"/dialogsheet")
_REL = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*>")
_ATTR = r'\b{}\s*=\s*"([^"]*)"'
_OFFICE_DOC = b"/officeDocument"


def macro_sheet_parts(path: Path) -> list[str]:
    """Names of the Excel 4.0 macro sheet and dialog sheet parts the zip lists (cheap)."""
    try:
        with zipfile.ZipFile(path) as z:
            return [n for n in z.namelist() if re.search(r"(?i)(^|/)(macrosheets|dialogsheets)/[^/]+\.xml$", n)]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def without_macro_sheets(path: Path, folder: Path) -> tuple[Path, list[str]] | None:
    """(a copy of ``path`` in ``folder`` without macro/dialog sheets, their sheet names),
    or None when the workbook has none wired in."""
    with zipfile.ZipFile(path) as z:
        names = {n.casefold(): n for n in z.namelist()}
        book = _workbook_part(z, names)
        if book is None:
            return None
        rels_name = _rels_of(book)
        rels = z.read(names[rels_name.casefold()]) if rels_name.casefold() in names else b""
        dropped_ids, dropped_parts = set(), set()
        for rel in _REL.findall(rels):
            if any(t in _attr(rel, "Type") for t in _MACRO_TYPES):
                dropped_ids.add(_attr(rel, "Id"))
                part = _resolve(book, _attr(rel, "Target").decode("utf-8", "replace"))
                dropped_parts |= {part.casefold(), _rels_of(part).casefold()}
        if not dropped_ids:
            return None
        workbook = z.read(book)
        sheets = [m for m in re.findall(rb"<(?:[\w.\-]+:)?sheet\s[^>]*>", workbook)
                  if _attr(m, "r:id") in dropped_ids or _attr(m, "id") in dropped_ids]
        edits = {
            book: _drop(workbook, sheets),
            names[rels_name.casefold()]: _drop(rels, [r for r in _REL.findall(rels)
                                                      if _attr(r, "Id") in dropped_ids]),
        }
        if "[content_types].xml" in names:
            types = z.read(names["[content_types].xml"])
            overrides = [o for o in re.findall(rb"<(?:[\w.\-]+:)?Override\s[^>]*>", types)
                         if _attr(o, "PartName").decode("utf-8", "replace").lstrip("/").casefold()
                         in dropped_parts]
            edits[names["[content_types].xml"]] = _drop(types, overrides)
        out = folder / f"sanitised{path.suffix or '.xlsx'}"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in z.infolist():
                if info.filename.casefold() in dropped_parts:
                    continue
                if info.filename in edits:
                    dst.writestr(info.filename, edits[info.filename])
                    continue
                with z.open(info) as src, dst.open(info.filename, "w") as sink:
                    shutil.copyfileobj(src, sink, 1 << 20)
    shown = [_attr(m, "name").decode("utf-8", "replace") for m in sheets]
    return out, shown


def decrypted_copy(path: Path, folder: Path) -> Path | None:
    """A decrypted copy of ``path`` when Excel's default password opens it, else None."""
    import msoffcrypto
    out = folder / f"decrypted{path.suffix or '.xlsx'}"
    try:
        with open(path, "rb") as src:
            office = msoffcrypto.OfficeFile(src)
            if not office.is_encrypted():
                return None
            office.load_key(password=DEFAULT_PASSWORD, verify_password=True)
            with open(out, "wb") as sink:
                office.decrypt(sink)
    except Exception:       # noqa: BLE001 - a wrong password or an unsupported scheme: stays encrypted
        out.unlink(missing_ok=True)
        return None
    return out


def _workbook_part(z: zipfile.ZipFile, names: dict[str, str]) -> str | None:
    if "xl/workbook.xml" in names:
        return names["xl/workbook.xml"]
    root = names.get("_rels/.rels")
    for rel in _REL.findall(z.read(root)) if root else []:
        if _OFFICE_DOC in _attr(rel, "Type"):
            target = _resolve("", _attr(rel, "Target").decode("utf-8", "replace"))
            return names.get(target.casefold())
    return None


def _rels_of(part: str) -> str:
    folder, _, leaf = part.rpartition("/")
    return f"{folder}/_rels/{leaf}.rels".lstrip("/")


def _resolve(base_part: str, target: str) -> str:
    """A relationship target as a zip member name, relative to the part that owns the rels."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts = base_part.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _attr(tag: bytes, name: str) -> bytes:
    m = re.search(_ATTR.format(re.escape(name)).encode(), tag)
    return m.group(1) if m else b""


def _drop(data: bytes, tags: list[bytes]) -> bytes:
    """Remove each self-closing tag (or a tag and its closing pair) from ``data``."""
    for tag in tags:
        if tag.endswith(b"/>"):
            data = data.replace(tag, b"", 1)
        else:
            local = re.match(rb"<([\w.\-:]+)", tag).group(1)
            data = re.sub(re.escape(tag) + rb".*?</" + re.escape(local) + rb">", b"", data, count=1, flags=re.S)
    return data
