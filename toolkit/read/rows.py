"""Which rows of a ledger sheet are cases.

Below the header: blank rows, rows with only a pre-printed 序号, a row of column
numbers and repeated header rows are skipped; the first footer row (填表人, 审核人,
注：…) ends the cases.
"""
from __future__ import annotations

import re
from operator import itemgetter

from toolkit.core import fields as F
from toolkit.read.header import Header, cell_text

_FOOTERS = tuple(F.FOOTER_PREFIXES)
WHITESPACE = re.compile(r"[\s\u3000]+")


def _is_footer(text: str) -> bool:
    return WHITESPACE.sub("", text).startswith(_FOOTERS)


def blank(v) -> bool:
    return v == "" or v is None or (type(v) is str and not v.strip())


def _filled(row: list) -> int:
    return sum(1 for v in row if not blank(v))


def find_case_rows(rows: list[list], header: Header) -> list[int]:
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
    id_names = _CASE_ID_NAMES | {cell_text(rows[r][id_col]) for r in header.rows} if id_col is not None \
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
