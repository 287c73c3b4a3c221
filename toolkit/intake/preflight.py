"""Pre-flight: is a village's file safe to hand to a parser?

A village's file is untrusted. Before any parser sees it, ``preflight`` looks at
it with bounded memory: file size; magic bytes; for a zip (xlsx/xlsm/ods) every
member is stream-decompressed (header sizes are never trusted) under a cap on
total output and on compression ratio, and every XML part is scanned in chunks
(:mod:`toolkit.intake.xmlscan`) for DTDs/entities and for the cell grid the sheet
declares and really uses (the binary sheets of an .xlsb: :mod:`toolkit.intake.xlsbscan`);
for an OLE file (xls, or an encrypted OOXML) the sector chains
(:mod:`toolkit.intake.olescan`), the encryption and the BIFF cell records; for a web page
saved as .xls its tables (:mod:`toolkit.intake.htmlscan`). The limits and why:
:mod:`toolkit.intake.limits`. A sheet that holds nothing but a value or two far out passes
on the condition that the reader leaves those out (:mod:`toolkit.intake.farvalues`).
Files that pass are parsed in worker processes with a memory and time limit
(:mod:`toolkit.read.sandboxed`), so even a file that kills its parser cannot stop the run.
"""
from __future__ import annotations

import logging
import re
import struct
import zipfile
import zlib
from pathlib import Path

from toolkit.core.issues import Code, Issue, make_issue
from toolkit.intake import farvalues
from toolkit.intake.htmlscan import HtmlScanner, looks_like_html
from toolkit.intake.limits import DAMAGED as _DAMAGED
from toolkit.intake.limits import MAX_FILE_BYTES, MAX_MEMBERS, MAX_RATIO, MAX_UNCOMPRESSED, RATIO_FLOOR
from toolkit.intake.limits import Refused as _Refused
from toolkit.intake.olescan import check_cfb
from toolkit.intake.xlsbscan import scanner_for as _xlsb_scanner
from toolkit.intake.xlsbscan import sheet_name as xlsb_sheet_name
from toolkit.intake.xmlscan import Grid as _Grid
from toolkit.intake.xmlscan import PartScanner as _PartScanner
from toolkit.intake.xmlscan import xml_unescape as _xml_unescape

log = logging.getLogger("taizhang")

_IN_CHUNK, _OUT_CHUNK = 64 * 1024, 1024 * 1024
# Small parts the reader would otherwise open the file again for (when the file was last saved:
# toolkit.read.saved), handed over when the caller asks (``preflight(kept=...)``).
KEPT_PARTS = frozenset({"docProps/core.xml", "meta.xml"})
KEPT_BYTES = 1 << 16
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# A bare BIFF stream (no OLE container, Excel 2.x-4.0) starts with its BOF record.
_OLD_BIFF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00")


# --------------------------------------------------------------------------- pre-flight

def preflight(path: Path | str, *, shown_as: Path | str | None = None, kept: dict | None = None) -> Issue | None:
    """None when the file may be handed to a parser, else the Issue that says why not.
    ``shown_as``: the file the clerk knows, when ``path`` is a copy of it (a decrypted one).
    ``kept``: when given, filled with the bytes of the small parts named in ``KEPT_PARTS`` that
    pre-flight inflated on its way (the reader then need not open the file again for them).

    A file that passes only because a sheet's lone far values will be left out leaves a
    note for the reader of this process (``farvalues.notes_for``)."""
    notes: list = []
    issue = _guarded(Path(path), lambda p: notes.extend(_check_container(p, _check_file(p), kept)), shown_as)
    farvalues.remember(path, notes if issue is None else [])
    return issue


def cheap_check(path: Path | str) -> Issue | None:
    """Only the checks worth doing before a worker starts: exists, size, magic bytes."""
    return _guarded(Path(path), _check_file)


def _guarded(path: Path, check, shown_as: Path | str | None = None) -> Issue | None:
    shown = str(shown_as or path)
    try:
        check(path)
    except _Refused as r:
        return make_issue(r.code, file=shown, reason=r.reason)
    except PermissionError:
        return make_issue(Code.UNREADABLE, file=shown,
                          reason="没有读取权限，或文件正被其他程序独占打开，请关闭后重试")
    except Exception:       # noqa: BLE001 - a hostile file must never crash the run
        log.warning("pre-flight of %s failed", path, exc_info=True)
        return make_issue(Code.UNREADABLE, file=shown, reason=_DAMAGED)
    return None


def _check_file(path: Path) -> bytes:
    """Cheap checks (existence, size, magic bytes); returns the file's first 4 KB."""
    if not path.exists():
        raise _Refused(Code.UNREADABLE, "找不到该文件，请检查文件名和所在文件夹")
    if path.is_dir():
        raise _Refused(Code.NOT_SPREADSHEET, "这是一个文件夹")
    size = path.stat().st_size
    if size == 0:
        raise _Refused(Code.UNREADABLE, "文件是空的（0 字节），可能没有保存完整或传输中断")
    if size > MAX_FILE_BYTES:
        raise _Refused(Code.TOO_LARGE, f"文件有 {_mb(size)}，超过 {_mb(MAX_FILE_BYTES)} 的上限")
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head.startswith(_ZIP_MAGIC + (_OLE_MAGIC,) + _OLD_BIFF) and not is_html(head):
        raise _Refused(Code.NOT_SPREADSHEET, _looks_like(head))
    return head


def is_html(head: bytes) -> bool:
    """A web page (what web systems' "导出Excel" writes, often named .xls)."""
    text = _as_text(head)
    return text is not None and looks_like_html(text)


def _check_container(path: Path, head: bytes, kept: dict | None = None) -> list:
    """The deep checks: every zip member, the OLE streams or the web page's tables; returns
    the lone far values the reader must leave out."""
    if head.startswith(_OLE_MAGIC):
        return _check_ole(path)
    if head.startswith(_OLD_BIFF):        # Excel 2.x-4.0: the BIFF records with no container
        _check_biff(path.read_bytes())    # within MAX_FILE_BYTES, checked above
        return []
    if head.startswith(_ZIP_MAGIC):
        return _check_zip(path, kept)
    _check_html(path, head)
    return []


def _check_html(path: Path, head: bytes) -> None:
    scanner = HtmlScanner(head)
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(_OUT_CHUNK), b""):
            scanner.feed(piece)
    scanner.finish()


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def _looks_like(head: bytes) -> str:
    """What a non-spreadsheet file seems to be, in words a clerk knows."""
    signatures = [
        ((b"%PDF",), "是 PDF 文件"),
        ((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*"), "是图片"),
        ((b"MZ", b"\x7fELF"), "是可执行程序，请勿打开并立即删除"),
        ((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b"), "是压缩包，请解压后报送其中的表格"),
        ((b"{\\rtf",), "是 RTF 文档"),
    ]
    for starts, words in signatures:
        if head.startswith(starts):
            return words
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" or head[:2] == b"BM" and len(head) > 26:
        return "是图片"
    text = _as_text(head)
    if text is None:
        return "无法识别的文件类型"
    low = text.lstrip("\ufeff \r\n\t").lower()
    if looks_like_html(text):
        return "是网页文件（HTML），里面没有表格；请报送 Excel/WPS 台账"
    if "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "是旧式 Excel 2003 XML 表格；请用 Excel 打开后另存为 .xlsx"
    if low.startswith("<"):
        return "是 XML 文本文件"
    if "," in low or "\t" in low:
        return "是文本文件（可能是 CSV）；请用 Excel 打开后另存为 .xlsx"
    return "是文本文件"


def _as_text(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace")
    for enc in ("utf-8", "gb18030"):
        try:
            text = head.decode(enc)
        except UnicodeDecodeError:
            # the 4 KB cut may split a character: retry without the last few bytes
            try:
                text = head[:-3].decode(enc) if len(head) == 4096 else None
            except UnicodeDecodeError:
                text = None
        if text is not None and not any(ord(c) < 32 and c not in "\t\r\n\f" for c in text):
            return text
    return None


# --------------------------------------------------------------------------- zip containers

def _check_zip(path: Path, kept: dict | None = None) -> list:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
        raise _Refused(Code.UNREADABLE, _DAMAGED) from None
    with zf, open(path, "rb") as raw:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _Refused(Code.TOO_LARGE, f"压缩包内有 {len(infos)} 个部件，远多于正常表格")
        kind = _zip_kind(raw, infos)
        if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:   # a claim may only refuse
            raise _Refused(Code.TOO_LARGE, f"解压后超过 {_mb(MAX_UNCOMPRESSED)}，远超正常台账，疑似“压缩炸弹”")
        total, notes = 0, []
        for info in infos:
            total = _scan_member(raw, info, kind, total, zf, notes,
                                 kept if kept is not None and info.filename in KEPT_PARTS else None)
    return notes


def _zip_kind(raw, infos: list[zipfile.ZipInfo]) -> str:
    names = [i.filename.replace("\\", "/").casefold() for i in infos]
    if "xl/workbook.bin" in names:
        return "xlsb"
    if any(n.startswith("xl/") for n in names) or _main_part(raw, infos, (".xml",)):
        return "xlsx"
    if _ods_without_mimetype(raw, infos, names):
        return "ods"
    if "mimetype" in names:
        info = infos[names.index("mimetype")]
        mime = bytes(_member_bytes(raw, info, limit=200)).decode("ascii", "replace").strip()
        if mime == "application/vnd.oasis.opendocument.spreadsheet":
            return "ods"
        if "opendocument.text" in mime:
            raise _Refused(Code.NOT_SPREADSHEET, "是 OpenDocument 文字文档")
        if "opendocument.presentation" in mime:
            raise _Refused(Code.NOT_SPREADSHEET, "是 OpenDocument 演示文稿")
    if any(n.startswith("word/") for n in names):
        raise _Refused(Code.NOT_SPREADSHEET, "是 Word 文档（.docx）")
    if any(n.startswith("ppt/") for n in names):
        raise _Refused(Code.NOT_SPREADSHEET, "是 PowerPoint 演示文稿（.pptx）")
    if any(n.endswith((".xlsx", ".xlsm", ".xls", ".et", ".ods")) for n in names):
        raise _Refused(Code.NOT_SPREADSHEET, "是压缩包，里面装着表格文件；请解压后报送表格本身")
    raise _Refused(Code.NOT_SPREADSHEET, "是压缩包，里面没有 Excel 工作簿")


def _ods_without_mimetype(raw, infos: list[zipfile.ZipInfo], names: list[str]) -> bool:
    """An OpenDocument spreadsheet whose ``mimetype`` member is missing (some export tools leave
    it out; LibreOffice opens it): its manifest, else its content, says it is a spreadsheet."""
    if "mimetype" in names or "content.xml" not in names:
        return False
    if "meta-inf/manifest.xml" in names:
        manifest = bytes(_member_bytes(raw, infos[names.index("meta-inf/manifest.xml")], limit=64 * 1024))
        return b"opendocument.spreadsheet" in manifest
    content = bytes(_member_bytes(raw, infos[names.index("content.xml")], limit=64 * 1024))
    return b":spreadsheet" in content


_OFFICE_DOC = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*?/officeDocument\"[^>]*>")
_TARGET = re.compile(rb"\bTarget\s*=\s*\"([^\"]*)\"")


def _main_part(raw, infos: list[zipfile.ZipInfo], endings: tuple[str, ...] = (".xml",)) -> zipfile.ZipInfo | None:
    """The package's main document as ``_rels/.rels`` names it (Excel follows it: some
    valid packages keep the workbook outside xl/), when it is an OOXML workbook part."""
    by_name = {i.filename.replace("\\", "/").casefold(): i for i in infos}
    rels = by_name.get("_rels/.rels")
    if rels is None:
        return None
    text = bytes(_member_bytes(raw, rels, limit=64 * 1024))
    for rel in _OFFICE_DOC.findall(text):
        target = _TARGET.search(rel)
        name = target and _xml_unescape(target.group(1).decode("utf-8", "replace")).lstrip("/").casefold()
        if name and name.endswith(endings) and not name.startswith(("word/", "ppt/")) and name in by_name:
            return by_name[name]
    return None


def _member_bytes(raw, info: zipfile.ZipInfo, limit: int) -> bytearray:
    out = bytearray()
    for piece, _ in _inflate(raw, info):
        out += piece
        if len(out) > limit:
            break
    return out


def _inflate(raw, info: zipfile.ZipInfo):
    """Yield (output piece, compressed bytes consumed so far) of one member, never trusting sizes."""
    if info.flag_bits & 0x1:
        raise _Refused(Code.ENCRYPTED)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refused(Code.UNREADABLE, f"使用了不常见的压缩方式（{info.compress_type}），请用 Excel 另存后报送")
    raw.seek(info.header_offset)
    local = raw.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _Refused(Code.UNREADABLE, _DAMAGED)
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    raw.seek(info.header_offset + 30 + name_len + extra_len)
    if info.compress_size == 0:
        return                  # an empty member (Excel 2010 writes a 0-byte thumbnail): nothing to inflate
    if info.compress_type == zipfile.ZIP_STORED:
        left, used = info.compress_size, 0
        while left > 0:
            piece = raw.read(min(left, _OUT_CHUNK))
            if not piece:
                raise _Refused(Code.UNREADABLE, _DAMAGED)
            left, used = left - len(piece), used + len(piece)
            yield piece, used
        return
    d, used = zlib.decompressobj(-15), 0
    while not d.eof:
        data = raw.read(_IN_CHUNK)
        if not data:
            raise _Refused(Code.UNREADABLE, _DAMAGED)
        used += len(data)
        while data and not d.eof:
            try:
                piece = d.decompress(data, _OUT_CHUNK)
            except zlib.error:
                raise _Refused(Code.UNREADABLE, _DAMAGED) from None
            data = d.unconsumed_tail
            if piece:
                yield piece, used - len(data) - len(d.unused_data)


def _scan_member(raw, info: zipfile.ZipInfo, kind: str, total: int, zf, notes: list,
                 kept: dict | None = None) -> int:
    """Decompress one member under the caps, scanning XML parts (and an .xlsb's binary sheets);
    returns the new total. A worksheet with lone far values adds a note instead of a refusal.
    ``kept``: the member's bytes go there too (by name) when they are at most ``KEPT_BYTES``."""
    scanner, produced, crc = _PartScanner(info.filename, kind, declared=info.file_size), 0, 0
    pieces: list[bytes] | None = [] if kept is not None else None
    binary = _xlsb_scanner(info.filename) if kind == "xlsb" else None
    for piece, used in _inflate(raw, info):
        produced += len(piece)
        total += len(piece)
        if total > MAX_UNCOMPRESSED:
            raise _Refused(Code.TOO_LARGE, f"解压后超过 {_mb(MAX_UNCOMPRESSED)}，疑似“压缩炸弹”")
        if produced > RATIO_FLOOR and produced > MAX_RATIO * max(used, 1):
            log.warning("member %s inflates %dx", info.filename, produced // max(used, 1))
            raise _Refused(Code.TOO_LARGE, f"其中一个部件解压后是压缩前的 {produced // max(used, 1)} 倍，"
                                        "疑似“压缩炸弹”")
        crc = zlib.crc32(piece, crc)
        scanner.feed(piece)
        if pieces is not None and produced > KEPT_BYTES:
            pieces = None
        elif pieces is not None:
            pieces.append(piece)
        if binary is not None:
            binary.feed(piece)
    if crc != info.CRC:
        raise _Refused(Code.UNREADABLE, _DAMAGED)
    scanner.finish()
    if pieces is not None:
        kept[info.filename] = b"".join(pieces)
    names = _xlsb_sheet_name if kind == "xlsb" else _sheet_name
    name_of = lambda: names(raw, zf, info.filename)   # noqa: E731
    if binary is not None:
        binary.check(name_of)
    if scanner.grid is not None:
        try:
            try:
                scanner.grid.check(name_of)
            except _Refused:
                if not getattr(scanner.grid, "rough", False):
                    raise
                _rescan_exactly(raw, info, kind, zf)
        except _Refused as refused:
            far = _lone_far_values(raw, info, kind, name_of) if refused.code == Code.TOO_LARGE else None
            if far is None:
                raise
            notes.append(far)
    return total


def _lone_far_values(raw, info: zipfile.ZipInfo, kind: str, name_of):
    """A worksheet refused for its rectangle: its far values, when they are nearly all it holds."""
    if kind != "xlsx":
        return None
    return farvalues.lone_xlsx((piece for piece, _ in _inflate(raw, info)), info.filename, name_of())


def _rescan_exactly(raw, info: zipfile.ZipInfo, kind: str, zf) -> None:
    """A sheet refused on a small chunk's bound (999 x 702) rather than its cells, or a shared-string
    table too big to vouch for unread: read each reference / count each string (already within
    the size caps, so only time is spent, and only here)."""
    scanner = _PartScanner(info.filename, kind, exact=True)
    for piece, _ in _inflate(raw, info):
        scanner.feed(piece)
    scanner.finish()
    scanner.grid.check(lambda: _sheet_name(raw, zf, info.filename))


_SHEET = re.compile(rb"<(?:[\w.\-]+:)?sheet\s[^>]*?\bname\s*=\s*\"([^\"]*)\"[^>]*?\b(?:r:)?id\s*=\s*\"([^\"]*)\"")
_REL = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*?\bId\s*=\s*\"([^\"]*)\"[^>]*?\bTarget\s*=\s*\"([^\"]*)\"")
_REL2 = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*?\bTarget\s*=\s*\"([^\"]*)\"[^>]*?\bId\s*=\s*\"([^\"]*)\"")


def _sheet_name(raw, zf: zipfile.ZipFile, part: str) -> str | None:
    """The sheet name a clerk sees for a worksheet part (best effort, for messages)."""
    try:
        infos = {i.filename: i for i in zf.infolist()}
        book = infos.get("xl/workbook.xml") or _main_part(raw, zf.infolist())
        folder, _, leaf = book.filename.rpartition("/")
        wb = bytes(_member_bytes(raw, book, limit=4 * 2**20))
        rels_name = f"{folder}/_rels/{leaf}.rels".lstrip("/")
        rels = bytes(_member_bytes(raw, infos[rels_name], limit=4 * 2**20))
        targets = dict(_REL.findall(rels)) | {k: v for v, k in _REL2.findall(rels)}
        for name, rid in _SHEET.findall(wb):
            target = targets.get(rid, b"").decode("utf-8", "replace").lstrip("/")
            if target and part.endswith(target.split(folder + "/", 1)[-1]):
                return _xml_unescape(name.decode("utf-8", "replace"))
    except (KeyError, AttributeError, _Refused, UnicodeError, OSError):
        pass
    return None


def _xlsb_sheet_name(raw, zf: zipfile.ZipFile, part: str) -> str | None:
    try:
        infos = {i.filename: i for i in zf.infolist()}
        book = bytes(_member_bytes(raw, infos["xl/workbook.bin"], limit=4 * 2**20))
        rels = bytes(_member_bytes(raw, infos["xl/_rels/workbook.bin.rels"], limit=4 * 2**20))
    except (KeyError, _Refused, OSError):
        return None
    return xlsb_sheet_name(book, rels, part)


# --------------------------------------------------------------------------- OLE (xls, encrypted OOXML)

# Records of cells that hold a value. BLANK/MULBLANK (formatting only) and the declared
# DIMENSIONS are left out: calamine places neither (measured: a BLANK at IV65536 and
# DIMENSIONS of 65536 x 256 read in 16 MB), and Excel writes both on honest files.
# BIFF2's INTEGER/NUMBER/LABEL/BOOLERR/FORMULA (0x0002-0x0006) and BIFF3's FORMULA (0x0206) too.
_BIFF_CELLS = {0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x00FD, 0x0203, 0x0204, 0x0205, 0x0206, 0x027E,
               0x00D6, 0x0406}
_BIFF_MULTI = {0x00BD}                 # MULRK: row, first col, ..., last col
_BIFF_BOFS = {0x0809, 0x0009, 0x0209, 0x0409}    # BIFF5-8, BIFF2, BIFF3, BIFF4
_BIFF_SHEET, _BIFF_FILEPASS = 0x0085, 0x002F


def _check_ole(path: Path) -> list:
    import olefile
    check_cfb(path)                       # chains that loop or leave the file: before olefile follows them
    try:
        ole = olefile.OleFileIO(str(path))
    except Exception:       # noqa: BLE001 - olefile raises many kinds on damage
        raise _Refused(Code.UNREADABLE, _DAMAGED) from None
    with ole:
        streams = {"/".join(s).casefold(): s for s in ole.listdir(streams=True, storages=False)}
        if "encryptedpackage" in streams or "encryptioninfo" in streams or _ole_encrypted(path):
            raise _Refused(Code.ENCRYPTED)
        book = streams.get("workbook") or streams.get("book")
        if book is None:
            if "worddocument" in streams:
                raise _Refused(Code.NOT_SPREADSHEET, "是 Word 文档（.doc）")
            if "powerpoint document" in streams:
                raise _Refused(Code.NOT_SPREADSHEET, "是 PowerPoint 演示文稿（.ppt）")
            raise _Refused(Code.NOT_SPREADSHEET, "是 Office 复合文档，但里面没有 Excel 工作簿；请另存为 .xlsx")
        if ole.get_size(book) > MAX_FILE_BYTES:
            raise _Refused(Code.TOO_LARGE, "工作簿数据流超过上限")
        data = ole.openstream(book).read()
    return _check_biff(data, stream="/".join(book))


def _ole_encrypted(path: Path) -> bool:
    import msoffcrypto
    try:
        with open(path, "rb") as f:
            return bool(msoffcrypto.OfficeFile(f).is_encrypted())
    except Exception:       # noqa: BLE001 - unknown OLE kinds are judged by their streams
        return False


def _check_biff(data: bytes, stream: str | None = None) -> list:
    """Walk the BIFF records of an xls Workbook stream for the grid of each sheet's cells with a
    value. ``stream``: the OLE stream's name, when lone far values may be left out of a copy
    (BIFF5/8; a bare BIFF2-4 stream cannot reach past the limits anyway). Returns their notes."""
    names = _biff_sheet_names(data)
    pos, grid, start, notes = 0, None, 0, []
    unpack = struct.unpack_from
    end = len(data) - 4
    while pos <= end:
        rtype, size = unpack("<HH", data, pos)
        body = pos + 4
        if rtype in _BIFF_BOFS:
            if grid is not None:
                _check_sheet(grid, data, start, stream, notes)
            grid, start = _Grid("xls", names.get(pos)), pos
        elif grid is not None and size >= 4 and (rtype in _BIFF_CELLS or rtype in _BIFF_MULTI):
            row, col = unpack("<HH", data, body)
            if rtype in _BIFF_MULTI and size >= 6:
                col = unpack("<H", data, body + size - 2)[0]
            grid.rows, grid.cols = max(grid.rows, row + 1), max(grid.cols, col + 1)
        elif rtype == _BIFF_FILEPASS:                  # msoffcrypto missed it: still encrypted
            raise _Refused(Code.ENCRYPTED)
        pos = body + size
    if grid is not None:
        _check_sheet(grid, data, start, stream, notes)
    return notes


def _check_sheet(grid: _Grid, data: bytes, start: int, stream: str | None, notes: list) -> None:
    try:
        grid.check()
    except _Refused:
        far = stream and farvalues.lone_biff(data, start, stream, grid.name, _BIFF_CELLS)
        if not far:
            raise
        notes.append(far)


def _biff_sheet_names(data: bytes) -> dict[int, str]:
    """BOUNDSHEET records: stream offset of each sheet's BOF -> its name."""
    names, pos, end = {}, 0, len(data) - 4
    while pos <= end:
        rtype, size = struct.unpack_from("<HH", data, pos)
        if rtype == _BIFF_SHEET and size >= 8:
            offset, cch, high = struct.unpack_from("<IxxBB", data, pos + 4)
            raw = data[pos + 12:pos + 12 + cch * (2 if high & 1 else 1)]
            names[offset] = raw.decode("utf-16-le" if high & 1 else "latin-1", "replace")
        elif rtype == 0x000A:                  # EOF of the globals: sheets follow
            break
        pos += 4 + size
    return names
