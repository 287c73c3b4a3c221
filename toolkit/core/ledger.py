"""The one case model: a ledger read from one workbook.

``cases`` is a pandas DataFrame whose index is the Excel row number (1-based)
of each case and whose columns are field and checklist keys from
``toolkit.core.fields``. A ledger read by a worker holds the same table as plain
lists (``CaseColumns``) until someone asks for ``cases``: checking it
(``case_columns``, ``case_rows``) needs no pandas, so ``taizhang validate`` never
imports it. Values are normalised Python objects: ``datetime.date`` for
dates, ``bool`` for ticks, canonical words for statuses, ``str`` for text, or
None when blank or unreadable (an Issue then says why, at its cell).

Every value knows its cell: ``ledger.cell(key, row)`` gives "D5" from the
column map. Computed columns already present in the sheet are in
``computed_columns`` (key -> 0-based column) so write-back can reuse them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from toolkit.core.cells import cell_ref
from toolkit.core.fields import ALL_INPUT_KEYS
from toolkit.core.issues import Issue, count

if TYPE_CHECKING:  # pandas is imported lazily: button handlers must start fast
    import pandas as pd


def _empty_frame() -> "pd.DataFrame":
    import pandas as pd
    return pd.DataFrame()


@dataclass
class CaseColumns:
    """The case table as plain lists: ``data`` key -> values, ``index`` the Excel rows.

    What a sandboxed reader sends to the parent: making and pickling it needs no
    pandas, so reader processes start without importing it (about 0.3 s each) and
    the parent builds each DataFrame with one constructor call (``to_frame``).
    """
    data: dict[str, list]
    index: list[int]

    def __len__(self) -> int:
        return len(self.index)

    def to_frame(self) -> "pd.DataFrame":
        return cases_frame(self.data, self.index)


def cases_frame(data: dict[str, list], index: list[int]) -> "pd.DataFrame":
    """The case table: index = Excel row, one object column per input key (built once)."""
    import numpy as np
    import pandas as pd


    table = np.empty((len(ALL_INPUT_KEYS), len(index)), dtype=object)   # filled with None
    for j, key in enumerate(ALL_INPUT_KEYS):
        values = data.get(key)
        if values is not None:
            table[j] = values
    return pd.DataFrame(table.T, index=np.array(index, dtype=np.int64), columns=_columns_index(),
                        dtype=object, copy=False)


def is_reader_frame(frame) -> bool:
    """True for a table made by ``cases_frame`` whose columns nobody has changed since:
    every input key in order, None (never NaN) for blanks. (The columns object is
    shared by all such tables; adding, dropping or renaming a column replaces it.)"""
    return frame.columns is _columns_index()


@lru_cache(maxsize=1)
def _columns_index():
    import pandas as pd

    return pd.Index(list(ALL_INPUT_KEYS), dtype=object)


class _CaseTable:
    """``Ledger.cases``: the DataFrame, built from ``CaseColumns`` on first use (a worker's
    ledger, one from the parse cache), or an empty one when the ledger was made without."""

    def __set_name__(self, owner, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, obj, owner=None):
        if obj is None:
            return _NO_TABLE                # the dataclass default
        value = _raw_table(obj)
        if isinstance(value, CaseColumns):
            value = obj.__dict__[self.slot] = value.to_frame()
        elif value is _NO_TABLE:
            value = obj.__dict__[self.slot] = _empty_frame()
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


_NO_TABLE = object()


def _raw_table(ledger: "Ledger"):
    """What ``cases`` holds now: a DataFrame, CaseColumns, None, or _NO_TABLE (never given)."""
    held = ledger.__dict__
    return held["_cases"] if "_cases" in held else held.get("cases", _NO_TABLE)   # "cases": an older pickle


@dataclass
class Ledger:
    path: Path
    sheet: str | None = None
    village: str | None = None
    village_source: str | None = None   # marker | reporter | column | filename
    report_date: object = None          # the 填报日期 when found (datetime.date)
    saved: object = None                # when the file says it was last saved (datetime, local)
    cases: "pd.DataFrame" = _CaseTable()   # CaseColumns may be given: a DataFrame when read
    columns: dict[str, int] = field(default_factory=dict)           # input key -> 0-based col
    computed_columns: dict[str, int] = field(default_factory=dict)  # computed key -> 0-based col
    header_rows: list[int] = field(default_factory=list)            # 1-based
    header_cells: list = field(default_factory=list)   # toolkit.read.header.HeaderCell, column order
    last_column: int = -1                                           # 0-based, last used in header
    template_version: str | None = None
    has_macros: bool = False
    file_format: str | None = None      # xlsx | xlsm | xls | ods
    issues: list[Issue] = field(default_factory=list)
    readable: bool = True               # False when the file could not be read at all

    def cell(self, key: str, row: int) -> str | None:
        col = self.columns.get(key)
        if col is None:
            col = self.computed_columns.get(key)
        return None if col is None else cell_ref(col, row)

    @property
    def errors(self) -> int:
        return count(self.issues)[0]

    @property
    def warnings(self) -> int:
        return count(self.issues)[1]

    @property
    def n_cases(self) -> int:
        table = _raw_table(self)
        return 0 if table is None or table is _NO_TABLE else len(table)

    @property
    def plain_cases(self) -> CaseColumns | None:
        """The case table as the reader sent it, while nobody has asked for the DataFrame."""
        table = _raw_table(self)
        return table if isinstance(table, CaseColumns) else None

    def case_rows(self) -> list[int]:
        """The Excel row of each case, in order (no pandas for a reader's table)."""
        table = _raw_table(self)
        if table is None or table is _NO_TABLE:
            return []
        return list(table.index) if isinstance(table, CaseColumns) else [int(r) for r in table.index.tolist()]

    def case_columns(self, keys: Sequence[str]) -> list[list]:
        """The values of ``keys``, one list per key in the cases' order: None for a blank and
        for a key the table lacks (as the DataFrame reads them; no pandas for a reader's table)."""
        table = _raw_table(self)
        if table is None or table is _NO_TABLE:
            return [[] for _ in keys]
        if isinstance(table, CaseColumns):
            n = len(table)
            return [list(table.data[k]) if k in table.data else [None] * n for k in keys]
        return frame_columns(table, keys)

    def to_dict(self) -> dict:
        """The per-file object of ``taizhang validate --json``."""
        return {
            "path": str(self.path),
            "village": self.village,
            "sheet": self.sheet,
            "cases": self.n_cases,
            "issues": [i.to_dict() for i in self.issues],
        }


def frame_columns(frame, keys: Sequence[str]) -> list[list]:
    """The values of ``keys`` in a case table, one list per key, None for blanks and absent keys
    (``Ledger.case_columns`` of a DataFrame): one array conversion for the reader's own table;
    any other (unpickled, built by hand) may hold NaN and other columns."""
    if is_reader_frame(frame):          # every input key in order, None for blanks
        at = _key_positions()
        picked = [at[k] for k in keys if k in at]
        if len(picked) == len(keys):
            return frame.to_numpy(dtype=object)[:, picked].T.tolist()
    import pandas as pd
    values = frame.reindex(columns=list(keys)).to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()          # pandas' copy-on-write hands out read-only arrays
        values[missing] = None
    return values.T.tolist()


@lru_cache(maxsize=1)
def _key_positions() -> dict[str, int]:
    return {k: n for n, k in enumerate(ALL_INPUT_KEYS)}


def case_columns(ledgers: Sequence[Ledger], keys: Sequence[str]) -> tuple[dict[str, list], list[tuple[int, int]]]:
    """The cases of ``ledgers`` as one table of plain columns (key -> values, ``Ledger.case_columns``)
    and where each came from: ``where[position] = (ledger's number in ledgers, Excel row)``."""
    out: dict[str, list] = {k: [] for k in keys}
    where: list[tuple[int, int]] = []
    for n, lg in enumerate(ledgers):
        for k, values in zip(keys, lg.case_columns(keys)):
            out[k] += values
        where += zip(repeat(n), lg.case_rows())
    return out, where
