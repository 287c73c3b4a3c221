"""Streaming worksheet XML for the master's big sheets (总台账, 预警).

xlsxwriter spends most of its time in per-cell Python (a cell object, a dict of
rows, a second pass to write). For the big sheets we write the ``<row>``/``<c>``
elements ourselves, row by row, into the package xlsxwriter produced for
everything else (styles, small sheets, chart, defined names, page setup, the big
sheets' title and header rows): ``splice`` copies that package and puts our rows
into the named sheets' ``<sheetData>``, fixes their ``<dimension>`` and appends
our strings to ``sharedStrings.xml``.

The XML is what xlsxwriter writes for the same ``write_string`` /
``write_number`` / ``write_datetime`` calls (tests compare both): shared
strings, control characters as ``_xHHHH_``, ``xml:space="preserve"`` for
leading or trailing white space, at most 32,767 UTF-16 units a cell, dates as
serial numbers with the date style, the column's format for cells written
without one, row spans per block of 16 rows. One deliberate difference: a text
that looks like xlsxwriter's rich-string markup (``<r>…</r>``) is escaped like
any text, never passed through as XML. Nothing is ever written as a formula.
"""
from __future__ import annotations

import numbers
import queue
import re
import threading
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import IO, Callable, Mapping, Sequence
from xml.etree import ElementTree

from toolkit.core.cells import column_letter

MAX_UNITS = 32767                      # Excel's limit for a cell's text, in UTF-16 units
_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_UNUSUAL = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_XML_SPECIAL = re.compile('["&<>\n]')
_EDGE_SPACE = re.compile(r"^\s|\s$")
_EPOCH = datetime(1899, 12, 31)
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_EXACT = 10 ** 15                      # ints below this print the same with str() and .16G
TICK = "√"
BLOCK = 16                             # rows per span block, as Excel and xlsxwriter count


@dataclass
class Column:
    """One column of streamed cells: its values (one per row) and styles by xf index.

    ``text``/``number``: style of a text/number cell (xlsxwriter: the explicit format,
    else the column's); ``date``: style of a date cell; ``by_text``: a style for some
    exact texts (the alert colours); ``tick``: only True is written, as "√";
    ``empty``: an empty text is written as a text cell (else nothing is written).
    """
    at: int
    values: Sequence
    text: int | None = None
    number: int | None = None
    date: int | None = None
    by_text: Mapping[str, int] | None = None
    tick: bool = False
    empty: bool = False


@dataclass
class Rows:
    """Rows ``first_row`` … of one sheet (0-based), ``count`` of them, from ``columns``.

    ``header`` is the (first, last) column of the rows above that share the first
    block of 16 rows (the title and header written by xlsxwriter), for row spans.
    ``heights``: a row's height in points where its wrapped text needs more than one line,
    written as xlsxwriter's ``set_row`` writes it (whole pixels).
    """
    first_row: int
    count: int
    columns: Sequence[Column]
    header: tuple[int, int] | None = None
    heights: Sequence[float | None] | None = None     # points per row (None: the default height)


class SharedStrings:
    """The strings of the streamed rows, numbered after the ``first`` ones already there."""

    def __init__(self, first: int) -> None:
        self.first, self.refs = first, 0
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        n = self.index[text] = self.first + len(self.index)
        return n

    def entries(self, start: int, stop: int) -> list[bytes]:
        """``<si>`` elements of the strings numbered ``first + start`` … (in order)."""
        return [_si(s).encode("utf-8") for s in islice(self.index, start, stop)]


def _si(text: str) -> str:
    if _UNUSUAL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", _ESCAPED.sub(r"_x005F\1", text))
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    if _XML_SPECIAL.search(text):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<si><t{space}>{text}</t></si>"


def fit_text(text: str) -> str:
    """At most 32,767 UTF-16 units, never splitting a character above U+FFFF."""
    if len(text) <= MAX_UNITS // 2:
        return text
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_UNITS:
            return text[:i]
    return text


def serial(value: date) -> float:
    """Excel's serial day number (1900 system), as xlsxwriter computes it."""
    d = value if isinstance(value, datetime) else datetime.fromordinal(value.toordinal())
    delta = d - _EPOCH
    days = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return days + 1 if days > 59 else days


def _points(height: float) -> str:
    """A row height as xlsxwriter writes it: whole pixels (4/3 a point), back in points."""
    return f"{int(height * 4.0 / 3.0 + 0.5) * 0.75:.16g}"


def _attr(xf: int | None) -> str:
    return "" if xf is None else f' s="{xf}"'


# --- the rows -----------------------------------------------------------------------
def stream_rows(rows: Rows, strings: SharedStrings, write: Callable[[str], object]) -> None:
    """Write ``rows`` as ``<row>`` elements, one block of 16 rows per ``write`` call."""
    plan = [(c.at, f'<c r="{column_letter(c.at)}', c.values, _attr(c.text), _attr(c.number),
             _attr(c.date), {k: _attr(v) for k, v in (c.by_text or {}).items()}, c.tick, c.empty)
            for c in sorted(rows.columns, key=lambda c: c.at)]
    maker = _CellMaker(strings)
    block: list[str] = []
    lo = hi = None
    if rows.header and (rows.first_row - 1) // BLOCK == rows.first_row // BLOCK:
        lo, hi = rows.header
    heights = rows.heights or [None] * rows.count
    for i in range(rows.count):
        r = rows.first_row + i
        cells, first, last = maker.row(plan, i, str(r + 1))
        if cells:
            tall = "" if heights[i] is None else f' ht="{_points(heights[i])}" customHeight="1"'
            block.append(f'<row r="{r + 1}" spans="{{}}"{tall}>{"".join(cells)}</row>')
            lo = first if lo is None else min(lo, first)
            hi = last if hi is None else max(hi, last)
        if (r + 1) % BLOCK == 0 or i == rows.count - 1:
            if block:
                span = f"{lo + 1}:{hi + 1}"
                write("".join(block).replace('spans="{}"', f'spans="{span}"'))
            block, lo, hi = [], None, None


class _CellMaker:
    """One ``<c>`` element for one value, as the master's writing rules want it."""

    def __init__(self, strings: SharedStrings) -> None:
        self.strings = strings
        self.index = strings.index
        self.serials: dict[date, str] = {}

    def row(self, plan: list, i: int, rn: str) -> tuple[list[str], int | None, int | None]:
        """The cells of row ``i`` (``rn`` its 1-based number): the common types inline."""
        cells: list[str] = []
        first = last = None
        refs = 0
        index, serials = self.index, self.serials
        for at, head, values, text_s, num_s, date_s, by_text, tick, empty in plan:
            v = values[i]
            if v is None:
                continue
            cls = v.__class__
            if tick:
                if v is not True:
                    continue
                refs += 1
                cell = f'{head}{rn}"{text_s} t="s"><v>{self.tick_index()}</v></c>'
            elif cls is str and v and len(v) <= MAX_UNITS // 2:
                n = index.get(v)
                if n is None:
                    n = self.strings.add(v)
                refs += 1
                style = by_text.get(v, text_s) if by_text else text_s
                cell = f'{head}{rn}"{style} t="s"><v>{n}</v></c>'
            elif cls is int and -_EXACT < v < _EXACT:      # str(v) == f"{v:.16G}"
                cell = f'{head}{rn}"{num_s}><v>{v}</v></c>'
            elif cls is date:
                x = serials.get(v)
                if x is None:
                    x = serials[v] = f"{serial(v):.16G}"
                cell = f'{head}{rn}"{date_s}><v>{x}</v></c>'
            else:
                cell = self.make(v, head[6:] + rn, text_s, num_s, date_s, by_text, tick, empty)
                if cell is None:
                    continue
            cells.append(cell)
            if first is None:
                first = at
            last = at
        self.strings.refs += refs
        return cells, first, last

    def tick_index(self) -> int:
        n = self.index.get(TICK)
        return self.strings.add(TICK) if n is None else n

    def text(self, ref: str, value: str, style: str) -> str:
        if len(value) > MAX_UNITS // 2:
            value = fit_text(value)
        n = self.index.get(value)
        if n is None:
            n = self.strings.add(value)
        self.strings.refs += 1
        return f'<c r="{ref}"{style} t="s"><v>{n}</v></c>'

    def make(self, v, ref, text_s, num_s, date_s, by_text, tick, empty) -> str | None:
        if v is None:
            return None
        if tick:
            return self.text(ref, TICK, text_s) if v is True else None
        cls = v.__class__
        if cls is str:
            if not v:
                return self.text(ref, v, by_text.get(v, text_s) if by_text else text_s) if empty else None
            return self.text(ref, v, by_text.get(v, text_s) if by_text else text_s)
        if cls is int or cls is float:
            return f'<c r="{ref}"{num_s}><v>{v:.16G}</v></c>' if v - v == 0 else None
        if v != v:                                     # NaT, Decimal("NaN") …
            return None
        if isinstance(v, date):
            return f'<c r="{ref}"{date_s}><v>{serial(v):.16G}</v></c>'
        if isinstance(v, numbers.Real) and cls is not bool:
            return f'<c r="{ref}"{num_s}><v>{float(v):.16G}</v></c>' if v - v == 0 else None
        return self.text(ref, str(v), text_s)          # never a formula, whatever it looks like


# --- the package --------------------------------------------------------------------
def sheet_entries(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package (from workbook.xml and its relationships)."""
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    book = ElementTree.fromstring(package.read("xl/workbook.xml"))
    out = {}
    for s in book.iter(f"{_MAIN_NS}sheet"):
        t = target[s.get(f"{_REL_NS}id")]
        out[s.get("name")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    return out


_DIMENSION = re.compile(rb'<dimension ref="([^"]*)"/>')
_SST_HEAD = re.compile(rb'<sst [^>]*count="(\d+)" uniqueCount="(\d+)">')
_SST_COUNTS = re.compile(rb'count="\d+" uniqueCount="\d+"')


def splice(package: IO[bytes], out: IO[bytes], sheets: Mapping[str, Rows], *,
           level: int = 1) -> None:
    """Copy the xlsx ``package`` to ``out`` with ``sheets``' rows streamed into their sheets.

    Deflate ``level`` 1: about a fifth of the CPU of zlib's default for a file about a
    third larger (the sheets' XML is repetitive); it runs in a second thread (zlib lets
    go of the GIL), beside the making of the XML.
    """
    with zipfile.ZipFile(package) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        parts = {part: name for name, part in sheet_entries(src).items() if name in sheets}
        sst_part = "xl/sharedStrings.xml"
        sst_xml = src.read(sst_part)
        head = _SST_HEAD.search(sst_xml)
        if head is None:                          # xlsxwriter always writes the titles
            raise ValueError("the package has no shared strings table")
        strings = SharedStrings(first=int(head.group(2)))
        for info in src.infolist():
            if info.filename == sst_part:
                continue
            if info.filename in parts:
                _stream_sheet(src.read(info), sheets[parts[info.filename]], strings,
                              dst, info.filename)
            else:
                dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED,
                             compresslevel=level)
        _write_strings(dst, sst_part, sst_xml, head, strings)


def _stream_sheet(xml: bytes, rows: Rows, strings: SharedStrings, dst: zipfile.ZipFile,
                  name: str) -> None:
    before, end, after = xml.partition(b"</sheetData>")
    if end:
        after = end + after
    else:                                     # no rows at all yet: <sheetData/>
        before, _, after = xml.partition(b"<sheetData/>")
        before, after = before + b"<sheetData>", b"</sheetData>" + after
    last = last_row_with_cells(rows)
    if last is not None:
        before = _DIMENSION.sub(lambda m: _grown(m.group(1), last), before, count=1)
    with dst.open(name, "w") as f, _Compressing(f) as out:
        out.write(before)
        stream_rows(rows, strings, lambda text: out.write(text.encode("utf-8")))
        out.write(after)


class _Compressing:
    """Writes ``f`` (a zip entry: deflate, CRC) from a second thread, fed through a short
    queue; an error there is raised here."""

    CHUNK = 1 << 18                 # bytes handed over at a time (few hand-overs, short waits)

    def __init__(self, f, depth: int = 16) -> None:
        self.f, self.error = f, None
        self.held: list[bytes] = []
        self.size = 0
        self.chunks: queue.Queue = queue.Queue(depth)
        self.thread = threading.Thread(target=self._run, name="sheetxml-deflate", daemon=True)

    def __enter__(self) -> "_Compressing":
        self.thread.start()
        return self

    def write(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.held.append(data)
        self.size += len(data)
        if self.size >= self.CHUNK:
            self._hand_over()

    def _hand_over(self) -> None:
        self.chunks.put(b"".join(self.held))
        self.held, self.size = [], 0

    def _run(self) -> None:
        while (data := self.chunks.get()) is not None:
            if self.error is None:
                try:
                    self.f.write(data)
                except BaseException as e:      # kept for the writing thread
                    self.error = e

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self._hand_over()
        self.chunks.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def last_row_with_cells(rows: Rows) -> int | None:
    """The last row that gets a cell (looked for from the end, without keeping strings)."""
    dry = _CellMaker(SharedStrings(0))
    cols = [(c.values, _attr(c.text), _attr(c.number), _attr(c.date),
             {k: _attr(v) for k, v in (c.by_text or {}).items()}, c.tick, c.empty)
            for c in rows.columns]
    for i in range(rows.count - 1, -1, -1):
        if any(dry.make(values[i], "A1", *styles) is not None for values, *styles in cols):
            return rows.first_row + i
    return None


def _grown(ref: bytes, last_row: int) -> bytes:
    """The skeleton's <dimension> (title and headers) extended down to ``last_row``."""
    first, _, end = ref.decode("ascii").partition(":")
    end = end or first
    letters = end.rstrip("0123456789")
    row = max(int(end[len(letters):]), last_row + 1)
    return f'<dimension ref="{first}:{letters}{row}"/>'.encode("ascii")


def _write_strings(dst: zipfile.ZipFile, part: str, xml: bytes, head: re.Match,
                   strings: SharedStrings) -> None:
    count = int(head.group(1)) + strings.refs
    unique = int(head.group(2)) + len(strings.index)
    body = xml[head.end():].rpartition(b"</sst>")[0]
    counts = f'count="{count}" uniqueCount="{unique}"'.encode("ascii")
    with dst.open(part, "w") as f:
        f.write(xml[:head.start()])
        f.write(_SST_COUNTS.sub(counts, head.group(0)))
        f.write(body)
        for chunk in range(0, len(strings.index), 4096):
            f.write(b"".join(strings.entries(chunk, chunk + 4096)))
        f.write(b"</sst>")
