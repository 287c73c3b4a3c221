"""Finding the header of a ledger sheet and mapping its columns to field keys.

A header is the row naming the most fields in the first ``HEAD_ROWS`` rows, with
the row above or below when the header has two levels (a group name such as
六有 over its items). Every header text goes through the township's own
aliases (the settings' 表头别名), then ``fields.match_header`` (the accepted
variants; a bracketed note after it is ignored). A header neither names is a
near miss when :mod:`.header_match` finds it close to one field that has no
column yet (read as it, and said), ambiguous when close to two (said, not
read), else the village's own column (listed once, as information).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from toolkit.core import fields as F
from toolkit.read.header_match import near_field

HEAD_ROWS = 20          # header rows are looked for in the first rows only
MIN_HEADER_KEYS = 3     # a row is a header when it names at least this many fields

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


def cell_text(v: object) -> str:
    return v.strip() if type(v) is str else ""


def _row_keys(row: list, near: bool = False, taught: dict | None = None) -> dict[int, tuple[str, str]]:
    """Column -> (key, the name it was matched by) of each cell that names a field; ``near``:
    also the cells that are the near miss of one field (``header_match``); ``taught``: the
    township's aliases (``alias_index``), first."""
    out = {}
    for c, v in enumerate(row):
        if type(v) is str and v:
            if taught and F.normalize_header(v) in taught:
                k = taught[F.normalize_header(v)]
                if k:
                    out[c] = (k, v)
                continue
            k = _match(v)
            if k:
                out[c] = (k, v)
            elif near:
                guess = near_field(v)
                if guess is not None and len(guess.keys) == 1:
                    out[c] = (guess.keys[0], guess.names[0])
    return out


def score_header(head: list[list], aliases: "Aliases" = ()) -> tuple[int, int]:
    """(distinct keys in the best header row, that row's 0-based index); (0, -1) when the
    header does not name a ledger (``fields.identifies_ledger``: a roster's 姓名, 编号 and 状态
    are not enough), judged on the best row and the rows beside it (a two-level header).

    Stops two rows after the first header-like row: below it come cases, whose
    every distinct text would otherwise go through the header matcher. Only when exact
    names do not make a ledger are near misses counted too (a header typed in traditional
    characters), each by the registry's name it is near (編號 is as generic as 编号).
    ``aliases``: the township's own spellings count as the fields they name.
    """
    taught = alias_index(aliases) if aliases else None
    best, at = _score(head, False, taught)
    if best < MIN_HEADER_KEYS:
        best, at = _score(head, True, taught)
    return (best, at) if best >= MIN_HEADER_KEYS else (0, -1)


def _score(head: list[list], near: bool, taught: dict | None) -> tuple[int, int]:
    best, at, seen = 0, -1, {}
    for r, row in enumerate(head):
        if best >= MIN_HEADER_KEYS and r > at + 2:
            break
        seen[r] = _row_keys(row, near, taught)
        n = len({k for k, _ in seen[r].values()})
        if n > best:
            best, at = n, r
    named = [(k, _NOTE.sub("", n).strip() or n)          # a bracketed note is no part of the name
             for r in range(max(at - 1, 0), at + 2) if r < len(head)
             for k, n in (seen[r] if r in seen else _row_keys(head[r], near, taught)).values()]
    if best and not F.identifies_ledger(named):
        return 0, -1
    return best, at


def _has_group(row: list) -> bool:
    return any(type(v) is str and v and _is_group(v) for v in row)


class HeaderCell(NamedTuple):
    """One header column as written: where, the text, and how it was read (a tuple: one per
    header cell of every file, made cheaply)."""
    col: int                # 0-based
    row: int                # 0-based
    text: str               # as written
    key: str | None         # what it was read as (None: not read)
    how: str                # exact | alias | near | ambiguous | own | number (序号)
    near: tuple[str, ...] = ()      # near/ambiguous: the registry's name(s) it is close to
    keys: tuple[str, ...] = ()      # ambiguous: the fields it is close to


@dataclass
class Header:
    rows: list[int]                                       # 0-based
    columns: dict[str, int] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # key, col, row
    cells: list[HeaderCell] = field(default_factory=list)  # every header column, in column order

    def read_as(self, how: str) -> list[HeaderCell]:
        return [c for c in self.cells if c.how == how]


Aliases = tuple[tuple[str, "str | None"], ...]     # (header as written, key; None: the village's own)


def alias_index(aliases: Aliases) -> dict[str, str | None]:
    """The settings' 表头别名 by folded header text."""
    return {F.normalize_header(written): key for written, key in aliases}


def find_header(head: list[list], anchor: int, merged, aliases: Aliases = ()) -> Header:
    """One or two header rows around the best-matching row ``anchor``; ``aliases``: the
    township's own spellings (``Settings.header_aliases``), read before anything else."""
    above = head[anchor - 1] if anchor > 0 else None
    below = head[anchor + 1] if anchor + 1 < len(head) else None
    if above is not None and (_has_group(above) or _extends(head[anchor], above, 2)):
        upper, lower = anchor - 1, anchor
    elif below is not None and _extends(head[anchor], below, 1 if _has_group(head[anchor]) else 2):
        upper, lower = anchor, anchor + 1
    else:
        return _map_columns(Header([anchor]), [(c, cell_text(v), None, anchor, "", anchor)
                                               for c, v in enumerate(head[anchor]) if cell_text(v)], aliases)
    groups = _groups(head[upper], upper, merged)
    cells = []
    for c in range(len(head[lower])):
        lo, up = cell_text(head[lower][c]), cell_text(head[upper][c])
        if lo:
            cells.append((c, lo, groups.get(c), lower, "" if _is_group(up) else up, upper))
        elif up:
            cells.append((c, up, None, upper, "", upper))   # merged vertically: text above
    return _map_columns(Header([upper, lower]), cells, aliases)


def _extends(row: list, below: list, needed: int) -> bool:
    """True when ``below`` names fields in columns that ``row`` leaves blank or unnamed."""
    n = 0
    for c, v in enumerate(below):
        if type(v) is str and v and _match(v) and not _match(cell_text(row[c]) or "\x00"):
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
            text = cell_text(upper[c0]) if c0 < len(upper) else ""
            for c in range(c0, min(c1, len(upper) - 1) + 1):
                covered.add(c)
                groups[c] = text
    carry = None
    for c, v in enumerate(upper):
        if c in covered:
            carry = None
            continue
        t = cell_text(v)
        if t:
            carry = t if (_is_group(t) or not _match(t)) else None
            groups[c] = t
        elif carry:
            groups[c] = carry
    return groups


def _map_columns(header: Header, cells: list[tuple], aliases: Aliases = ()) -> Header:
    """Map header cells (col, text, group, row, fallback text, its row) to keys: aliases and
    exact names first, then near misses for what is left (never to a field already read)."""
    taught = alias_index(aliases) if aliases else {}
    left = []
    for c, text, group, r, alt_text, alt_r in cells:
        how, key = "exact", None
        for t, tr in ((text, r), (alt_text, alt_r)) if taught else ():
            if t and F.normalize_header(t) in taught:
                how, key, r = "alias", taught[F.normalize_header(t)], tr
                break
        if how == "exact":
            key = _match(text, group)
            if key is None and alt_text:
                key, r = _match(alt_text), alt_r
        if key is None:
            if how == "alias" or not _is_group(text):      # a group name is no column
                left.append((c, text, r, how == "alias"))
            continue
        _put(header, key, c, r, text, how)
    for c, text, r, own in left:
        _near_miss(header, c, text, r, own)
    header.cells.sort(key=lambda h: h.col)
    return header


def _put(header: Header, key: str, c: int, r: int, text: str, how: str,
         near: tuple[str, ...] = ()) -> None:
    target = header.computed if key in F.COMPUTED_BY_KEY else header.columns
    if key in target:
        alt = _TEXT_ITEM.get(key)
        if alt and alt not in header.columns:
            key, target = alt, header.columns
        else:
            header.duplicates.append((key, c, r))
            return
    target[key] = c
    header.cells.append(HeaderCell(c, r, text, key, how, near))


def _near_miss(header: Header, c: int, text: str, r: int, own: bool) -> None:
    """A header no name matches: read as the one absent field it is close to, else listed."""
    bare = _NOTE.sub("", text).strip()
    near = None if own else (near_field(text) or (near_field(bare) if bare and bare != text else None))
    present = set(header.columns) | set(header.computed)
    if near is None or present & set(near.keys):        # never a second column for a field
        header.cells.append(HeaderCell(c, r, text, None, "number" if F.is_row_number_header(text) else "own"))
    elif len(near.keys) > 1:
        header.cells.append(HeaderCell(c, r, text, None, "ambiguous", near.names, near.keys))
    else:
        _put(header, near.keys[0], c, r, text, "near", near.names)


# a flat sheet may name an item like its text field (包案领导 twice: text, then tick)
_TEXT_ITEM = {it.text_field: it.key for it in F.CHECKLIST_ITEMS.values() if it.text_field}
