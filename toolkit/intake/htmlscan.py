"""Web pages saved as .xls: the "导出Excel" of web systems is an HTML table, which Excel, WPS
and LibreOffice open as a sheet. Before the reader parses one, the page is measured in
chunks, with bounded memory: the rows its tables (and the text between them) make, and
the widest row, counting each cell's ``colspan`` and the cells ``rowspan`` carries down
from above. Spans are clamped as browsers clamp them (colspan 1000, rowspan 65534), and
the reader (:mod:`toolkit.read.htmlbook`) clamps them the same way, so the rectangle
measured here bounds the one it builds.

Tags are found in the raw bytes: in UTF-8 and the GBK family (GB2312, GBK, GB18030, Big5)
the bytes of "<", ">" and "=" never occur inside a multi-byte character; UTF-16 pages
are decoded first.
"""
from __future__ import annotations

import codecs
import re

from toolkit.core.issues import Code
from toolkit.intake.limits import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, Refused
from toolkit.intake.xmlscan import whole_tags

MAX_COLSPAN, MAX_ROWSPAN = 1000, 65534          # what browsers (and the HTML standard) clamp to
_TAG = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_SPAN = re.compile(rb"\b(col|row)span\s*=\s*[\"']?\s*([0-9]{1,9})", re.I)
_BLOCKS = frozenset({b"p", b"div", b"br", b"h1", b"h2", b"h3", b"h4", b"h5", b"h6", b"caption", b"li"})
_CELLS = frozenset({b"td", b"th"})


def looks_like_html(text: str) -> bool:
    """The first characters of a text file are those of a web page."""
    low = text.lstrip("\ufeff \r\n\t").lower()
    return low.startswith(("<html", "<!doctype html", "<table", "<meta", "<head", "<body", "<style")) \
        or "<html" in low[:400]


class HtmlScanner:
    """Streams a web page: counts the rows its tables and text blocks make and the widest row."""

    def __init__(self, head: bytes) -> None:
        self._decoder = None
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self._decoder = codecs.getincrementaldecoder("utf-16")("replace")
        self._carry = b""
        self.rows = self.cols = self.tables = self.cells = 0
        self._width = 0                      # the current row's width so far
        self._spans: list[list[int]] = []    # [rows still covered, width] of cells above spanning down
        self._new: list[list[int]] = []      # the same, of this row's cells

    def feed(self, data: bytes, final: bool = False) -> None:
        if self._decoder is not None:
            data = self._decoder.decode(data, final).encode("utf-8")
        buf = self._carry + data
        cut = whole_tags(buf, final)
        self._carry = buf[cut:][:8192]
        for m in _TAG.finditer(buf, 0, cut):
            self._tag(m.group(1) == b"/", m.group(2).lower(), m.group(3))

    def _tag(self, closing: bool, name: bytes, attrs: bytes) -> None:
        if closing:
            return
        if name == b"tr":
            self._end_row()
            self.rows += 1
        elif name in _CELLS:
            colspan, rowspan = 1, 1
            for kind, value in _SPAN.findall(attrs):
                n = max(1, int(value))
                if kind.lower() == b"col":
                    colspan = min(n, MAX_COLSPAN)
                else:
                    rowspan = min(n, MAX_ROWSPAN)
            self._width += colspan
            self.cells += 1
            if rowspan > 1:
                self._new.append([rowspan - 1, colspan])
        elif name == b"table":
            self.tables += 1
        elif name in _BLOCKS:
            self.rows += 1                    # text outside a table is a row of its own (counting more is safe)

    def _end_row(self) -> None:
        carried = sum(width for _, width in self._spans)
        self.cols = max(self.cols, self._width + carried)
        self._width = 0
        for span in self._spans:
            span[0] -= 1
        self._spans = [s for s in self._spans if s[0] > 0] + self._new
        self._new = []

    def finish(self) -> None:
        self.feed(b"", final=True)
        self._end_row()
        if not self.tables or not self.cells:
            raise Refused(Code.NOT_SPREADSHEET, "是网页文件（HTML），里面没有表格；请报送 Excel/WPS 台账")
        rows, cols = self.rows, self.cols
        if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
            raise Refused(Code.TOO_LARGE, f"网页表格达到 {rows} 行 × {cols} 列（含合并单元格），远超台账的正常大小；"
                                          "请在 Excel 中打开，删除多余内容后另存为 .xlsx 报送")
