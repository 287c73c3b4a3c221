"""Reading one village ledger workbook into a ``Ledger``.

Finds the ledger sheet (skipping an instructions sheet and the template's
marker sheet), the one or two header rows below a title and a 填报单位 row,
maps every header variant through ``fields.match_header``, reads the case rows
(skipping blank and repeated header rows, stopping at footer rows), normalises
every value and reports value-level problems at their cells. Identifies the
village (marker, 填报单位, 村（社区） column, file name).

The file must already have passed intake's pre-flight: calamine itself is not
safe on hostile files. Macros are detected, never run.
"""
from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from toolkit.core import fields as F
from toolkit.core.dates import parse_date_value
from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import CaseColumns, Ledger
from toolkit.core.cells import cell_ref
from toolkit.core.normalize import clean_text, fold_code, normalize_id_number, number_to_digits, parse_day_count

HEAD_ROWS = 20          # header rows are looked for in the first rows only
MIN_HEADER_KEYS = 3     # a row is a header when it names at least this many fields
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_INSTRUCTION_WORDS = ("填表说明", "说明", "填写说明", "使用说明")


# --- the workbook as a file ---------------------------------------------------
def sniff_format(path: Path) -> tuple[str | None, bool]:
    """(file format, has macros) from the file's own bytes, not its extension.

    For a zip, the central directory at the end of the file lists the parts:
    reading it is enough to see xl/vbaProject.bin (or an ODS mimetype).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
            directory = _zip_directory(fh) if head.startswith(b"PK") else b""
    except OSError:
        return None, False
    if head.startswith(b"PK"):
        if head[30:38] == b"mimetype" and b"opendocument.spreadsheet" in head:
            return "ods", b"Basic/" in directory
        macros = (b"xl/vbaProject.bin" in directory) if directory is not None \
            else _zip_has(path, "xl/vbaProject.bin")
        return ("xlsm" if macros or path.suffix.lower() == ".xlsm" else "xlsx"), macros
    if head[:8] == _OLE_MAGIC:
        return "xls", _ole_has_vba(path)
    return None, False


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


# --- header matching ------------------------------------------------------------
_NOTE = re.compile(r"[（(][^（()）]*[)）]")


@lru_cache(maxsize=16384)
def _match(text: str, group: str | None = None) -> str | None:
    """fields.match_header, plus: a bracketed note after a header is ignored
    (联系电话（手机）, 延期天数(工作日), 首次信访时间（年月日）)."""
    if len(text) > 40:
        return None
    key = F.match_header(text, group)
    if key is None and ("(" in text or "（" in text):
        bare = _NOTE.sub("", text)
        if bare != text and bare.strip():
            key = F.match_header(bare, group)
    return key


@lru_cache(maxsize=4096)
def _is_group(text: str) -> bool:
    return len(text) <= 20 and F.is_group_header(text)


def _text(v: object) -> str:
    return v.strip() if type(v) is str else ""


def _row_keys(row: list) -> dict[int, str]:
    out = {}
    for c, v in enumerate(row):
        if type(v) is str and v:
            k = _match(v)
            if k:
                out[c] = k
    return out


def _score(head: list[list]) -> tuple[int, int]:
    """(distinct keys in the best header row, that row's 0-based index).

    Stops two rows after the first header-like row: below it come cases, whose
    every distinct text would otherwise go through the header matcher.
    """
    best, at = 0, -1
    for r, row in enumerate(head):
        if best >= MIN_HEADER_KEYS and r > at + 2:
            break
        n = _count_keys(row)
        if n > best:
            best, at = n, r
    return best, at


def _count_keys(row: list) -> int:
    return len(set(_row_keys(row).values()))


def _has_group(row: list) -> bool:
    return any(type(v) is str and v and _is_group(v) for v in row)


@dataclass
class Header:
    rows: list[int]                                       # 0-based
    columns: dict[str, int] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # key, col, row


def _find_header(head: list[list], anchor: int, merged) -> Header:
    """One or two header rows around the best-matching row ``anchor``."""
    above = head[anchor - 1] if anchor > 0 else None
    below = head[anchor + 1] if anchor + 1 < len(head) else None
    if above is not None and (_has_group(above) or _extends(head[anchor], above, 2)):
        upper, lower = anchor - 1, anchor
    elif below is not None and _extends(head[anchor], below, 1 if _has_group(head[anchor]) else 2):
        upper, lower = anchor, anchor + 1
    else:
        return _map_columns(Header([anchor]), [(c, _text(v), None, anchor, "", anchor)
                                               for c, v in enumerate(head[anchor]) if _text(v)])
    groups = _groups(head[upper], upper, merged)
    cells = []
    for c in range(len(head[lower])):
        lo, up = _text(head[lower][c]), _text(head[upper][c])
        if lo:
            cells.append((c, lo, groups.get(c), lower, "" if _is_group(up) else up, upper))
        elif up:
            cells.append((c, up, None, upper, "", upper))   # merged vertically: text above
    return _map_columns(Header([upper, lower]), cells)


def _extends(row: list, below: list, needed: int) -> bool:
    """True when ``below`` names fields in columns that ``row`` leaves blank or unnamed."""
    n = 0
    for c, v in enumerate(below):
        if type(v) is str and v and _match(v) and not _match(_text(row[c]) or "\x00"):
            n += 1
    return n >= needed


def _groups(upper: list, r_up: int, merged) -> dict[int, str]:
    """The group name above each column of a two-level header.

    From the merged ranges when the format has them; an unmerged group name
    (WPS "centre across selection", or a format without merge info) is carried
    right until the next non-empty upper cell.
    """
    groups: dict[int, str] = {}
    covered: set[int] = set()
    for (r0, c0), (r1, c1) in merged or ():
        if r0 <= r_up <= r1 and c1 > c0:
            text = _text(upper[c0]) if c0 < len(upper) else ""
            for c in range(c0, min(c1, len(upper) - 1) + 1):
                covered.add(c)
                groups[c] = text
    carry = None
    for c, v in enumerate(upper):
        if c in covered:
            carry = None
            continue
        t = _text(v)
        if t:
            carry = t if (_is_group(t) or not _match(t)) else None
            groups[c] = t
        elif carry:
            groups[c] = carry
    return groups


def _map_columns(header: Header, cells: list[tuple]) -> Header:
    """Map header cells (col, text, group, row, fallback text, its row) to keys."""
    for c, text, group, r, alt_text, alt_r in cells:
        key = _match(text, group)
        if key is None and alt_text:
            key, r = _match(alt_text), alt_r
        if key is None:
            continue
        target = header.computed if key in F.COMPUTED_BY_KEY else header.columns
        if key in target:
            alt = _TEXT_ITEM.get(key)
            if alt and alt not in header.columns:
                key, target = alt, header.columns
            else:
                header.duplicates.append((key, c, r))
                continue
        target[key] = c
    return header


# a flat sheet may name an item like its text field (包案领导 twice: text, then tick)
_TEXT_ITEM = {it.text_field: it.key for it in F.CHECKLIST_ITEMS.values() if it.text_field}


# --- the ledger ------------------------------------------------------------------
def read_ledger(path: Path) -> Ledger:
    """Read one workbook (already through pre-flight) into a Ledger with value-level issues."""
    ledger = read_ledger_plain(path)
    ledger.cases = ledger.cases.to_frame()
    return ledger


def read_ledger_plain(path: Path) -> Ledger:
    """``read_ledger`` with ``cases`` left as plain ``CaseColumns`` (no pandas).

    The sandboxed workers of ``toolkit.read.sandboxed.read_ledgers`` use this one: they
    start without pandas and send small pickles; the parent builds the DataFrame.
    """
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError

    path = Path(path)
    ledger = Ledger(path=path, cases=None)   # the table is built once, below
    ledger.file_format, ledger.has_macros = sniff_format(path)
    if ledger.has_macros:
        ledger.issues.append(make_issue(Code.MACROS_PRESENT, file=str(path)))
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            _read_workbook(wb, ledger)
    except PasswordError:
        ledger.readable = False
        ledger.issues.append(make_issue(Code.ENCRYPTED, file=str(path)))
    except (CalamineError, OSError, ValueError) as e:
        ledger.readable = False
        ledger.issues.append(make_issue(Code.UNREADABLE, file=str(path), reason=_reason(e)))
    if ledger.cases is None:
        ledger.cases = CaseColumns({}, [])
    return ledger


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"文件结构损坏（{text[:120]}）"


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
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

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
            _missing_columns(ledger, {})
        else:
            ledger.issues.append(make_issue(Code.NO_LEDGER_SHEET, file=str(ledger.path)))
        _identify_village(ledger, marker_village, [], {})
        return
    sheet, rows, anchor = chosen
    ledger.sheet = sheet.name
    header = _find_header(rows[:HEAD_ROWS], anchor, _merged(sheet))
    ledger.header_rows = [r + 1 for r in header.rows]
    ledger.columns, ledger.computed_columns = header.columns, header.computed
    ledger.last_column = _last_column(rows, header.rows)
    for key, c, r in header.duplicates:
        ledger.issues.append(make_issue(Code.DUPLICATE_COLUMN, sheet=sheet.name, cell=cell_ref(c, r + 1),
                                        row=r + 1, column=F.header_for(key), file=str(ledger.path)))
    _missing_columns(ledger, header.columns)
    case_rows = _case_rows(rows, header)
    data, index = _cases(ledger, rows, case_rows)
    if not case_rows:
        ledger.issues.append(make_issue(Code.EMPTY_LEDGER, sheet=sheet.name, file=str(ledger.path)))
    _identify_village(ledger, marker_village, rows[:header.rows[0]], data)
    ledger.cases = CaseColumns(data, index)




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
        score, anchor = _score(rows[:HEAD_ROWS])
        return (sheet, rows, anchor) if score >= MIN_HEADER_KEYS else None
    best = None
    for n, meta in enumerate(candidates):
        sheet = wb.get_sheet_by_name(meta.name)
        score, anchor = _score(sheet.to_python(skip_empty_area=False, nrows=HEAD_ROWS))
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


# --- case rows ---------------------------------------------------------------------
_FOOTERS = tuple(F.FOOTER_PREFIXES)
_SPACE = re.compile(r"[\s\u3000]+")


def _is_footer(text: str) -> bool:
    return _SPACE.sub("", text).startswith(_FOOTERS)


def _blank(v) -> bool:
    return v == "" or v is None or (type(v) is str and not v.strip())


def _filled(row: list) -> int:
    return sum(1 for v in row if not _blank(v))


def _case_rows(rows: list[list], header: Header) -> list[int]:
    """0-based indexes of the rows that hold cases.

    Skips rows with nothing in any recognised column (blank rows, rows with only
    a pre-printed 序号), repeated header rows; stops at the first footer row.
    """
    cols = sorted(header.columns.values())
    if not cols:
        return []
    values_of = itemgetter(*cols) if len(cols) > 1 else (lambda row: (row[cols[0]],))
    anchors = [header.columns[k] for k in ("case_id", "petitioner") if k in header.columns]
    limit = max(anchors) if anchors else cols[0]
    header_rows = [rows[r] for r in header.rows]
    id_col = header.columns.get("case_id")
    numbering = header.rows[-1] + 1       # a row of column numbers (1 2 3 …) may sit below the header
    id_names = _CASE_ID_NAMES | {_text(rows[r][id_col]) for r in header.rows} if id_col is not None \
        else set()
    out = []
    for r in range(header.rows[-1] + 1, len(rows)):
        row = rows[r]
        first = 0
        for v in row:
            if v != "":
                break
            first += 1
        else:
            continue
        v = row[first]
        if type(v) is str and v[:1] in _FOOTER_STARTS and _is_footer(v) \
                and (first <= limit or _filled(row) <= 3):
            break
        if not any(values_of(row)):
            continue
        if r == numbering and _column_numbers(row):
            continue
        if row in header_rows or (id_col is not None and type(row[id_col]) is str
                                  and row[id_col].strip() in id_names):
            continue
        out.append(r)
    return out


def _column_numbers(row: list) -> bool:
    """True for a row like 1 2 3 4 … that numbers the columns of a printed form."""
    values = [v for v in row if v != ""]
    if len(values) < 5:
        return False
    try:
        numbers = [int(v) if not isinstance(v, float) or v.is_integer() else None for v in values]
    except (TypeError, ValueError):
        return False
    return None not in numbers and all(b - a == 1 for a, b in zip(numbers, numbers[1:]))


_CASE_ID_NAMES = frozenset(F.FIELD_BY_KEY["case_id"].names)
_FOOTER_STARTS = frozenset(p[0] for p in _FOOTERS) | set(" \u3000\t\n")


# --- values --------------------------------------------------------------------------
# raw cell value -> tick; numbers and booleans hash like 1/0, so 1.0 and True hit too
_TICKS: dict = {1: True, 0: False}
for _t in F.TICK_DONE:
    _TICKS[_t] = True
for _t in F.TICK_NOT_DONE:
    _TICKS[_t] = False
_STATUS_CACHE: dict[str, str | None] = {}
# str.strip() without arguments strips Unicode whitespace (incl. U+3000, NBSP) but not these
_ZERO_WIDTH = "\ufeff\u200b\u200c\u200d\u2060"


def _cases(ledger: Ledger, rows: list[list], case_rows: list[int]) -> tuple[dict[str, list], list[int]]:
    """Normalised values per key, the Excel rows; value-level issues go to the ledger."""
    cols = ledger.columns
    index = [r + 1 for r in case_rows]
    data: dict[str, list] = {}
    problems: list[tuple[str, int, str, object, dict]] = []   # key, i, code, value, params
    columns = list(zip(*[rows[r] for r in case_rows])) if case_rows else []
    for key, c in cols.items():
        data[key] = _convert(key, columns[c] if columns else [], problems)
    case_ids = data.get("case_id") or [None] * len(case_rows)
    name, sheet = str(ledger.path), ledger.sheet
    for key, i, code, value, params in sorted(problems, key=lambda p: (p[1], cols[p[0]])):
        r = index[i]
        ledger.issues.append(make_issue(
            code, sheet=sheet, cell=cell_ref(cols[key], r), row=r, column=F.header_for(key),
            case_id=case_ids[i], value=value, file=name, **params))
    return data, index


def _convert(key: str, raw: list, problems: list) -> list:
    field_ = F.FIELD_BY_KEY.get(key)
    if field_ is None:
        return _ticks(key, raw, problems)
    kind = field_.kind
    if key == "case_id" or kind == "phone":
        return _codes(raw)
    if kind == "date":
        return _dates(key, raw, problems)
    if kind == "status":
        return _statuses(key, raw, problems)
    if kind == "id":
        return _id_numbers(key, raw, problems)
    if kind == "int":
        return _ints(key, raw, problems)
    if kind == "choice":
        return _choices(field_, raw, problems)
    return _texts(raw)


def _plain_ascii(raw: list) -> str | None:
    """All cells joined when every one is text of printable ASCII without spaces, else None:
    then ``fold_code`` would return each unchanged (blank -> None), so a column needs no folding."""
    try:
        joined = "".join(raw)
    except TypeError:        # a number, date or bool among them
        return None
    return joined if joined.isascii() and joined.isprintable() and " " not in joined else None


def _codes(raw: list) -> list:
    """Case numbers and phones: ``fold_code`` keeping inner spaces; blank -> None."""
    if _plain_ascii(raw) is not None:
        return [v or None for v in raw]
    return [None if v == "" else fold_code(v, keep_spaces=True) for v in raw]


def _texts(raw: list) -> list:
    """Free text: stripped, blank -> None; NBSP and zero-width characters handled."""
    try:
        out = [s or None for s in map(str.strip, raw)]     # the common case: all text cells
    except TypeError:
        out = [(v.strip() or None) if type(v) is str else clean_text(v) for v in raw]
    joined = "\x00".join(filter(None, out))
    if not joined.isascii() and any(ch in joined for ch in _ODD_CHARS):
        out = [clean_text(v) for v in out]
    return out


_ODD_CHARS = "\u00a0" + _ZERO_WIDTH


def _dates(key: str, raw: list, problems: list) -> list:
    out = []
    for i, v in enumerate(raw):
        t = type(v)
        if t is date:
            out.append(v)
        elif t is datetime:
            out.append(v.date())
        elif v == "":
            out.append(None)
        else:
            if t is str:             # text dates repeat within and across ledgers
                parsed = _DATE_TEXTS.get(v)
                if parsed is None:
                    parsed = _DATE_TEXTS[v] = parse_date_value(v)
                    _bound(_DATE_TEXTS)
            else:
                parsed = parse_date_value(v)
            d, reason = parsed
            out.append(d)
            if reason:
                problems.append((key, i, Code.INVALID_DATE, v, {"reason": reason}))
    return out


_DATE_TEXTS: dict[str, tuple] = {}      # text cell -> parse_date_value (a pure function)
_CACHE_LIMIT = 20_000


def _bound(cache: dict) -> None:
    """Keep a per-process cache of cell values small whatever the files hold."""
    if len(cache) > _CACHE_LIMIT:
        cache.clear()


def _statuses(key: str, raw: list, problems: list) -> list:
    out = []
    for i, v in enumerate(raw):
        if type(v) is str and v in _STATUS_CACHE:    # keyed by the cell's own text
            canon = _STATUS_CACHE[v]
            if canon is not None:
                out.append(canon)
                continue
        text = clean_text(v) if v != "" else None
        if text is None:
            out.append(None)
            continue
        canon = _STATUS_CACHE.get(text, "")
        if canon == "":
            _bound(_STATUS_CACHE)
            canon = _STATUS_CACHE[text] = F.canonical_status(text)
        if type(v) is str:
            _STATUS_CACHE[v] = canon
        out.append(canon)
        if canon is None:
            problems.append((key, i, Code.UNKNOWN_STATUS, text, {}))
    return out


_SCI = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")


def _id_numbers(key: str, raw: list, problems: list) -> list:
    joined = _plain_ascii(raw)
    if joined is not None and "e" not in joined and "E" not in joined:
        return [v.upper() or None for v in raw]     # the usual column: typed as text
    out = []
    for i, v in enumerate(raw):
        if v == "":
            out.append(None)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            digits = number_to_digits(v)
            out.append(digits)
            if len(digits) >= 16:
                problems.append((key, i, Code.ID_NUMBER_AS_NUMBER, digits, {}))
        else:
            n = normalize_id_number(v)
            out.append(n)
            if n and _SCI.fullmatch(n):
                problems.append((key, i, Code.ID_NUMBER_AS_NUMBER, n, {}))
    return out


def _ints(key: str, raw: list, problems: list) -> list:
    out = []
    for i, v in enumerate(raw):
        if v == "" or v is None:
            out.append(None)
            continue
        if isinstance(v, str) and not fold_code(v):
            out.append(None)
            continue
        n = parse_day_count(v)
        out.append(n)
        if n is None or n < 0:
            out[-1] = None
            problems.append((key, i, Code.INVALID_NUMBER, v, {}))
    return out


def _choices(field_: F.Field, raw: list, problems: list) -> list:
    canon = _choice_index(field_.key)
    seen = _choice_cells(field_.key)
    out = []
    for i, v in enumerate(raw):
        if type(v) is str:              # a cell text already met: its canonical choice
            hit = seen.get(v)
            if hit is not None:
                out.append(hit)
                continue
        text = clean_text(v) if v != "" else None
        if text is None:
            out.append(None)
            continue
        hit = canon.get(text)
        if hit is None:
            hit = canon[text] = _choice(field_, v, text)
            _bound(canon)
        if hit is not False and type(v) is str:
            seen[v] = hit
            _bound(seen)
        if hit is False:
            problems.append((field_.key, i, Code.INVALID_CHOICE, text,
                             {"choices": "、".join(field_.choices)}))
            hit = text
        out.append(hit)
    return out


@lru_cache(maxsize=None)
def _choice_index(key: str) -> dict:
    return {c: c for c in F.FIELD_BY_KEY[key].choices}


@lru_cache(maxsize=None)
def _choice_cells(key: str) -> dict:
    """Cell text -> canonical choice, for texts that are a valid choice."""
    return {}


def _choice(field_: F.Field, v: object, text: str) -> str | bool:
    """The canonical choice for a cell, or False when it is not one."""
    folded = F.normalize_header(text)
    for c in field_.choices:
        if F.normalize_header(c) == folded:
            return c
    if "是" in field_.choices and "否" in field_.choices:
        tick = F.parse_tick(v)
        if tick is not None:
            return "是" if tick else "否"
    return False


def _ticks(key: str, raw: list, problems: list) -> list:
    out = list(map(_TICKS.get, raw))
    if None not in out:
        return out
    text_counts = F.CHECKLIST_ITEMS[key].text_field is not None
    for i, v in enumerate(raw):
        if out[i] is not None:
            continue
        done = F.parse_tick(v)
        if done is None:
            if text_counts and clean_text(v):
                done = True      # a filled text cell counts as done (DOMAIN.md)
            else:
                problems.append((key, i, Code.INVALID_TICK, v, {}))
                done = False
        out[i] = done
    return out


# --- the village -------------------------------------------------------------------
_LABEL_TAIL = re.compile(r"^\s*(?:[（(][^）)]{0,8}[）)])?\s*[:：]?\s*")
_STOP_WORDS = F.REPORTER_LABELS + F.REPORT_DATE_LABELS + ("填表人", "联系电话", "审核人", "负责人")
_FILE_VILLAGE = re.compile(r"[\u4e00-\u9fff]{1,15}?(?:社区|村|居)")


def _identify_village(ledger: Ledger, marker: str | None, above: list[list],
                      data: dict[str, list]) -> None:
    """Village and its source (DOMAIN.md order); blank village cells get the ledger's village."""
    reporter, report_date = _reporter(above)
    if report_date not in (None, ""):
        ledger.report_date = parse_date_value(report_date)[0]
    names = [v for v in data.get("village", ()) if v]
    column = Counter(names).most_common(1)[0][0] if names else None
    if marker:
        ledger.village, ledger.village_source = marker, "marker"
    elif reporter:
        ledger.village, ledger.village_source = reporter, "reporter"
    elif column:
        ledger.village, ledger.village_source = column, "column"
    else:
        name = village_from_filename(ledger.path)
        ledger.village, ledger.village_source = name or ledger.path.stem, "filename"
        if not name:
            ledger.issues.append(make_issue(Code.VILLAGE_UNKNOWN, file=str(ledger.path),
                                            village=ledger.village))
    if data:
        n = len(next(iter(data.values())))
        data["village"] = [v or ledger.village for v in data.get("village", [None] * n)]


def village_from_filename(path: Path) -> str | None:
    """A leading name ending in 村/社区/居 ("东村信访积案台账.xlsx" -> "东村"), else None."""
    stem = clean_text(Path(path).stem) or ""
    stem = re.sub(r"^[\s\d_\-.()（）【】\[\]]+", "", stem)
    m = _FILE_VILLAGE.match(stem)
    return m.group(0) if m else None


def _reporter(rows: list[list]) -> tuple[str | None, object]:
    """(village from 填报单位, raw 填报日期) found in the rows above the header."""
    village, when = None, None
    for row in rows:
        for c, v in enumerate(row):
            if type(v) is not str or not v.strip():
                continue
            if village is None:
                found = _labelled(row, c, F.REPORTER_LABELS)
                if found is not None:
                    village = _first_token(found)
            if when is None:
                when = _labelled(row, c, F.REPORT_DATE_LABELS)
    return village or None, when


def _labelled(row: list, c: int, labels: tuple[str, ...]):
    """The value after a label in cell ``c`` (same cell, or the next non-empty cell)."""
    text = row[c]
    for label in labels:
        at = text.find(label)
        if at < 0:
            continue
        rest = _LABEL_TAIL.sub("", text[at + len(label):], count=1)
        cut = [rest.find(w) for w in _STOP_WORDS if rest.find(w) >= 0]
        rest = rest[:min(cut)] if cut else rest
        rest = rest.strip(" \u3000\u00a0…._-")
        if rest:
            return rest
        for v in row[c + 1:]:
            if _blank(v):
                continue
            if type(v) is str and any(w in v for w in _STOP_WORDS):
                return None
            return v.strip() if type(v) is str else v
        return None
    return None


def _first_token(v: object) -> str | None:
    text = clean_text(v)
    if not text:
        return None
    token = _SPACE.split(text)[0].strip("…")
    token = re.sub(r"[（(]盖章[）)]$", "", token)
    return token or None
