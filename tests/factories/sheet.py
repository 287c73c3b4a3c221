"""The one writer of ledger sheets; every fixture ledger of the tests is written through it.

``write_ledger_sheet`` lays out a village's ledger sheet the way real ones look: a
merged title row, a 填报单位/填报日期 row, one or two header rows (group titles over
their columns), the cases (with blank rows between them, or the header repeated), and
footer rows. What is written where is the caller's choice; the three builders on top
of it are

- ``factories.ledgers.make_ledger``: realistic generated ledgers with each quirk and
  fault of real sheets (the demo, the benchmarks, most reader tests);
- ``factories.layouts.write_ledger``: hand-specified cases and header layouts, values
  exactly as a clerk typed them;
- ``factories.preserve.build_ledger``: a ledger carrying every feature write-back must
  keep (VBA, a button, images, notes, validations, ...).

Values are written as Excel stores them (text as text, dates as dates), through
xlsxwriter with formulas and URLs off: a village's "=1+1" stays text.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

FIXED_CREATED = datetime(2010, 5, 17, 9, 0, 0)   # a fixed creation date: same arguments, same bytes


@dataclass(frozen=True)
class Column:
    """One column: the key a case dict is read by, its header and the group over it."""
    key: str
    header: str
    group: str | None = None      # title over this column in the upper header row (two-row headers)
    width: float | None = None
    kind: str = "text"


@dataclass
class Styles:
    """The cell formats the writer uses; None is Excel's default format."""
    title: object = None
    header: object = None
    text: object = None
    date: object = None
    datetime: object = None


class Span(NamedTuple):
    """A value in columns ``first``..``last`` of a row (merged when they differ)."""
    first: int
    last: int
    value: object
    style: object = None


@dataclass
class SheetShape:
    """Where the writer put things (1-based Excel rows)."""
    header_rows: list[int]
    case_rows: list[int]


def xlwings_vba_project() -> bytes:
    """The vbaProject.bin of xlwings' bundled quickstart_standalone.xlsm (BSD)."""
    import xlwings
    src = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(src) as z:
        return z.read("xl/vbaProject.bin")


def new_workbook(path: Path, *, title: str | None = None, vba: bytes | None = None,
                 saved: datetime | None = None):
    """An xlsxwriter workbook that writes strings as strings, with fixed properties;
    ``vba`` embeds a VBA project (the file should end in .xlsm); ``saved``: the time the file
    says it was saved (docProps/core.xml, created and modified; UTC as Excel writes it)."""
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    props = {"author": "村信访信息员", "created": saved or FIXED_CREATED}
    wb.set_properties({"title": title, **props} if title else props)
    if vba is not None:
        wb.add_vba_project(io.BytesIO(vba), is_stream=True)
    return wb


def stamp_saved(path: Path, when: datetime) -> Path:
    """Make an .xlsx/.xlsm say it was last saved at ``when`` (UTC), as Excel writes it in
    docProps/core.xml (dcterms:created and dcterms:modified); every other part byte for byte."""
    import re
    path = Path(path)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as z:
        parts = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            z.writestr(info, data)
    return path


def put(ws, row: int, col: int, value: object, style: object = None) -> None:
    """Write one value the way Excel stores it: text as text, numbers as numbers, dates as dates."""
    if value is None:
        ws.write_blank(row, col, None, style)          # without a style: nothing is written
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, style)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value, style)
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), style)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, style)
    else:
        ws.write_string(row, col, str(value), style)


def write_value(ws, row: int, col: int, value: object, styles: Styles) -> None:
    """``put`` with the style for the value's type (dates get a date format)."""
    if isinstance(value, datetime):
        style = styles.datetime
    elif isinstance(value, date):
        style = styles.date
    else:
        style = styles.text
    put(ws, row, col, value, style)


def write_spans(ws, row: int, spans: Sequence[Span]) -> None:
    for s in spans:
        if s.last > s.first:
            ws.merge_range(row, s.first, row, s.last, s.value, s.style)
        else:
            put(ws, row, s.first, s.value, s.style)


def write_instructions(wb, lines: Sequence[str], *, first: object = None, rest: object = None,
                       width: float | None = None, name: str = "填表说明"):
    """A 填表说明 sheet: one line a row (``first`` formats the first line, ``rest`` the others)."""
    ws = wb.add_worksheet(name)
    if width is not None:
        ws.set_column(0, 0, width)
    for i, line in enumerate(lines):
        ws.write_string(i, 0, line, first if i == 0 else rest)
    return ws


def group_runs(columns: Sequence[Column]) -> list[tuple[str | None, int, int]]:
    """(group, first, last) for each run of neighbouring columns under one group; a column
    without a group is a run of its own."""
    runs: list[tuple[str | None, int, int]] = []
    for i, c in enumerate(columns):
        if c.group is not None and runs and runs[-1][0] == c.group and runs[-1][2] == i - 1:
            runs[-1] = (c.group, runs[-1][1], i)
        else:
            runs.append((c.group, i, i))
    return runs


def write_header(ws, row: int, columns: Sequence[Column], styles: Styles, *, rows: int = 2,
                 merge_groups: bool = True, lone: str = "merged") -> list[int]:
    """Write one or two header rows at 0-based ``row``; return them 1-based.

    With two rows a group title is merged across its columns (``merge_groups``; else it
    stands in its first cell only) and the column headers go below it. A column without
    a group is ``lone``: "merged" over both rows, or written in the "upper" or "lower" row.
    """
    if rows == 1:
        for i, c in enumerate(columns):
            ws.write_string(row, i, c.header, styles.header)
        return [row + 1]
    for group, first, last in group_runs(columns):
        if group is None:
            header = columns[first].header
            if lone == "merged":
                ws.merge_range(row, first, row + 1, first, header, styles.header)
            else:
                ws.write_string(row + (lone == "lower"), first, header, styles.header)
            continue
        if merge_groups and last > first:
            ws.merge_range(row, first, row, last, group, styles.header)
        else:
            ws.write_string(row, first, group, styles.header)
        for i in range(first, last + 1):
            ws.write_string(row + 1, i, columns[i].header, styles.header)
    return [row + 1, row + 2]


def write_ledger_sheet(ws, columns: Sequence[Column], cases: Sequence[Mapping[str, object]],
                       styles: Styles, *, title: str | None = None, reporter: Sequence[Span] = (),
                       header_rows: int = 2, merge_groups: bool = True, lone: str = "merged",
                       blank_before: Mapping[int, int] | None = None,
                       repeat_header_at: int | None = None,
                       footer: Sequence[Sequence[Span]] = ()) -> SheetShape:
    """Write a ledger sheet from its first row down; see the module docstring.

    ``reporter``: the 填报单位/填报日期 row (none when empty). ``blank_before``: case
    index -> blank rows left before it. ``repeat_header_at``: the case index before
    which the header rows are written again (a sheet pasted from two pages).
    ``footer``: rows after the data, each a list of spans (an empty list: a blank row).
    """
    row = 0
    if title is not None:
        if len(columns) > 1:
            ws.merge_range(row, 0, row, len(columns) - 1, title, styles.title)
        else:
            ws.write_string(row, 0, title, styles.title)
        row += 1
    if reporter:
        write_spans(ws, row, reporter)
        row += 1
    header = write_header(ws, row, columns, styles, rows=header_rows, merge_groups=merge_groups,
                          lone=lone)
    row = header[-1]
    blank_before = blank_before or {}
    case_rows = []
    for n, case in enumerate(cases):
        row += blank_before.get(n, 0)
        if n == repeat_header_at:
            row = write_header(ws, row, columns, styles, rows=header_rows, merge_groups=merge_groups,
                               lone=lone)[-1]
        for i, c in enumerate(columns):
            write_value(ws, row, i, case.get(c.key), styles)
        case_rows.append(row + 1)
        row += 1
    for spans in footer:
        write_spans(ws, row, spans)
        row += 1
    return SheetShape(header, case_rows)
