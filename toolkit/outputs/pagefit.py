"""How tall a row of wrapped text must be to print whole.

Excel grows a row for wrapped text only when its auto-fit runs (it never does for a file a
library wrote), and LibreOffice prints such a row at its default height: the rest of the
text is clipped, and missing from the PDF. So every sheet a person prints sets the height of
each row with long text itself, from an estimate of the lines each cell needs.

The estimate errs on the generous side for both programs a township prints with. A column
width unit is the width of the default font's "0" (Calibri 11 in Excel: 7 px); a full-width
(Chinese) character of an 11-point font is 11 pt, about 2.1 units in Excel (LibreOffice
without Calibri measures its unit on a wider font, so the same text takes fewer lines there);
ASCII characters count 1.1 (words wrap at spaces, which loses part of a line). One line of
11-point Chinese text is 16 pt apart in LibreOffice's PDF (measured), a little more than
Excel's 14-15.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

WIDE_UNITS = 2.1         # a full-width character, in column-width units
NARROW_UNITS = 1.1       # any other character
LINE_POINTS = 16.0       # one line of 11-point text
PADDING_POINTS = 4.0     # above and below the text in a cell
MAX_ROW_POINTS = 409.0   # Excel's limit for a row's height
MIN_ROW_POINTS = 15.0    # the default height of a row


def text_units(text: str) -> float:
    """The width ``text`` takes on one line, in column-width units (any character beyond
    ASCII counted as full-width: generous for the few narrow ones, and fast on big sheets)."""
    narrow = len(text.encode("ascii", "ignore"))
    return narrow * NARROW_UNITS + (len(text) - narrow) * WIDE_UNITS


def lines_needed(text: object, width: float) -> int:
    """Lines a cell ``width`` units wide needs to show ``text`` wrapped (line breaks kept)."""
    if text is None or text == "":
        return 1
    usable = max(1.0, width - 0.8)           # the cell's own margins
    return sum(max(1, math.ceil(text_units(part) / usable)) for part in str(text).split("\n"))


def row_height(cells: Iterable[tuple[object, float]], *, least: float = MIN_ROW_POINTS,
               line: float = LINE_POINTS) -> float:
    """Points for a row whose wrapped cells are ``(text, column width)``: the tallest cell's."""
    lines = max((lines_needed(text, width) for text, width in cells), default=1)
    return min(MAX_ROW_POINTS, max(least, lines * line + PADDING_POINTS))


def needs_height(cells: Iterable[tuple[object, float]]) -> bool:
    """Whether any cell needs more than one line (the row's default height would clip it)."""
    return any(lines_needed(text, width) > 1 for text, width in cells)


def row_heights(columns: Sequence[tuple[Sequence[object], float]], count: int) -> list[float | None]:
    """For a streamed sheet: per row, the height its wrapped ``(values, column width)`` need,
    or None where one line is enough (checked by length first; a text met again is not
    measured again: a district's sheets repeat many)."""
    heights: list[float | None] = [None] * count
    for values, width in columns:
        fits = (max(1.0, width - 0.8)) / WIDE_UNITS        # characters that surely fit a line
        seen: dict[str, float | None] = {}
        for i, v in enumerate(values):
            if v is None or v.__class__ is not str or (len(v) <= fits and "\n" not in v):
                continue
            h = seen.get(v, 0.0)
            if h == 0.0:
                h = seen[v] = row_height([(v, width)]) if lines_needed(v, width) > 1 else None
            if h is not None and (heights[i] is None or h > heights[i]):
                heights[i] = h
    return heights
