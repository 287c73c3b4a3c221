"""Copies of a workbook that python-calamine can open, for files every office program opens.

- ``without_macro_sheets``: calamine refuses a whole workbook that has an Excel 4.0
  macro sheet ("Unrecognized sheet:type") or a dialog sheet, although the ledger
  sheet beside it is perfectly readable. The copy leaves out those parts and their
  entries in the workbook, its relationships and the content types; every other
  part is copied byte for byte. The macros are never run either way.
- ``without_far_values``: a sheet that holds nothing but a value or two far out is given to
  calamine without them (pre-flight found them: ``toolkit.intake.farvalues``).
- ``decrypted_copy``: Excel encrypts "protected" workbooks with its built-in
  default password "VelvetSweatshop" and opens them without asking for one;
  msoffcrypto-tool decrypts them the same way. A password someone typed stays
  a password: the copy is None and the file is reported as encrypted.

Both write into a folder the caller owns (a temporary one, inside the sandboxed
worker) and are only called on files that passed pre-flight; the decrypted copy
must pass pre-flight itself before any parser sees it.
"""
from __future__ import annotations

import logging
import re
import shutil
import zipfile
from pathlib import Path

from toolkit.intake.farvalues import blank_records

log = logging.getLogger("taizhang")

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
        book = workbook_part(z, names)
        if book is None:
            return None
        rels_name = rels_of(book)
        rels = z.read(names[rels_name.casefold()]) if rels_name.casefold() in names else b""
        dropped_ids, dropped_parts = set(), set()
        for rel in _REL.findall(rels):
            if any(t in xml_attr(rel, "Type") for t in _MACRO_TYPES):
                dropped_ids.add(xml_attr(rel, "Id"))
                part = resolve_target(book, xml_attr(rel, "Target").decode("utf-8", "replace"))
                dropped_parts |= {part.casefold(), rels_of(part).casefold()}
        if not dropped_ids:
            return None
        workbook = z.read(book)
        sheets = [m for m in re.findall(rb"<(?:[\w.\-]+:)?sheet\s[^>]*>", workbook)
                  if xml_attr(m, "r:id") in dropped_ids or xml_attr(m, "id") in dropped_ids]
        edits = {
            book: _drop(workbook, sheets),
            names[rels_name.casefold()]: _drop(rels, [r for r in _REL.findall(rels)
                                                      if xml_attr(r, "Id") in dropped_ids]),
        }
        if "[content_types].xml" in names:
            types = z.read(names["[content_types].xml"])
            overrides = [o for o in re.findall(rb"<(?:[\w.\-]+:)?Override\s[^>]*>", types)
                         if xml_attr(o, "PartName").decode("utf-8", "replace").lstrip("/").casefold()
                         in dropped_parts]
            edits[names["[content_types].xml"]] = _drop(types, overrides)
        out = fresh_path(folder, "sanitised", path.suffix or ".xlsx")
        rewrite_zip(z, out, edits, drop=dropped_parts)
    shown = [xml_attr(m, "name").decode("utf-8", "replace") for m in sheets]
    return out, shown


def decrypted_copy(path: Path, folder: Path) -> Path | None:
    """A decrypted copy of ``path`` when Excel's default password opens it, else None.

    OOXML is checked against the password's verifier (``verify_password=True``); the .xls
    class of msoffcrypto-tool 6 takes no such argument (a TypeError once made every
    default-password .xls an encrypted one): its ``load_key`` verifies by itself, for RC4
    CryptoAPI (Excel 2002 and later), the old 40-bit RC4 (Excel 97/2000, LibreOffice) and
    XOR obfuscation (Excel 95), and raises for any other password."""
    import msoffcrypto
    from msoffcrypto.format.xls97 import Xls97File
    out = folder / f"decrypted{path.suffix or '.xlsx'}"
    try:
        with open(path, "rb") as src:
            office = msoffcrypto.OfficeFile(src)
            if not office.is_encrypted():
                return None
            if isinstance(office, Xls97File):
                office.load_key(password=DEFAULT_PASSWORD)
            else:
                office.load_key(password=DEFAULT_PASSWORD, verify_password=True)
            with open(out, "wb") as sink:
                office.decrypt(sink)
    except Exception:       # noqa: BLE001 - a wrong password or an unsupported scheme: stays encrypted
        log.info("%s: not opened with the default password", path, exc_info=True)
        out.unlink(missing_ok=True)
        return None
    return out


def without_far_values(path: Path, notes: list, folder: Path) -> Path:
    """A copy of ``path`` without the lone far values pre-flight found (``toolkit.intake.farvalues``):
    in an .xlsx each such sheet part becomes its few near cells; in an .xls each far cell record
    becomes a BLANK of the same size (no reader places a BLANK; every offset stays)."""
    out = fresh_path(folder, "near", path.suffix or ".xlsx")
    parts = {n.part: n for n in notes}
    with open(path, "rb") as f:
        is_zip = f.read(2) == b"PK"
    if is_zip:
        with zipfile.ZipFile(path) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in z.infolist():
                if info.filename in parts:
                    dst.writestr(info.filename, parts[info.filename].replacement)
                    continue
                with z.open(info) as src, dst.open(info.filename, "w") as sink:
                    shutil.copyfileobj(src, sink, 1 << 20)
        return out
    import olefile
    shutil.copyfile(path, out)
    with olefile.OleFileIO(str(out), write_mode=True) as ole:
        for stream, note in parts.items():
            ole.write_stream(stream, blank_records(ole.openstream(stream).read(), note.records))
    return out


def fresh_path(folder: Path, stem: str, suffix: str) -> Path:
    """A name not yet taken in ``folder`` (one reading may make several copies: a copy of a copy
    must never overwrite the file it is made from)."""
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def workbook_part(z: zipfile.ZipFile, names: dict[str, str]) -> str | None:
    if "xl/workbook.xml" in names:
        return names["xl/workbook.xml"]
    root = names.get("_rels/.rels")
    for rel in _REL.findall(z.read(root)) if root else []:
        if _OFFICE_DOC in xml_attr(rel, "Type"):
            target = resolve_target("", xml_attr(rel, "Target").decode("utf-8", "replace"))
            return names.get(target.casefold())
    return None


def rels_of(part: str) -> str:
    folder, _, leaf = part.rpartition("/")
    return f"{folder}/_rels/{leaf}.rels".lstrip("/")


def resolve_target(base_part: str, target: str) -> str:
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


def xml_attr(tag: bytes, name: str) -> bytes:
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


def rewrite_zip(z: zipfile.ZipFile, out: Path, edits: dict[str, bytes], *, drop: set[str] = frozenset()) -> None:
    """A copy of the package ``z`` at ``out``: ``edits`` replace their members' bytes, the members
    whose casefolded names are in ``drop`` are left out, the rest are copied as they are."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in z.infolist():
            if info.filename.casefold() in drop:
                continue
            if info.filename in edits:
                dst.writestr(info.filename, edits[info.filename])
                continue
            with z.open(info) as src, dst.open(info.filename, "w") as sink:
                shutil.copyfileobj(src, sink, 1 << 20)
