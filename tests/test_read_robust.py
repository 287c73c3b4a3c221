"""The reader never raises on odd but well-formed workbooks (random grids of header words,
dates, numbers and junk), and always returns the Ledger shape the rest of the toolkit expects."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from factories.layouts import write_rows

from toolkit.core import fields as F
from toolkit.read.workbook import read_ledger

WORDS = sorted({n for f in F.FIELDS for n in f.names}
               | {n for g in F.CHECKLISTS for i in g.items for n in i.names}
               | {g.header for g in F.CHECKLISTS} | {c.header for c in F.COMPUTED}
               | {F.COMPUTED_GROUP_HEADER, "基本情况", "填报单位：东村", "填报日期：", "注：", "填表人：",
                  "√", "×", "是", "化解中", "已销号", "2010年13月5日", "2010-07-01", "20100701"})

cell = st.one_of(
    st.none(), st.sampled_from(WORDS), st.text(max_size=12),
    st.integers(-10**18, 10**18), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
)
grid = st.lists(st.lists(cell, min_size=0, max_size=12), min_size=0, max_size=12)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=grid, merges=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 8), st.integers(0, 2),
                                            st.integers(1, 4)), max_size=3),
       second=st.booleans())
def test_random_grids_never_raise(tmp_path, rows, merges, second):
    sheets = {"填表说明": [["说明"]], "台账": rows} if second else {"台账": rows}
    ranges, used = [], set()
    for r, c, h, w in merges:
        cells = {(rr, cc) for rr in range(r, r + h + 1) for cc in range(c, c + w + 1)}
        if cells & used or (h == 0 and w == 0):
            continue
        used |= cells
        ranges.append((r, c, r + h, c + w, "九个一"))
    path = write_rows(tmp_path / "随机.xlsx", sheets, merges={"台账": ranges})
    lg = read_ledger(path)
    assert lg.readable
    assert list(lg.cases.columns) == list(F.ALL_INPUT_KEYS)
    assert all(isinstance(r, int) and r >= 1 for r in lg.cases.index)
    for issue in lg.issues:
        assert issue.code and issue.message
        if issue.cell:
            assert issue.sheet == lg.sheet
