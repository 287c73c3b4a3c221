"""Excel cell addresses: the one place that turns column numbers into letters and back.

Columns are 0-based (as python-calamine and pandas count them), rows 1-based (as
Excel shows them), so ``cell_ref(3, 5) == "D5"`` and ``parse_ref("D5") == (3, 5)``.
"""
from __future__ import annotations

import re

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def column_letter(col: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    s = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def column_index(letters: str) -> int:
    """Excel letters -> 0-based column index (A -> 0)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def cell_ref(col: int, row: int) -> str:
    """0-based column, 1-based row -> "D5"."""
    return f"{column_letter(col)}{row}"


def parse_ref(ref: str) -> tuple[int, int]:
    """"D5" or "$D$5" -> (0-based column 3, row 5); ValueError for anything else."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return column_index(m.group(1)), int(m.group(2))
