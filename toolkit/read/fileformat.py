"""What a workbook file is, from its bytes (never its name), and how to open it.

WPS and web systems write files whose extension lies: an OLE .xls named .xlsx, an .xlsx
named .xls, a web page named .xls. python-calamine chooses its reader by the extension, so
a file whose name does not say what it is gets opened under a name that does (a hard link,
else a copy, in the worker's temporary folder).

- zip: the central directory at the end of the file lists the parts: vbaProject.bin,
  macro sheets, ``xl/workbook.bin`` (.xlsb) or ``content.xml`` (.ods) show at once;
- OLE: the Workbook stream's BOF record says BIFF8 (python-calamine) or BIFF5/7, which
  python-calamine decodes wrongly for double-byte code pages (GBK text comes back as
  noise) and refuses for Mac code pages: BIFF5/7 goes to xlrd (:mod:`.oldxls`);
- a bare BIFF2-4 stream: xlrd;
- a web page: :mod:`.htmlbook`.
"""
from __future__ import annotations

import os
import shutil
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from toolkit.intake.preflight import is_html
from toolkit.read.oldxls import is_old_biff
from toolkit.read.openable import fresh_path

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# the reader python-calamine picks for a name's extension (exactly as it compares them)
_CALAMINE_BY_SUFFIX = {".xls": "xls", ".xla": "xls", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xlam": "xlsx",
                       ".xlsb": "xlsb", ".ods": "ods"}
_CALAMINE_BY_FORMAT = {"xls": "xls", "xlsx": "xlsx", "xlsm": "xlsx", "xlsb": "xlsb", "ods": "ods"}


@dataclass
class Sniffed:
    format: str | None = None           # xlsx | xlsm | xlsb | ods | xls | html
    macros: bool = False
    macro_sheets: bool = False          # may hold Excel 4.0 macro or dialog sheets
    xlrd: bool = False                  # BIFF2-7: read with xlrd, not python-calamine
    ods_mimetype: bool = True           # an .ods with its ``mimetype`` member first


def sniff(path: Path) -> Sniffed:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            directory = _zip_directory(fh) if head.startswith(b"PK") else b""
    except OSError:
        return Sniffed()
    if head.startswith(b"PK"):
        return _sniff_zip(path, head, directory)
    if head[:8] == _OLE_MAGIC:
        vba, biff = _ole_facts(path)
        return Sniffed("xls", vba, xlrd=biff is not None and biff < 0x0600)
    if is_old_biff(path):
        return Sniffed("xls", xlrd=True)
    if is_html(head):
        return Sniffed("html")
    return Sniffed()


def _sniff_zip(path: Path, head: bytes, directory: bytes | None) -> Sniffed:
    if head[30:38] == b"mimetype" and b"opendocument.spreadsheet" in head[:200]:
        return Sniffed("ods", b"Basic/" in (directory or b""))
    if directory is None:
        names = _zip_names(path)
        macros = "xl/vbaProject.bin" in names
        if "xl/workbook.bin" in names:
            return Sniffed("xlsb", macros)
        if "content.xml" in names and not any(n.startswith("xl/") for n in names):
            return Sniffed("ods", ods_mimetype=False)
        return Sniffed("xlsm" if macros else "xlsx", macros, macro_sheets=True)
    macros = b"vbaProject.bin" in directory
    if b"xl/workbook.bin" in directory:
        return Sniffed("xlsb", macros)
    if b"content.xml" in directory and b"xl/" not in directory:
        return Sniffed("ods", b"Basic/" in directory, ods_mimetype=False)
    sheets = b"macrosheets/" in directory or b"dialogsheets/" in directory
    return Sniffed("xlsm" if macros or path.suffix.lower() == ".xlsm" else "xlsx", macros, sheets)


def _zip_directory(fh) -> bytes | None:
    """The zip's central directory (the list of part names), or None if not found."""
    size = fh.seek(0, 2)
    start = max(0, size - 8192)
    fh.seek(start)
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    cd_size = int.from_bytes(tail[at + 12:at + 16], "little")
    cd_offset = int.from_bytes(tail[at + 16:at + 20], "little")
    if cd_offset >= start:
        return tail[cd_offset - start:cd_offset - start + cd_size]
    if cd_size > 4 << 20 or cd_offset + cd_size > size:
        return None
    fh.seek(cd_offset)
    return fh.read(cd_size)


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def _ole_facts(path: Path) -> tuple[bool, int | None]:
    """(has a VBA project, the Workbook stream's BIFF version: 0x0600 BIFF8, 0x0500 BIFF5/7)."""
    import olefile
    try:
        with olefile.OleFileIO(str(path)) as ole:
            vba = ole.exists("_VBA_PROJECT_CUR")
            stream = "Workbook" if ole.exists("Workbook") else "Book" if ole.exists("Book") else None
            if stream is None:
                return vba, None
            with ole.openstream(stream) as f:
                bof = f.read(8)
    except Exception:       # noqa: BLE001 - pre-flight judged the container; the reader says the rest
        return False, None
    if len(bof) < 6 or struct.unpack_from("<H", bof)[0] != 0x0809:
        return vba, None
    return vba, struct.unpack_from("<H", bof, 4)[0]


def calamine_path(source: Path, file_format: str | None, folder: Callable[[], Path]) -> Path:
    """``source`` under a name whose extension makes python-calamine use the reader for
    ``file_format`` (``source`` itself when its name already does); ``folder`` gives the
    temporary folder for the other name, made only then."""
    wanted = _CALAMINE_BY_FORMAT.get(file_format or "")
    if wanted is None or _CALAMINE_BY_SUFFIX.get(source.suffix) == wanted:
        return source
    alias = fresh_path(folder(), "workbook", f".{wanted}")
    try:
        os.link(source, alias)
    except OSError:
        shutil.copyfile(source, alias)
    return alias
