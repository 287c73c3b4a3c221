"""Scanning a workbook's XML parts in chunks, with bounded memory: DTDs and entities
(refused), and the cell grid each sheet declares (<dimension>) and really uses
(furthest cell), for .xlsx/.xlsm and .ods alike."""
from __future__ import annotations

import codecs
import re

from toolkit.core.cells import column_index, column_letter
from toolkit.core.issues import Code
from toolkit.intake.limits import MAX_CELLS, MAX_COLUMNS, MAX_ROWS
from toolkit.intake.limits import Refused as _Refused


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


class PartScanner:
    """Streams one zip member: refuses DTDs and entities, measures worksheet grids."""

    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind
        self.grid: Grid | None = None
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


class Grid:
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



class _SheetGrid(Grid):
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


class _OdsGrid(Grid):
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
                self.name = name and xml_unescape(name.group(1).decode("utf-8", "replace"))
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


def xml_unescape(s: str) -> str:
    from xml.sax.saxutils import unescape
    return unescape(s, {"&quot;": '"', "&apos;": "'"})
