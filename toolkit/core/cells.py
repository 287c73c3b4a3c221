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


def cells_in(ref: str, limit: int = 200) -> list[str]:
    """The cells of "D5" or "D5:E9" (row by row, at most ``limit``); [] for anything else."""
    a, _, b = ref.replace("$", "").partition(":")
    try:
        c0, r0 = parse_ref(a)
        c1, r1 = parse_ref(b) if b else (c0, r0)
    except ValueError:
        return []
    cells = [cell_ref(c, r) for r in range(min(r0, r1), max(r0, r1) + 1)
             for c in range(min(c0, c1), max(c0, c1) + 1)]
    return cells[:limit]
