"""Reading one village ledger workbook into a ``Ledger``: the file and the sheet.

Tells the file's format (and macros) from its bytes (:mod:`.fileformat`), opens it
with the reader those bytes call for (python-calamine; xlrd for Excel 2.x-95; the web
page reader for HTML), finds the ledger sheet (skipping an instructions sheet and the
template's marker sheet) and runs the other modules of this stage over it: the
header (:mod:`.header`), the case rows (:mod:`.rows`), their values
(:mod:`.values`) and the village (:mod:`.village`).

The file must already have passed intake's pre-flight: calamine itself is not
safe on hostile files. Macros are detected, never run.
"""
from __future__ import annotations

import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from toolkit.core import fields as F
from toolkit.core.cells import cell_ref
from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import CaseColumns, Ledger
from toolkit.core.normalize import clean_text
from toolkit.intake.farvalues import notes_for
from toolkit.intake.preflight import preflight
from toolkit.read.explain import explain
from toolkit.read.fileformat import Sniffed, calamine_path, sniff
from toolkit.read.header import HEAD_ROWS, MIN_HEADER_KEYS, Aliases, Header, find_header, score_header
from toolkit.read.htmlbook import HtmlWorkbook
from toolkit.read.oldxls import OldWorkbook
from toolkit.read.openable import macro_sheet_parts, without_far_values, without_macro_sheets
from toolkit.read.repair import repaired_copy
from toolkit.read.rows import find_case_rows
from toolkit.read.saved import last_saved
from toolkit.read.values import case_values
from toolkit.read.village import identify_village

_INSTRUCTION_WORDS = ("填表说明", "说明", "填写说明", "使用说明")


# --- the ledger ------------------------------------------------------------------
def read_ledger(path: Path, aliases: Aliases = (), *, source: Path | None = None,
                parts: dict[str, bytes] | None = None) -> Ledger:
    """Read one workbook (already through pre-flight) into a Ledger with value-level issues.

    ``aliases``: the township's own header spellings (``Settings.header_aliases``); ``source``:
    the bytes to read when they are not ``path``'s own (a decrypted copy); messages always name
    ``path``; ``parts``: small parts of ``source`` that pre-flight already inflated
    (``preflight(kept=...)``), not read again. The case table is made as plain ``CaseColumns`` (no pandas): the sandboxed workers
    of ``toolkit.read.sandboxed.read_ledgers`` start without pandas and send small pickles, and
    the DataFrame is built in whichever process asks for ``Ledger.cases``.

    The reader is chosen by what the bytes are (:mod:`.fileformat`), never the name. Copies
    are read instead of the file when pre-flight passed it on the condition that its lone far
    values are left out, when it has Excel 4.0 macro sheets, or when calamine stumbles on a
    valid but unusual package (:mod:`.repair`).
    """
    path = Path(path)
    source = Path(source) if source is not None else path
    ledger = Ledger(path=path, cases=None)   # the table is built once, below
    kind = sniff(source)
    ledger.file_format, ledger.has_macros = kind.format, kind.macros
    ledger.saved = last_saved(source, kind.format, parts)
    if ledger.has_macros:
        ledger.issues.append(make_issue(Code.MACROS_PRESENT, file=str(path)))
    with _Scratch() as scratch:
        far = notes_for(source)
        if far:
            source = without_far_values(source, far, scratch.folder())
            ledger.issues += [_far_value_issue(n, path) for n in far]
        if kind.format == "ods" and not kind.ods_mimetype:
            source = _repaired(source, kind, scratch, ledger) or source
        if kind.macro_sheets and macro_sheet_parts(source):
            copy = without_macro_sheets(source, scratch.folder())
            if copy is not None:
                ledger.issues.append(make_issue(Code.MACRO_SHEET, file=str(path), sheets="、".join(copy[1])))
                source = copy[0]
        _open_and_read(source, kind, ledger, scratch, aliases)
    if ledger.plain_cases is None:      # never read (an unreadable file): an empty table
        ledger.cases = CaseColumns({}, [])
    return ledger


class _Scratch:
    """A temporary folder made only when a copy is needed (most files need none)."""

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory | None = None

    def folder(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="taizhang-read-")
        return Path(self._tmp.name)

    def __enter__(self) -> "_Scratch":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


_PARSER_ERRORS = (CalamineError, OSError, ValueError, KeyError, IndexError, LookupError, struct.error)


def _open_and_read(source: Path, kind: Sniffed, ledger: Ledger, scratch: _Scratch, aliases: Aliases) -> None:
    """Read ``source``; when calamine stumbles, read a repaired copy once (pre-flighted like any
    file); a failure of both is explained by the first one's words."""
    before = len(ledger.issues)
    try:
        _read_book(source, kind, ledger, scratch, aliases)
        return
    except PasswordError:
        ledger.readable = False
        ledger.issues.append(make_issue(Code.ENCRYPTED, file=str(ledger.path)))
        return
    except _PARSER_ERRORS as e:
        first = e
    _forget_reading(ledger, before)
    repaired = None if kind.xlrd else _repaired(source, kind, scratch, ledger)
    if repaired is not None and ledger.readable:
        try:
            _read_book(repaired, kind, ledger, scratch, aliases)
            return
        except _PARSER_ERRORS:
            _forget_reading(ledger, before)
    if ledger.readable:
        ledger.readable = False
        reason = explain(f"{type(first).__name__}: {first}", file=ledger.path)
        ledger.issues.append(make_issue(Code.UNREADABLE, file=str(ledger.path), reason=reason))


_SHEET_FACTS = ("sheet", "village", "village_source", "report_date", "cases", "columns", "computed_columns",
                "header_rows", "header_cells", "last_column", "template_version")


def _forget_reading(ledger: Ledger, issues_before: int) -> None:
    """Undo what a failed reading of the workbook left in ``ledger`` (the file's own facts stay)."""
    del ledger.issues[issues_before:]
    fresh = Ledger(path=ledger.path, cases=None)
    for name in _SHEET_FACTS:
        setattr(ledger, name, getattr(fresh, name))


def _repaired(source: Path, kind: Sniffed, scratch: _Scratch, ledger: Ledger) -> Path | None:
    """A repaired copy of ``source`` that passed pre-flight (its warnings added), or None; a
    copy pre-flight refuses makes the ledger unreadable with pre-flight's words."""
    try:
        copy = repaired_copy(source, kind.format, scratch.folder())
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, KeyError, EOFError):
        return None                 # damaged, not unusual: the parser's own failure says so
    if copy is None:
        return None
    issue = preflight(copy.path, shown_as=ledger.path)
    if issue is not None:
        ledger.readable = False
        ledger.issues.append(issue)
        return None
    if copy.missing_sheets:
        ledger.issues.append(make_issue(Code.MISSING_SHEET, file=str(ledger.path),
                                        sheets="、".join(f"“{n}”" for n in copy.missing_sheets)))
    return copy.path


def _read_book(source: Path, kind: Sniffed, ledger: Ledger, scratch: _Scratch, aliases: Aliases) -> None:
    """Open ``source`` with the reader its format needs and read it."""
    if kind.format == "html":
        with HtmlWorkbook(source) as wb:
            read_workbook(wb, ledger, aliases)
        return
    if kind.xlrd:                                   # Excel 2.x-95: calamine reads BIFF8 only, well
        import xlrd
        try:
            with OldWorkbook(source) as wb:
                read_workbook(wb, ledger, aliases)
        except xlrd.XLRDError as e:
            raise ValueError(str(e)) from None
        return
    target = calamine_path(source, kind.format, scratch.folder)
    with CalamineWorkbook.from_path(str(target)) as wb:
        read_workbook(wb, ledger, aliases)


def _far_value_issue(note, path: Path):
    shown = note.cells[:3]
    cells = "、".join(shown) + (f" 等 {len(note.cells)} 个单元格" if len(note.cells) > len(shown) else "")
    return make_issue(Code.FAR_VALUE, sheet=note.sheet, file=str(path), cells=cells,
                      these="这些单元格" if len(note.cells) > 1 else "该单元格")


def read_workbook(wb, ledger: Ledger, aliases: Aliases = ()) -> None:
    """Fill ``ledger`` from an open workbook.

    ``wb`` is a python-calamine workbook or anything shaped like one (the Excel
    buttons pass the open book's values): ``sheet_names``, ``sheets_metadata``
    (name, typ, visible), ``get_sheet_by_name(name)`` returning a sheet with
    ``name``, ``to_python(skip_empty_area=False, nrows=None)`` and
    ``merged_cell_ranges``. ``aliases``: the township's own header spellings. ``ledger.cases``
    is set as ``CaseColumns`` (the DataFrame when asked for).
    """
    metas = wb.sheets_metadata
    marker_village = None
    if F.TEMPLATE_MARKER_SHEET in wb.sheet_names:
        marker_village = _read_marker(wb, ledger)
    sheets = [m for m in metas if m.typ == SheetTypeEnum.WorkSheet and m.name != F.TEMPLATE_MARKER_SHEET]
    chosen = _choose_sheet(wb, [m for m in sheets if not _is_instructions(m.name)],
                           SheetVisibleEnum.Visible, aliases)
    if chosen is None:      # a sheet named like 说明 is a ledger only when nothing else is
        chosen = _choose_sheet(wb, [m for m in sheets if _is_instructions(m.name)],
                               SheetVisibleEnum.Visible, aliases)
    if chosen is None:
        visible = [m.name for m in sheets if m.visible == SheetVisibleEnum.Visible] \
            or [m.name for m in sheets]
        ledger.cases = CaseColumns({}, [])
        if visible:
            ledger.sheet = next((n for n in visible if not _is_instructions(n)), visible[0])
        _not_a_ledger(ledger, [m.name for m in sheets], marker_village)
        return
    sheet, rows, anchor = chosen
    ledger.sheet = sheet.name
    header = find_header(rows[:HEAD_ROWS], anchor, _merged(sheet), aliases)
    ledger.header_rows = [r + 1 for r in header.rows]
    ledger.columns, ledger.computed_columns = header.columns, header.computed
    ledger.header_cells = header.cells
    ledger.last_column = _last_column(rows, header.rows)
    for key, c, r in header.duplicates:
        ledger.issues.append(make_issue(Code.DUPLICATE_COLUMN, sheet=sheet.name, cell=cell_ref(c, r + 1),
                                        row=r + 1, column=F.header_for(key), file=str(ledger.path)))
    ledger.issues += header_issues(header, sheet.name, str(ledger.path))
    _missing_columns(ledger, header.columns)
    case_rows = find_case_rows(rows, header)
    data, index = case_values(ledger, rows, case_rows)
    if not case_rows:
        ledger.issues.append(make_issue(Code.EMPTY_LEDGER, sheet=sheet.name, file=str(ledger.path)))
    identify_village(ledger, marker_village, rows[:header.rows[0]], data)
    ledger.cases = CaseColumns(data, index)


def _not_a_ledger(ledger: Ledger, looked_at: list[str], marker_village: str | None) -> None:
    """No sheet carries the ledger's identifying headers (or there is no sheet to look at):
    one error naming the sheets looked at, instead of a missing column each and a guess at
    the village."""
    looked = (f"查看了工作表 {'、'.join(f'“{n}”' for n in looked_at)}，都" if looked_at
              else "文件里没有可以填写的普通工作表（只有图表、宏表或隐藏的标记表），")
    ledger.issues.append(make_issue(Code.NOT_A_LEDGER, file=str(ledger.path), looked=looked))
    before = len(ledger.issues)
    identify_village(ledger, marker_village, [], {})
    ledger.issues[before:] = [i for i in ledger.issues[before:] if i.code != Code.VILLAGE_UNKNOWN]


def _is_instructions(name: str) -> bool:
    return any(w in name for w in _INSTRUCTION_WORDS)


def _read_marker(wb, ledger: Ledger) -> str | None:
    rows = wb.get_sheet_by_name(F.TEMPLATE_MARKER_SHEET).to_python(skip_empty_area=False, nrows=4)
    get = lambda r, c: clean_text(rows[r][c]) if r < len(rows) and c < len(rows[r]) else None  # noqa: E731
    if get(0, 0) != F.TEMPLATE_MARKER_TAG:
        return None
    ledger.template_version = get(0, 1)
    return get(1, 1)


def _choose_sheet(wb, candidates, visible_enum, aliases: Aliases = ()):
    """(sheet, rows, header row) of the best-scoring candidate, or None if none has a header."""
    if not candidates:
        return None
    if len(candidates) == 1:
        sheet = wb.get_sheet_by_name(candidates[0].name)
        rows = sheet.to_python(skip_empty_area=False)
        score, anchor = score_header(rows[:HEAD_ROWS], aliases)
        return (sheet, rows, anchor) if score >= MIN_HEADER_KEYS else None
    best = None
    for n, meta in enumerate(candidates):
        sheet = wb.get_sheet_by_name(meta.name)
        score, anchor = score_header(sheet.to_python(skip_empty_area=False, nrows=HEAD_ROWS), aliases)
        rank = (score, meta.visible == visible_enum, -n)
        if score >= MIN_HEADER_KEYS and (best is None or rank > best[0]):
            best = (rank, sheet, anchor)
    if best is None:
        return None
    _, sheet, anchor = best
    return sheet, sheet.to_python(skip_empty_area=False), anchor


def _merged(sheet):
    try:
        return sheet.merged_cell_ranges or ()
    except Exception:  # not supported for this format
        return ()


def _last_column(rows: list[list], header_rows: list[int]) -> int:
    last = -1
    for r in header_rows:
        for c, v in enumerate(rows[r]):
            if v != "" and v is not None:
                last = max(last, c)
    return last


def header_issues(header: Header, sheet: str, file: str) -> list:
    """What reading the header has to say: each near miss and each ambiguous header at its
    cell, and the village's own columns once."""
    out = []
    for h in header.read_as("near"):
        out.append(make_issue(Code.HEADER_NEAR_MISS, sheet=sheet, cell=cell_ref(h.col, h.row + 1), row=h.row + 1,
                              column=F.header_for(h.key), file=file, written=h.text,
                              near="" if h.near[0] == F.header_for(h.key) else f"（与“{h.near[0]}”相近）"))
    for h in header.read_as("ambiguous"):
        fields = "、".join(f"“{F.header_for(k)}”（{n}）" for k, n in zip(h.keys, h.near))
        out.append(make_issue(Code.HEADER_AMBIGUOUS, sheet=sheet, cell=cell_ref(h.col, h.row + 1), row=h.row + 1,
                              file=file, written=h.text, fields=fields))
    own = header.read_as("own")
    if own:
        shown = "、".join(f"{cell_ref(h.col, h.row + 1)}“{_short(h.text)}”" for h in own[:12])
        more = f" 等 {len(own)} 列" if len(own) > 12 else ""
        out.append(make_issue(Code.EXTRA_COLUMNS, sheet=sheet, file=file, columns=shown + more))
    return out


def _short(text: str, limit: int = 20) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _missing_columns(ledger: Ledger, columns: dict[str, int]) -> None:
    for key in F.REQUIRED_KEYS:
        if key not in columns:
            f = F.FIELD_BY_KEY[key]
            ledger.issues.append(make_issue(
                Code.MISSING_COLUMN, sheet=ledger.sheet, column=f.header, file=str(ledger.path),
                variants="、".join(f.names)))
