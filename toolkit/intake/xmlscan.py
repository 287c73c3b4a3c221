"""Scanning a workbook's XML parts in chunks, with bounded memory: DTDs and entities
(refused), the rectangle of cells that hold a value in each sheet, and the number
of shared strings, for .xlsx/.xlsm and .ods alike.

What costs a parser memory is bounded, not styled emptiness: python-calamine
(0.9, measured) places only cells with a value (``<v>``, ``<is>``), so a styled
empty cell at the end of a row formatted as a whole (WPS writes
``<c r="XEB2" s="46"/>``), an empty formatted row at 1048576 and a declared
``<dimension>`` far past the data cost nothing and are not counted."""
from __future__ import annotations

import codecs
import logging
import re

from toolkit.core.cells import column_index, column_letter
from toolkit.core.issues import Code
from toolkit.intake.limits import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, MAX_SHARED_STRINGS, Refused as _Refused

log = logging.getLogger("taizhang")

_P = rb"<(?:[A-Za-z_][\w.\-]*:)?"      # an optional namespace prefix: calamine ignores it
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_ROOT = re.compile(_P + rb"([A-Za-z_][\w.\-]*)[\s/>]")
_TOKEN = re.compile(_P + rb"(row|c|v|is)(?=[\s/>])([^>]*)")
_R_ATTR = re.compile(rb"\br\s*=\s*[\"']\s*\$?([A-Za-z]*)\$?([0-9]+)")
_STD_CELL = re.compile(rb'<c(?: r="([A-Z]{1,3})([0-9]{1,7})")?[\s/>]|<(v|is)[\s/>]')
_PREFIXED = re.compile(rb":(?:c|row|v|is)[\s/>]")
_DIM = re.compile(_P + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']{0,80})")
_REF = re.compile(r"\$?([A-Za-z]{1,5})\$?([0-9]{1,10})")
_ODS_TOKEN = re.compile(_P + rb"(table-row|table-cell|covered-table-cell|table)\b([^>]*?)(/?)>"
                        rb"|</(?:[A-Za-z_][\w.\-]*:)?(table-row)>")
_ODS_ROWS = re.compile(rb"number-rows-repeated\s*=\s*[\"']([0-9]{1,10})")
_ODS_NAME = re.compile(rb"(?:^|\s)(?:[\w.\-]+:)?name\s*=\s*\"([^\"]*)\"")
_ODS_COLS = re.compile(rb"number-columns-repeated\s*=\s*[\"']([0-9]{1,10})")


class PartScanner:
    """Streams one zip member: refuses DTDs and entities, measures worksheet grids."""

    def __init__(self, name: str, kind: str, exact: bool = False, declared: int = 0) -> None:
        self.name, self.kind, self.exact = name, kind, exact
        self.declared = declared             # the size the zip claims: only ever a hint
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
            self.grid = _SheetGrid(self.name, self.exact)
        elif self.kind == "xlsx" and root == b"sst":
            # a table the zip says is big is counted at once; one that lies about it is read again
            self.grid = _SharedStrings(self.name, self.exact or self.declared > 5 * MAX_SHARED_STRINGS)
        elif self.kind == "ods" and root in (None, b"document-content"):
            self.grid = _OdsGrid(self.name)
        self._scan(text, final)

    def _utf8(self, data: bytes, final: bool = False) -> bytes:
        return self._decoder.decode(data, final).encode("utf-8") if self._decoder else data

    def _scan(self, data: bytes, final: bool = False) -> None:
        buf = self._carry + data
        cut = whole_tags(buf, final)
        self._carry = buf[cut:][:4096]
        chunk = buf[:cut]
        if b"!" in chunk and _DTD.search(chunk):        # memchr first: "!" is rare in XML
            log.warning("DTD or entity declaration in part %s", self.name)
            raise _Refused(Code.UNREADABLE, "文件内部含有 DTD/实体声明，正常表格不会有，"
                                         "疑似恶意文件；请勿打开，请报送人重新制作")
        if self.grid is not None:
            self.grid.feed(chunk)


def whole_tags(buf: bytes, final: bool) -> int:
    """Where the whole tags of ``buf`` end: an unfinished tag at its end waits for the next piece
    (all of it when the piece is the last)."""
    if not final:
        lt = buf.rfind(b"<")
        if lt >= 0 and buf.find(b">", lt) < 0:
            return lt
    return len(buf)


def _root(text: bytes) -> bytes | None:
    """Local name of the first element (skipping <?xml ...?> and comments)."""
    for m in _ROOT.finditer(text):
        if text[m.start() + 1:m.start() + 2] not in (b"?", b"!"):
            return m.group(1)
    return None


class Grid:
    """Tracks the rectangle of a sheet's cells that hold a value; ``check`` refuses absurd ones.

    Used as is for .xls (cells come from BIFF records); the OOXML and ODS scanners
    below add a ``feed(chunk)`` for streamed sheet XML."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part, self.name = part, name
        self.rows = self.cols = 0            # furthest cell with a value (1-based)
        self.far: tuple[int, int] | None = None     # the cell with a value that reaches furthest

    def count(self, row: int, col: int) -> None:
        """One cell with a value at (row, col), 1-based."""
        self.rows, self.cols = max(self.rows, row), max(self.cols, col)
        if self.far is None or row * col >= self.far[0] * self.far[1]:
            self.far = (row, col)

    def check(self, name_of=lambda: None) -> None:
        rows, cols = self.rows, self.cols
        if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
            where = self.name or name_of() or self.part
            far_row, far_col = self.far or (rows, cols)
            raise _Refused(Code.TOO_LARGE, f"工作表“{where}”在单元格 {column_letter(max(far_col, 1) - 1)}{far_row} "
                                        f"填有内容，表格因此达到 {rows} 行 × {cols} 列，远超台账的正常大小；"
                                        "请删除远处误填的内容，用 Excel 另存后报送")


class _SharedStrings(Grid):
    """sharedStrings.xml: each <si> becomes a string the parser keeps; count them.

    The shortest string is ``<si/>``, 5 bytes: a part of at most 5 x MAX_SHARED_STRINGS bytes
    cannot hold too many, so it is not counted at all (the usual case costs nothing). A bigger
    one is counted exactly, reading it again (``rough``, as for sheets). An estimate from the
    byte count (``bytes / 3``) once refused honest tables of a few megabytes (2,500 cases with
    five Chinese text columns; the toolkit's own master) with an invented number of strings."""

    def __init__(self, part: str, exact: bool = False) -> None:
        super().__init__(part)
        self.count, self.bytes, self.exact = 0, 0, exact

    @property
    def rough(self) -> bool:
        return not self.exact and self.bytes > 5 * MAX_SHARED_STRINGS

    def feed(self, chunk: bytes) -> None:
        self.bytes += len(chunk)
        if not self.exact:
            return
        n = chunk.count(b"<si")              # may count <sib..> too: counting more is safe
        if b":si" in chunk:                  # prefixed <x:si> (calamine ignores prefixes)
            n += chunk.count(b":si>") + chunk.count(b":si ")
        self.count += n

    def check(self, name_of=lambda: None) -> None:
        if self.rough:                       # too big to vouch for unread: pre-flight reads it again
            raise _Refused(Code.TOO_LARGE, "共享文本表需要逐条清点")
        check_shared_strings(self.count)


def check_shared_strings(count: int) -> None:
    if count > MAX_SHARED_STRINGS:
        raise _Refused(Code.TOO_LARGE, f"共享文本表有 {count} 条文本，远超台账的正常数量，疑似恶意文件")


class _SheetGrid(Grid):
    """OOXML worksheet: the furthest cell with a value that calamine would place.

    A cell counts when a ``<v>`` or ``<is>`` follows its tag before the next cell
    (a ``<v`` inside an attribute only counts more). Three speeds, chosen per chunk:
    - small: every <c>/<row> is unprefixed with ``r`` first, and no reference has
      three letters or four digits (all of a real ledger): one search for a tag of
      any other form proves rows < 1000 and columns < 703, without reading each cell;
    - exact: the same usual form but bigger references (a WPS row formatted to
      XFD): each reference is read and kept only if a value follows;
    - walk: anything else (prefixes, ``r`` elsewhere or missing, odd spacing): a
      token walk that counts positions, starting conservatively from the furthest
      reference seen so far, valued or not.
    """

    def __init__(self, part: str, exact: bool = False) -> None:
        super().__init__(part)
        self.exact = exact           # read every reference, even in small chunks
        self.rough = False           # a small chunk's bound, not its cells, went into rows/cols
        self._seen = (0, 0)          # furthest position of any cell or row: where a walk may start
        self._pending: tuple[int, int] | None = None     # the last cell, until a value shows up

    def feed(self, chunk: bytes) -> None:
        small = None if self.exact else _small_bound(chunk)
        if small:
            self._small(chunk, small)
        elif not self._exact(chunk):
            self._walk(chunk)

    def _small(self, chunk: bytes, bound: tuple[int, int]) -> None:
        """A small chunk: its cells with a value lie within ``bound``; count the bound,
        not each cell (a value may also belong to a cell left pending by the last chunk)."""
        self._seen = (max(self._seen[0], bound[0]), max(self._seen[1], bound[1]))
        if b"<v" in chunk or b"<is" in chunk:
            if self._pending:
                self.count(*self._pending)
            self.rows, self.cols, self.rough = max(self.rows, bound[0]), max(self.cols, bound[1]), True
        if b"<c " in chunk or b"<c>" in chunk:
            self._pending = bound           # its last cell may get its value in the next chunk

    def _exact(self, chunk: bytes) -> bool:
        if _PREFIXED.search(chunk):
            return False
        found = _STD_CELL.findall(chunk)
        if any(not letters and not value for letters, _, value in found):
            return False                   # a cell without r: only a walk knows its place
        pending, (seen_r, seen_c) = self._pending, self._seen
        for letters, digits, value in found:
            if value:
                if pending:
                    self.count(*pending)
                    pending = None
            else:
                pending = (int(digits), _col(letters))
                seen_r, seen_c = max(seen_r, pending[0]), max(seen_c, pending[1])
        self._pending, self._seen = pending, (seen_r, seen_c)
        return True

    def _walk(self, chunk: bytes) -> None:
        row, col = self._seen
        pending = self._pending
        for m in _TOKEN.finditer(chunk):
            tag = m.group(1)
            if tag in (b"v", b"is"):
                if pending:
                    self.count(*pending)
                    pending = None
                continue
            r = _R_ATTR.search(m.group(2))
            if tag == b"row":
                row, col, pending = (_num(r.group(2)) if r else row + 1), 0, None
            else:
                col = _col(r.group(1)) if r and r.group(1) else col + 1
                if r:
                    row = _num(r.group(2))
                pending = (row, col)
            self._seen = (max(self._seen[0], row), max(self._seen[1], col))
        self._pending = pending


# A cell or row tag that is *not* of the form a small sheet proves itself with: <c r="A1"...> with
# at most two capitals and three digits (one capital: the narrow form), <row r="1"...> with at
# most three digits, ``r`` first after one XML space, quotes that match. The search starts at
# each "<" only (a literal first byte: the regex engine skips to it), so it costs one pass.
def _tag_not_of_form(letters: bytes) -> re.Pattern:
    return re.compile(rb"""<(?:c(?![\t\n\r ]r=(["'])[A-Z]""" + letters + rb"""[0-9]{1,3}\1)"""
                      rb"""|row(?![\t\n\r ]r=(["'])[0-9]{1,3}\2))[\s/>]""")


_NOT_NARROW, _NOT_SMALL = _tag_not_of_form(b""), _tag_not_of_form(b"{1,2}")


def _small_bound(chunk: bytes) -> tuple[int, int] | None:
    """(rows, columns) no cell of the chunk goes past, when every cell/row tag is
    <c r="A1"...>/<row r="1"...> with at most two letters and three digits; else None.

    The rows stay within 999, the columns within Z when no reference has two letters,
    else within ZZ. A prefixed tag (x:c, x:v: calamine ignores prefixes) sends the
    chunk to the exact reading or the walk, as does any other spelling: lower-case
    letters ("Xfd1" is column 16384 to calamine), ``r`` not first, a fourth digit.
    One search finds the first tag that is not of the narrow form; only when there is
    one does a second search, from there, look for one that is not of the two-letter
    form. (Which rows bound, 99 or 999, never decides a verdict: 999 x 2,000 columns is
    within the limits, so only the columns are kept tight.)
    """
    wide = _NOT_NARROW.search(chunk)
    if wide is not None and _NOT_SMALL.search(chunk, wide.start()) is not None:
        return None
    if _PREFIXED.search(chunk):
        return None
    return 999, (26 if wide is None else 702)


def _col(letters: bytes) -> int:
    """1-based column number of b"AB" (capped: 6+ letters is absurd anyway)."""
    return column_index(letters[:6].decode("ascii").upper()) + 1


def _num(digits: bytes) -> int:
    return int(digits) if len(digits) <= 12 else 10**12


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


_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def xml_unescape(s: str) -> str:
    """XML's five entities, &amp; last (as xml.sax.saxutils.unescape, whose import pulls in
    urllib and http: 20 ms of every button click)."""
    if "&" in s:
        for entity, char in _ENTITIES:
            s = s.replace(entity, char)
    return s
