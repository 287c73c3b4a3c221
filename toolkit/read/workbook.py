"""Reading one village ledger workbook into a ``Ledger``: the file and the sheet.

Tells the file's format (and macros) from its bytes, opens it with
python-calamine, finds the ledger sheet (skipping an instructions sheet and the
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
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from toolkit.core import fields as F
from toolkit.core.cells import cell_ref
from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import CaseColumns, Ledger
from toolkit.core.normalize import clean_text
from toolkit.read.explain import explain
from toolkit.read.header import HEAD_ROWS, MIN_HEADER_KEYS, find_header, score_header
from toolkit.read.oldxls import OldWorkbook, is_old_biff
from toolkit.read.openable import macro_sheet_parts, without_macro_sheets
from toolkit.read.rows import find_case_rows
from toolkit.read.saved import last_saved
from toolkit.read.values import case_values
from toolkit.read.village import identify_village

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_INSTRUCTION_WORDS = ("填表说明", "说明", "填写说明", "使用说明")


# --- the workbook as a file ---------------------------------------------------
def _sniff(path: Path) -> tuple[str | None, bool, bool]:
    """(file format, has macros, may have Excel 4.0 macro or dialog sheets).

    For a zip, the central directory at the end of the file lists the parts:
    reading it is enough to see vbaProject.bin, macro sheets (or an ODS mimetype).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
            directory = _zip_directory(fh) if head.startswith(b"PK") else b""
    except OSError:
        return None, False, False
    if head.startswith(b"PK"):
        if head[30:38] == b"mimetype" and b"opendocument.spreadsheet" in head:
            return "ods", b"Basic/" in directory, False
        if directory is None:
            return ("xlsm" if _zip_has(path, "xl/vbaProject.bin") else "xlsx",
                    _zip_has(path, "xl/vbaProject.bin"), True)
        macros = b"vbaProject.bin" in directory
        sheets = b"macrosheets/" in directory or b"dialogsheets/" in directory
        return ("xlsm" if macros or path.suffix.lower() == ".xlsm" else "xlsx"), macros, sheets
    if head[:8] == _OLE_MAGIC:
        return "xls", _ole_has_vba(path), False
    return None, False, False


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


def _zip_has(path: Path, name: str) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return name in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _ole_has_vba(path: Path) -> bool:
    try:
        import olefile
    except ImportError:  # pragma: no cover - msoffcrypto-tool brings olefile
        return "_VBA_PROJECT_CUR".encode("utf-16-le") in path.read_bytes()
    try:
        with olefile.OleFileIO(str(path)) as ole:
            return ole.exists("_VBA_PROJECT_CUR")
    except Exception:
        return False



# --- the ledger ------------------------------------------------------------------
def read_ledger(path: Path) -> Ledger:
    """Read one workbook (already through pre-flight) into a Ledger with value-level issues."""
    ledger = read_ledger_plain(path)
    ledger.cases = ledger.cases.to_frame()
    return ledger


def read_ledger_plain(path: Path, source: Path | None = None) -> Ledger:
    """``read_ledger`` with ``cases`` left as plain ``CaseColumns`` (no pandas).

    The sandboxed workers of ``toolkit.read.sandboxed.read_ledgers`` use this one: they
    start without pandas and send small pickles; the parent builds the DataFrame.
    ``source``: the bytes to read when they are not ``path``'s own (a decrypted copy);
    messages always name ``path``.
    """
    path = Path(path)
    source = Path(source) if source is not None else path
    ledger = Ledger(path=path, cases=None)   # the table is built once, below
    ledger.file_format, ledger.has_macros, macro_sheets = _sniff(source)
    ledger.saved = last_saved(source, ledger.file_format)
    if ledger.has_macros:
        ledger.issues.append(make_issue(Code.MACROS_PRESENT, file=str(path)))
    if macro_sheets and macro_sheet_parts(source):
        with tempfile.TemporaryDirectory(prefix="taizhang-read-") as tmp:
            copy = without_macro_sheets(source, Path(tmp))
            if copy is not None:
                ledger.issues.append(make_issue(Code.MACRO_SHEET, file=str(path), sheets="、".join(copy[1])))
            _open_and_read(copy[0] if copy else source, ledger)
    else:
        _open_and_read(source, ledger)
    if ledger.cases is None:
        ledger.cases = CaseColumns({}, [])
    return ledger


def _open_and_read(source: Path, ledger: Ledger) -> None:
    try:
        if is_old_biff(source):                     # Excel 2.x-4.0: calamine reads BIFF5+ only
            import xlrd
            try:
                with OldWorkbook(source) as wb:
                    _read_workbook(wb, ledger)
            except xlrd.XLRDError as e:
                raise ValueError(str(e)) from None
            ledger.file_format = "xls"
            return
        with CalamineWorkbook.from_path(str(source)) as wb:
            _read_workbook(wb, ledger)
    except PasswordError:
        ledger.readable = False
        ledger.issues.append(make_issue(Code.ENCRYPTED, file=str(ledger.path)))
    except (CalamineError, OSError, ValueError, KeyError, IndexError, struct.error) as e:
        ledger.readable = False
        reason = explain(f"{type(e).__name__}: {e}", file=ledger.path)
        ledger.issues.append(make_issue(Code.UNREADABLE, file=str(ledger.path), reason=reason))


def read_workbook(wb, ledger: Ledger) -> None:
    """Fill ``ledger`` from an open workbook.

    ``wb`` is a python-calamine workbook or anything shaped like one (the Excel
    buttons pass the open book's values): ``sheet_names``, ``sheets_metadata``
    (name, typ, visible), ``get_sheet_by_name(name)`` returning a sheet with
    ``name``, ``to_python(skip_empty_area=False, nrows=None)`` and
    ``merged_cell_ranges``.
    """
    _read_workbook(wb, ledger)
    if isinstance(ledger.cases, CaseColumns):
        ledger.cases = ledger.cases.to_frame()


def _read_workbook(wb, ledger: Ledger) -> None:
    """``read_workbook`` leaving ``ledger.cases`` as ``CaseColumns``."""

    metas = wb.sheets_metadata
    marker_village = None
    if F.TEMPLATE_MARKER_SHEET in wb.sheet_names:
        marker_village = _read_marker(wb, ledger)
    sheets = [m for m in metas if m.typ == SheetTypeEnum.WorkSheet and m.name != F.TEMPLATE_MARKER_SHEET]
    chosen = _choose_sheet(wb, [m for m in sheets if not _is_instructions(m.name)],
                           SheetVisibleEnum.Visible)
    if chosen is None:      # a sheet named like 说明 is a ledger only when nothing else is
        chosen = _choose_sheet(wb, [m for m in sheets if _is_instructions(m.name)],
                               SheetVisibleEnum.Visible)
    if chosen is None:
        visible = [m.name for m in sheets if m.visible == SheetVisibleEnum.Visible] \
            or [m.name for m in sheets]
        ledger.cases = CaseColumns({}, [])
        if visible:
            ledger.sheet = next((n for n in visible if not _is_instructions(n)), visible[0])
            _not_a_ledger(ledger, [m.name for m in sheets], marker_village)
            return
        ledger.issues.append(make_issue(Code.NO_LEDGER_SHEET, file=str(ledger.path)))
        identify_village(ledger, marker_village, [], {})
        return
    sheet, rows, anchor = chosen
    ledger.sheet = sheet.name
    header = find_header(rows[:HEAD_ROWS], anchor, _merged(sheet))
    ledger.header_rows = [r + 1 for r in header.rows]
    ledger.columns, ledger.computed_columns = header.columns, header.computed
    ledger.last_column = _last_column(rows, header.rows)
    for key, c, r in header.duplicates:
        ledger.issues.append(make_issue(Code.DUPLICATE_COLUMN, sheet=sheet.name, cell=cell_ref(c, r + 1),
                                        row=r + 1, column=F.header_for(key), file=str(ledger.path)))
    _missing_columns(ledger, header.columns)
    case_rows = find_case_rows(rows, header)
    data, index = case_values(ledger, rows, case_rows)
    if not case_rows:
        ledger.issues.append(make_issue(Code.EMPTY_LEDGER, sheet=sheet.name, file=str(ledger.path)))
    identify_village(ledger, marker_village, rows[:header.rows[0]], data)
    ledger.cases = CaseColumns(data, index)


def _not_a_ledger(ledger: Ledger, looked_at: list[str], marker_village: str | None) -> None:
    """No sheet carries the ledger's key headers: one error naming the sheets looked at,
    instead of a missing column each and a guess at the village."""
    ledger.issues.append(make_issue(Code.NOT_A_LEDGER, file=str(ledger.path),
                                    sheets="、".join(f"“{n}”" for n in looked_at)))
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


def _choose_sheet(wb, candidates, visible_enum):
    """(sheet, rows, header row) of the best-scoring candidate, or None if none has a header."""
    if not candidates:
        return None
    if len(candidates) == 1:
        sheet = wb.get_sheet_by_name(candidates[0].name)
        rows = sheet.to_python(skip_empty_area=False)
        score, anchor = score_header(rows[:HEAD_ROWS])
        return (sheet, rows, anchor) if score >= MIN_HEADER_KEYS else None
    best = None
    for n, meta in enumerate(candidates):
        sheet = wb.get_sheet_by_name(meta.name)
        score, anchor = score_header(sheet.to_python(skip_empty_area=False, nrows=HEAD_ROWS))
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


def _missing_columns(ledger: Ledger, columns: dict[str, int]) -> None:
    for key in F.REQUIRED_KEYS:
        if key not in columns:
            f = F.FIELD_BY_KEY[key]
            ledger.issues.append(make_issue(
                Code.MISSING_COLUMN, sheet=ledger.sheet, column=f.header, file=str(ledger.path),
                variants="、".join(f.names)))
