"""Intake: find the workbooks, check each one is safe to open, read them in a sandbox.

A village's file is untrusted. Before any parser sees it, ``preflight`` looks at
it with bounded memory: file size; magic bytes; for a zip (xlsx/xlsm/ods) every
member is stream-decompressed (header sizes are never trusted) under a cap on
total output and on compression ratio, and every XML part is scanned in chunks
for DTDs/entities and for the cell grid the sheet declares (<dimension>) and
really uses (furthest cell); for an OLE file (xls, or an encrypted OOXML) the
encryption and the BIFF cell records. Files that pass are parsed by
``toolkit.read.workbook.read_ledger`` in worker processes with a memory and time limit
(``toolkit.intake.sandbox``), so even a file that kills its parser cannot stop the run.

Limits, and why:
- 100 MB on disk: a ledger of a few hundred cases is well under 1 MB; photos
  pasted in stay far below 100 MB.
- 256 MB uncompressed in total, and a ratio of 100:1 for any member that grows
  past 16 MB: real sheet XML compresses 5-20:1; a "zip bomb" compresses 1000:1.
- 200,000 rows, 2,000 columns, 5,000,000 cells (rows x columns of the used or
  declared rectangle): calamine materialises the whole rectangle at about
  40 bytes a cell (21 million cells measured at 820 MB), so 5 million cells is
  ~200 MB, inside the 1 GiB a reader may use, while the largest real ledger
  (hundreds of rows, ~60 columns) is four orders of magnitude smaller.
"""
from __future__ import annotations

import codecs
import logging
import re
import struct
import zipfile
import zlib
from pathlib import Path

from toolkit.core.issues import Code, Issue, make_issue
from toolkit.core.cells import column_index, column_letter

log = logging.getLogger("taizhang")

MAX_FILE_BYTES = 100 * 2**20
MAX_MEMBERS = 5000
MAX_UNCOMPRESSED = 256 * 2**20
MAX_RATIO, RATIO_FLOOR = 100, 16 * 2**20
MAX_ROWS, MAX_COLUMNS, MAX_CELLS = 200_000, 2_000, 5_000_000

_IN_CHUNK, _OUT_CHUNK = 64 * 1024, 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_DAMAGED = "文件已损坏或不完整（可能下载或传输中断），请重新保存后报送"


class _Refused(Exception):
    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code, self.reason = code, reason


# --------------------------------------------------------------------------- pre-flight

def preflight(path: Path | str) -> Issue | None:
    """None when the file may be handed to a parser, else the Issue that says why not."""
    return _guarded(Path(path), lambda p: _check_container(p, _check_file(p)))


def cheap_check(path: Path | str) -> Issue | None:
    """Only the checks worth doing before a worker starts: exists, size, magic bytes."""
    return _guarded(Path(path), _check_file)


def _guarded(path: Path, check) -> Issue | None:
    try:
        check(path)
    except _Refused as r:
        return make_issue(r.code, file=str(path), reason=r.reason)
    except PermissionError:
        return make_issue(Code.UNREADABLE, file=str(path),
                          reason="没有读取权限，或文件正被其他程序独占打开，请关闭后重试")
    except Exception:       # noqa: BLE001 - a hostile file must never crash the run
        log.warning("pre-flight of %s failed", path, exc_info=True)
        return make_issue(Code.UNREADABLE, file=str(path), reason=_DAMAGED)
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
    if not head.startswith(_ZIP_MAGIC + (_OLE_MAGIC,)):
        raise _Refused(Code.NOT_SPREADSHEET, _looks_like(head))
    return head


def _check_container(path: Path, head: bytes) -> None:
    """The deep checks: every zip member or the OLE streams."""
    if head.startswith(_OLE_MAGIC):
        _check_ole(path)
    else:
        _check_zip(path)


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
    if low.startswith(("<html", "<!doctype html", "<table", "<meta")) or "<html" in low[:400]:
        return "是网页文件（HTML），只是扩展名改成了表格；请用 Excel 打开后另存为 .xlsx"
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

def _check_zip(path: Path) -> None:
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
        total = 0
        for info in infos:
            total = _scan_member(raw, info, kind, total, zf)


def _zip_kind(raw, infos: list[zipfile.ZipInfo]) -> str:
    names = [i.filename.replace("\\", "/").casefold() for i in infos]
    if "xl/workbook.bin" in names:
        raise _Refused(Code.NOT_SPREADSHEET, "是 Excel 二进制工作簿（.xlsb），请另存为 .xlsx")
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
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


def _scan_member(raw, info: zipfile.ZipInfo, kind: str, total: int, zf) -> int:
    """Decompress one member under the caps, scanning XML parts; returns the new total."""
    scanner, produced, crc = _PartScanner(info.filename, kind), 0, 0
    for piece, used in _inflate(raw, info):
        produced += len(piece)
        total += len(piece)
        if total > MAX_UNCOMPRESSED:
            raise _Refused(Code.TOO_LARGE, f"解压后超过 {_mb(MAX_UNCOMPRESSED)}，疑似“压缩炸弹”")
        if produced > RATIO_FLOOR and produced > MAX_RATIO * max(used, 1):
            raise _Refused(Code.TOO_LARGE, f"部件 {info.filename} 解压后是压缩前的 {produced // max(used, 1)} 倍，"
                                        "疑似“压缩炸弹”")
        crc = zlib.crc32(piece, crc)
        scanner.feed(piece)
    if crc != info.CRC:
        raise _Refused(Code.UNREADABLE, _DAMAGED)
    scanner.finish()
    if scanner.grid is not None:
        scanner.grid.check(lambda: _sheet_name(raw, zf, info.filename))
    return total


# --------------------------------------------------------------------------- XML parts

_P = rb"<(?:[A-Za-z_][\w.\-]*:)?"      # an optional namespace prefix: calamine ignores it
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_ROOT = re.compile(_P + rb"([A-Za-z_][\w.\-]*)[\s/>]")
_TOKEN = re.compile(_P + rb"(row|c)([\s/>][^>]*)")
_R_ATTR = re.compile(rb"\br\s*=\s*[\"']\s*\$?([A-Za-z]*)\$?([0-9]+)")
_STD_CELL = re.compile(rb'<c(?: r="([A-Z]{1,3})([0-9]{1,7})")?[\s/>]')
_STD_ROW = re.compile(rb'<row(?: r="([0-9]{1,7})")?[\s/>]')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_DIM = re.compile(_P + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']{0,80})")
_REF = re.compile(r"\$?([A-Za-z]{1,5})\$?([0-9]{1,10})")
_ODS_TOKEN = re.compile(_P + rb"(table-row|table-cell|covered-table-cell|table)\b([^>]*?)(/?)>"
                        rb"|</(?:[A-Za-z_][\w.\-]*:)?(table-row)>")
_ODS_ROWS = re.compile(rb"number-rows-repeated\s*=\s*[\"']([0-9]{1,10})")
_ODS_NAME = re.compile(rb"(?:^|\s)(?:[\w.\-]+:)?name\s*=\s*\"([^\"]*)\"")
_ODS_COLS = re.compile(rb"number-columns-repeated\s*=\s*[\"']([0-9]{1,10})")


class _PartScanner:
    """Streams one zip member: refuses DTDs and entities, measures worksheet grids."""

    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind
        self.grid: _Grid | None = None
        self._head = b""
        self._carry = b""
        self._decoder = None
        self._xml: bool | None = None      # None until the first 4 KB are seen

    def feed(self, data: bytes) -> None:
        if self._xml is None:
            self._head += data
            if len(self._head) >= 4096:
                self._start(final=False)
        elif self._xml:
            self._scan(self._utf8(data))

    def finish(self) -> None:
        if self._xml is None:
            self._start(final=True)
        elif self._xml:
            self._scan(self._utf8(b"", final=True), final=True)

    def _start(self, final: bool) -> None:
        head, self._head = self._head, b""
        bom = head[:2]
        if bom in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"):     # UTF-16 XML
            enc = {b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}.get(bom, "utf-16")
            self._decoder = codecs.getincrementaldecoder(enc)("replace")
        text = self._utf8(head, final)
        stripped = text.lstrip(b"\xef\xbb\xbf \t\r\n")
        self._xml = stripped.startswith(b"<")
        if not self._xml:
            return
        root = _root(stripped)             # None: not within the first 4 KB, so measure it too
        if self.kind == "xlsx" and root in (None, b"worksheet", b"dialogsheet", b"macrosheet"):
            self.grid = _SheetGrid(self.name)
        elif self.kind == "ods" and root in (None, b"document-content"):
            self.grid = _OdsGrid(self.name)
        self._scan(text, final)

    def _utf8(self, data: bytes, final: bool = False) -> bytes:
        return self._decoder.decode(data, final).encode("utf-8") if self._decoder else data

    def _scan(self, data: bytes, final: bool = False) -> None:
        buf = self._carry + data
        cut = len(buf)
        if not final:
            lt = buf.rfind(b"<")
            if lt >= 0 and buf.find(b">", lt) < 0:
                cut = lt                   # an unfinished tag waits for the next piece
        self._carry = buf[cut:][:4096]
        chunk = buf[:cut]
        if b"!" in chunk and _DTD.search(chunk):        # memchr first: "!" is rare in XML
            raise _Refused(Code.UNREADABLE, f"其中 {self.name} 含有 DTD/实体声明，正常表格不会有，"
                                         "疑似恶意文件；请勿打开，请报送人重新制作")
        if self.grid is not None:
            self.grid.feed(chunk)


def _root(text: bytes) -> bytes | None:
    """Local name of the first element (skipping <?xml ...?> and comments)."""
    for m in _ROOT.finditer(text):
        if text[m.start() + 1:m.start() + 2] not in (b"?", b"!"):
            return m.group(1)
    return None


class _Grid:
    """Tracks the rectangle a sheet uses and declares; ``check`` refuses absurd ones.

    Used as is for .xls (cells come from BIFF records); the OOXML and ODS scanners
    below add a ``feed(chunk)`` for streamed sheet XML."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part, self.name = part, name
        self.rows = self.cols = 0            # furthest used (1-based)
        self.declared: tuple[int, int] | None = None

    def check(self, name_of=lambda: None) -> None:
        for rows, cols, what in ((self.rows, self.cols, "用到了"),
                                 (*(self.declared or (0, 0)), "声明的范围达到")):
            if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
                where = self.name or name_of() or self.part
                raise _Refused(Code.TOO_LARGE, f"工作表“{where}”{what}单元格 "
                                            f"{column_letter(max(cols, 1) - 1)}{rows}（{rows} 行 × {cols} 列），"
                                            "远超台账的正常大小；请删除远处误填的内容，用 Excel 另存后报送")



class _SheetGrid(_Grid):
    """OOXML worksheet: <dimension ref>, and the furthest cell calamine would place.

    Three speeds, chosen per chunk:
    - small: every <c>/<row> is unprefixed with ``r`` first, and no reference has
      three letters or four digits (all of a real ledger): a few byte counts on a
      folded copy prove rows < 1000 and columns < 703, without reading each cell;
    - exact: the same usual form but bigger references: each one is read;
    - walk: anything else (prefixes, ``r`` elsewhere or missing, odd spacing): a
      token walk that counts positions, starting conservatively.
    """

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self._in_data = False
        self._bound = (0, 0)         # what "small" chunks are known not to exceed

    def feed(self, chunk: bytes) -> None:
        if not self._in_data:
            at = chunk.find(b"sheetData")
            m = _DIM.search(chunk if at < 0 else chunk[:at])
            if m and self.declared is None:
                self.declared = _declared(m.group(1).decode("ascii", "replace"))
            self._in_data = at >= 0
        if _small_and_usual(chunk):
            self._bound = (999, 702)
        elif not self._exact(chunk):
            self._walk(chunk)

    def _exact(self, chunk: bytes) -> bool:
        refs, rows = _STD_CELL.findall(chunk), _STD_ROW.findall(chunk)
        if _PREFIXED.search(chunk):
            return False
        if refs:
            letters, numbers = (set(x) for x in zip(*refs))
            if b"" in letters:
                return False
            self.cols = max(self.cols, max(_col(c) for c in letters))
            self.rows = max(self.rows, max(map(int, numbers)))
        if rows:
            rows = set(rows)
            if b"" in rows:
                return False
            self.rows = max(self.rows, max(map(int, rows)))
        return True

    def _walk(self, chunk: bytes) -> None:
        row, col = max(self.rows, self._bound[0]), max(self.cols, self._bound[1])
        for m in _TOKEN.finditer(chunk):
            r = _R_ATTR.search(m.group(2))
            if m.group(1) == b"row":
                row, col = (_num(r.group(2)) if r else row + 1), 0
            else:
                col = _col(r.group(1)) if r and r.group(1) else col + 1
                if r:
                    row = _num(r.group(2))
            self.rows, self.cols = max(self.rows, row), max(self.cols, col)


_FOLD = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\t\r\n/>':",
                        b"0" * 10 + b"A" * 26 + b"     " + b'"<')


def _small_and_usual(chunk: bytes) -> bool:
    """True when every cell/row tag is <c r="A1"...>/<row r="1"...> with at most
    two letters and three digits: then no reference can reach row 1000 or column AAA.

    Each test is a pass over the chunk, so they are few. Every cell tag must start
    its reference with one or two capitals and then a digit (calamine also reads
    lower-case letters: "Xfd1" is column 16384); a prefixed tag (x:c) folds to
    "x<c" and is held to the same form; "A0000" anywhere (which a reference of
    four or more digits contains) sends the chunk to the exact reading.
    """
    t = chunk.translate(_FOLD)   # letters -> A, digits -> 0, "<c>" "<c/>" "<c\n" -> "<c ", ":" -> "<"
    n = t.count
    return (n(b"<c ") == n(b'<c r="A0') + n(b'<c r="AA0') and n(b"<row ") == n(b'<row r="0')
            and b"A0000" not in t and b'<row r="0000' not in t)


def _col(letters: bytes) -> int:
    """1-based column number of b"AB" (capped: 6+ letters is absurd anyway)."""
    return column_index(letters[:6].decode("ascii").upper()) + 1


def _num(digits: bytes) -> int:
    return int(digits) if len(digits) <= 12 else 10**12


def _declared(ref: str) -> tuple[int, int] | None:
    cells = _REF.findall(ref)
    if not cells:
        return None
    last = cells[-1]
    return int(last[1]), column_index(last[0].upper()) + 1


class _OdsGrid(_Grid):
    """OpenDocument content.xml: rows and cells carry repeat counts; only content counts."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self._row = 0            # rows passed in the current table
        self._repeat = 1
        self._col = self._last = 0

    def feed(self, chunk: bytes) -> None:
        for m in _ODS_TOKEN.finditer(chunk):
            tag, attrs, closed = m.group(1), m.group(2) or b"", m.group(3)
            if m.group(4) or tag == b"table-row" and closed:
                self._end_row()
            elif tag == b"table":
                self._row = 0
                name = _ODS_NAME.search(attrs)
                self.name = name and _xml_unescape(name.group(1).decode("utf-8", "replace"))
            elif tag == b"table-row":
                rep = _ODS_ROWS.search(attrs)
                self._repeat, self._col, self._last = (int(rep.group(1)) if rep else 1), 0, 0
            elif tag:
                rep = _ODS_COLS.search(attrs)
                self._col += int(rep.group(1)) if rep else 1
                if not closed or b"value-type" in attrs:
                    self._last = self._col

    def _end_row(self) -> None:
        if self._last:
            self.rows = max(self.rows, self._row + self._repeat)
            self.cols = max(self.cols, self._last)
            self.check()
        self._row += self._repeat
        self._repeat, self._col, self._last = 1, 0, 0


_SHEET = re.compile(rb"<(?:[\w.\-]+:)?sheet\s[^>]*?\bname\s*=\s*\"([^\"]*)\"[^>]*?\b(?:r:)?id\s*=\s*\"([^\"]*)\"")
_REL = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*?\bId\s*=\s*\"([^\"]*)\"[^>]*?\bTarget\s*=\s*\"([^\"]*)\"")
_REL2 = re.compile(rb"<(?:[\w.\-]+:)?Relationship\s[^>]*?\bTarget\s*=\s*\"([^\"]*)\"[^>]*?\bId\s*=\s*\"([^\"]*)\"")


def _sheet_name(raw, zf: zipfile.ZipFile, part: str) -> str | None:
    """The sheet name a clerk sees for a worksheet part (best effort, for messages)."""
    try:
        infos = {i.filename: i for i in zf.infolist()}
        wb = bytes(_member_bytes(raw, infos["xl/workbook.xml"], limit=4 * 2**20))
        rels = bytes(_member_bytes(raw, infos["xl/_rels/workbook.xml.rels"], limit=4 * 2**20))
        targets = dict(_REL.findall(rels)) | {k: v for v, k in _REL2.findall(rels)}
        for name, rid in _SHEET.findall(wb):
            target = targets.get(rid, b"").decode("utf-8", "replace").lstrip("/")
            if target and part.endswith(target.split("xl/", 1)[-1]):
                return _xml_unescape(name.decode("utf-8", "replace"))
    except (KeyError, _Refused, UnicodeError, OSError):
        pass
    return None


def _xml_unescape(s: str) -> str:
    from xml.sax.saxutils import unescape
    return unescape(s, {"&quot;": '"', "&apos;": "'"})


# --------------------------------------------------------------------------- OLE (xls, encrypted OOXML)

_BIFF_CELLS = {0x0006, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E, 0x00D6, 0x0406}
_BIFF_MULTI = {0x00BD, 0x00BE}         # MULRK, MULBLANK: row, first col, ..., last col
_BIFF_BOF, _BIFF_DIM, _BIFF_SHEET, _BIFF_FILEPASS = 0x0809, 0x0200, 0x0085, 0x002F


def _check_ole(path: Path) -> None:
    import olefile
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
    _check_biff(data)


def _ole_encrypted(path: Path) -> bool:
    import msoffcrypto
    try:
        with open(path, "rb") as f:
            return bool(msoffcrypto.OfficeFile(f).is_encrypted())
    except Exception:       # noqa: BLE001 - unknown OLE kinds are judged by their streams
        return False


def _check_biff(data: bytes) -> None:
    """Walk the BIFF records of an xls Workbook stream for each sheet's used and declared grid."""
    names = _biff_sheet_names(data)
    pos, grid = 0, None
    unpack = struct.unpack_from
    end = len(data) - 4
    while pos <= end:
        rtype, size = unpack("<HH", data, pos)
        body = pos + 4
        if rtype == _BIFF_BOF:
            if grid is not None:
                grid.check()
            grid = _Grid("xls", names.get(pos))
        elif grid is not None and size >= 4 and (rtype in _BIFF_CELLS or rtype in _BIFF_MULTI):
            row, col = unpack("<HH", data, body)
            if rtype in _BIFF_MULTI and size >= 6:
                col = unpack("<H", data, body + size - 2)[0]
            grid.rows, grid.cols = max(grid.rows, row + 1), max(grid.cols, col + 1)
        elif rtype == _BIFF_FILEPASS:                  # msoffcrypto missed it: still encrypted
            raise _Refused(Code.ENCRYPTED)
        elif grid is not None and rtype == _BIFF_DIM and size >= 12:
            _, rmac, _, cmac = unpack("<IIHH", data, body)
            grid.declared = (rmac, cmac)
        pos = body + size
    if grid is not None:
        grid.check()


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
