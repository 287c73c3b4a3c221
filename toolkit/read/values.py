"""Turning the raw cells of the case rows into typed column values.

Dates, statuses, ID numbers, day counts, choices, ticks, codes and free text are
normalised a column at a time; a value that cannot be read becomes an issue at
its cell. Per-process caches keep repeated cell texts cheap.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache, partial

from toolkit.core import fields as F
from toolkit.core.dates import parse_date_value
from toolkit.core.issues import Code, make_issue
from toolkit.core.ledger import Ledger
from toolkit.core.cells import cell_ref
from toolkit.core.normalize import clean_text, fold_code, normalize_id_number, number_to_digits, parse_day_count

# raw cell value -> tick; numbers and booleans hash like 1/0, so 1.0 and True hit too
_TICKS: dict = {1: True, 0: False}
for _t in F.TICK_DONE:
    _TICKS[_t] = True
for _t in F.TICK_NOT_DONE:
    _TICKS[_t] = False
_STATUS_CELLS: dict[str, tuple] = {}        # a cell's own text -> (status, cleaned text)
_STATUS_TEXTS: dict[str, str | None] = {}    # cleaned text -> status (None: not a status)
_MISSING = object()
# str.strip() without arguments strips Unicode whitespace (incl. U+3000, NBSP) but not these
_ZERO_WIDTH = "\ufeff\u200b\u200c\u200d\u2060"


def case_values(ledger: Ledger, rows: list[list], case_rows: list[int]) -> tuple[dict[str, list], list[int]]:
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


def _canonical(raw: list, by_cell: dict, by_text: dict, resolve) -> list[tuple[object, str | None]]:
    """(canonical value, cleaned text) per cell; ``resolve(text, cell)`` gives the value, or
    None for a text it does not recognise. Ledgers repeat a handful of words, so the cell's
    own text and the cleaned text are both cached (bounded)."""
    out: list[tuple[object, str | None]] = []
    for v in raw:
        if type(v) is str:
            hit = by_cell.get(v)
            if hit is not None:
                out.append(hit)
                continue
        text = clean_text(v) if v != "" else None
        if text is None:
            out.append((None, None))
            continue
        value = by_text.get(text, _MISSING)
        if value is _MISSING:
            _bound(by_text)
            value = by_text[text] = resolve(text, v)
        if value is not None and type(v) is str:
            _bound(by_cell)
            by_cell[v] = (value, text)
        out.append((value, text))
    return out


def _statuses(key: str, raw: list, problems: list) -> list:
    out = []
    for i, (canon, text) in enumerate(_canonical(raw, _STATUS_CELLS, _STATUS_TEXTS, _status)):
        if canon is None and text is not None:
            problems.append((key, i, Code.UNKNOWN_STATUS, text, {}))
        out.append(canon)
    return out


def _status(text: str, _cell: object) -> str | None:
    return F.canonical_status(text)


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
    out = []
    pairs = _canonical(raw, _choice_cells(field_.key), _choice_index(field_.key),
                       partial(_choice, field_))
    for i, (hit, text) in enumerate(pairs):
        if hit is None and text is not None:
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
    """Cell text -> (canonical choice, cleaned text), for texts that are a valid choice."""
    return {}


def _choice(field_: F.Field, text: str, v: object) -> str | None:
    """The canonical choice for a cell, or None when it is not one."""
    folded = F.normalize_header(text)
    for c in field_.choices:
        if F.normalize_header(c) == folded:
            return c
    if "是" in field_.choices and "否" in field_.choices:
        tick = F.parse_tick(v)
        if tick is not None:
            return "是" if tick else "否"
    return None


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
                done = True      # a filled text cell counts as done (docs/domain.md)
            else:
                problems.append((key, i, Code.INVALID_TICK, v, {}))
                done = False
        out[i] = done
    return out
