"""Lone far values: a sheet that holds almost nothing but a value far out (A1 and XFD1, or one
cell at IV65536 in an .xls).

python-calamine builds the whole rectangle of a sheet's values, so one value at XFD1048576
costs it the grid up to there and pre-flight refuses it. But a sheet that holds at most
``LONE_NEAR`` values besides its far ones cannot be a ledger (a ledger's header alone names
more columns), so nothing a village reports can be lost by leaving its far values out: such
a sheet is given to the parser without them (the reader replaces it by its few near values,
never a dense grid) and the clerk is warned, cell by cell. A sheet that holds more (a ledger
with a value typed far away) is still refused, naming the cell, because that value may belong
to a case and the village must look at it.

Pre-flight finds the far values (:func:`lone_xlsx`, :func:`lone_biff`) and leaves a note for
the reader in the same worker process (:func:`remember`, :func:`notes_for`).
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from toolkit.core.cells import column_index, column_letter
from toolkit.intake.limits import LONE_MAX, LONE_NEAR, MAX_CELLS, MAX_COLUMNS, MAX_ROWS

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CELL_XML_MAX = 64 * 1024              # a lone cell's own XML; a bigger one is no lone value
_BLANK, _FORMULA, _STRING, _MULRK = 0x0201, 0x0006, 0x0207, 0x00BD


@dataclass
class FarValues:
    """What the reader leaves out of one sheet: ``part`` is the zip member (.xlsx) or the OLE
    stream (.xls); ``cells`` the far cells as a clerk writes them (XFD1)."""
    part: str
    sheet: str | None
    cells: list[str]
    replacement: bytes | None = None                  # .xlsx: the sheet part with the near cells only
    records: list[int] = field(default_factory=list)  # .xls: stream offsets of the far cell records


def split_far(cells: list[tuple[int, int]]) -> tuple[list, list] | None:
    """(far, near) cells: the furthest (by the rectangle each spans from A1) left out until the
    rest fits the limits; None when more than ``LONE_NEAR`` values remain (it may be a ledger)."""
    near = sorted(cells, key=lambda rc: (rc[0] * rc[1], rc), reverse=True)
    far = []
    while near and not _fits(near):
        far.append(near.pop(0))
    if not far or len(near) > LONE_NEAR:
        return None
    return far, near


def _fits(cells) -> bool:
    rows, cols = max(r for r, _ in cells), max(c for _, c in cells)
    return rows <= MAX_ROWS and cols <= MAX_COLUMNS and rows * cols <= MAX_CELLS


def ref(row: int, col: int) -> str:
    return f"{column_letter(col - 1)}{row}"


# --------------------------------------------------------------------------- .xlsx

def lone_xlsx(pieces: Iterable[bytes], part: str, sheet: str | None) -> FarValues | None:
    """The far values of a worksheet part (streamed), or None when it is no lone-value sheet.

    Cells are placed as calamine places them: ``r`` when given (letters in any case), else
    the next row / the next column; a cell counts when it has a ``<v>`` or ``<is>``."""
    from lxml import etree
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                 huge_tree=False, remove_comments=True)
    cells: list[tuple[int, int, bytes]] = []
    row = col = 0
    root = None
    try:
        for piece in pieces:
            parser.feed(piece)
            for event, el in parser.read_events():
                name = _local(el)
                if root is None:
                    root = name
                    if root != "worksheet":
                        return None
                if event == "start" and name == "row":
                    r = el.get("r")
                    row, col = (int(r) if r and r.strip().isdigit() else row + 1), 0
                elif event == "end" and name == "c":
                    row, col = _place(el.get("r"), row, col)
                    if any(_local(k) in ("v", "is") for k in el):
                        if len(cells) >= LONE_MAX:
                            return None
                        cells.append((row, col, _cell_xml(el, row, col)))
                    el.clear()
                elif event == "end" and name == "row":
                    el.clear()
                    while el.getprevious() is not None:
                        del el.getparent()[0]
        parser.close()
    except (etree.XMLSyntaxError, ValueError):
        return None
    split = split_far([(r, c) for r, c, _ in cells])
    if split is None:
        return None
    far, near = split
    kept = [(r, c, xml) for r, c, xml in cells if (r, c) in set(near)]
    if any(xml is None for _, _, xml in kept):
        return None
    return FarValues(part, sheet, [ref(r, c) for r, c in sorted(far)], replacement=_sheet_of(kept))


def _local(el) -> str:
    return el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""


def _place(r: str | None, row: int, col: int) -> tuple[int, int]:
    if r:
        letters = "".join(ch for ch in r if ch.isalpha()).upper()
        digits = "".join(ch for ch in r if ch.isdigit())
        if letters and len(letters) <= 6:
            col = column_index(letters) + 1
        else:
            col += 1
        if digits:
            row = int(digits[:12])
        return row, col
    return row, col + 1


def _cell_xml(el, row: int, col: int) -> bytes | None:
    from lxml import etree
    el.set("r", ref(row, col))
    xml = etree.tostring(el)
    return xml if len(xml) <= _CELL_XML_MAX else None


def _sheet_of(kept: list[tuple[int, int, bytes]]) -> bytes:
    rows: dict[int, list[bytes]] = {}
    for r, c, xml in sorted(kept):
        rows.setdefault(r, []).append(xml)
    body = b"".join(b'<row r="%d">%s</row>' % (r, b"".join(xs)) for r, xs in sorted(rows.items()))
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="' + _MAIN_NS.encode() + b'"><sheetData>' + body + b"</sheetData></worksheet>")


# --------------------------------------------------------------------------- .xls (BIFF5/8)

def lone_biff(data: bytes, start: int, stream: str, sheet: str | None, value_records: set[int]) -> FarValues | None:
    """The far values of the sheet whose BOF is at ``start`` in a Workbook stream, or None."""
    unpack = struct.unpack_from
    found: list[tuple[int, int, int]] = []          # row, col, record offset (1-based cells)
    pos, end, last_formula = start + 4 + unpack("<H", data, start + 2)[0], len(data) - 4, None
    strings_after: dict[int, int] = {}
    while pos <= end:
        rtype, size = unpack("<HH", data, pos)
        if rtype in (0x0809, 0x0009, 0x0209, 0x0409, 0x000A):
            break
        if rtype == _STRING and last_formula is not None:
            strings_after[last_formula] = pos
        last_formula = pos if rtype == _FORMULA else None
        if size >= 4 and (rtype in value_records or rtype == _MULRK):
            row, col = unpack("<HH", data, pos + 4)
            cols = [col]
            if rtype == _MULRK and size >= 6:
                cols = range(col, unpack("<H", data, pos + 4 + size - 2)[0] + 1)
            for c in cols:
                if len(found) >= LONE_MAX:
                    return None
                found.append((row + 1, c + 1, pos))
        pos += 4 + size
    split = split_far([(r, c) for r, c, _ in found])
    if split is None:
        return None
    far = set(split[0])
    far_records = {p for r, c, p in found if (r, c) in far}
    if any((r, c) not in far for r, c, p in found if p in far_records):
        return None                          # one MULRK holds near and far cells
    records = sorted(far_records | {strings_after[p] for p in far_records if p in strings_after})
    return FarValues(stream, sheet, [ref(r, c) for r, c in sorted(far)], records=records)


def blank_records(data: bytes, offsets: list[int]) -> bytes:
    """The stream with each record at ``offsets`` turned into a BLANK of the same size: no
    reader places a BLANK, and every offset in the stream stays what it was."""
    out = bytearray(data)
    for at in offsets:
        struct.pack_into("<H", out, at, _BLANK)
    return bytes(out)


# --------------------------------------------------------------------------- the note for the reader

_NOTES: dict[tuple, list[FarValues]] = {}


def _key(path: Path | str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.abspath(path), st.st_size, st.st_mtime_ns


def remember(path: Path | str, notes: list[FarValues]) -> None:
    """Pre-flight passed ``path`` on the condition that the reader leaves ``notes`` out."""
    if not notes and not _NOTES:
        return                               # the usual case costs nothing
    key = _key(path)
    if key is None:
        return
    if len(_NOTES) > 32:                     # notes nobody asked for (a pre-flight alone)
        _NOTES.clear()
    if notes:
        _NOTES[key] = notes
    else:
        _NOTES.pop(key, None)


def notes_for(path: Path | str) -> list[FarValues]:
    """What pre-flight, in this process, said the reader must leave out of ``path`` (once)."""
    if not _NOTES:
        return []
    key = _key(path)
    return _NOTES.pop(key, []) if key is not None else []
