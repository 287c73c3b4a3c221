"""The one case model: a ledger read from one workbook.

``cases`` is a pandas DataFrame whose index is the Excel row number (1-based)
of each case and whose columns are field and checklist keys from
``toolkit.core.fields``. Values are normalised Python objects: ``datetime.date`` for
dates, ``bool`` for ticks, canonical words for statuses, ``str`` for text, or
None when blank or unreadable (an Issue then says why, at its cell).

Every value knows its cell: ``ledger.cell(key, row)`` gives "D5" from the
column map. Computed columns already present in the sheet are in
``computed_columns`` (key -> 0-based column) so write-back can reuse them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

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


@dataclass
class Ledger:
    path: Path
    sheet: str | None = None
    village: str | None = None
    village_source: str | None = None   # marker | reporter | column | filename
    report_date: object = None          # the 填报日期 when found (datetime.date)
    saved: object = None                # when the file says it was last saved (datetime, local)
    cases: "pd.DataFrame" = field(default_factory=_empty_frame)
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
        return 0 if self.cases is None else len(self.cases)

    def to_dict(self) -> dict:
        """The per-file object of ``taizhang validate --json``."""
        return {
            "path": str(self.path),
            "village": self.village,
            "sheet": self.sheet,
            "cases": self.n_cases,
            "issues": [i.to_dict() for i in self.issues],
        }
