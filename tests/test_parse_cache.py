"""The parse cache keeps plain columns, gives back the reader's own table, and waits for its writes."""
from __future__ import annotations

import pickle
from datetime import date

import pandas as pd

from toolkit.core.ledger import CaseColumns, Ledger, cases_frame, is_reader_frame
from toolkit.pipeline.parse_cache import ParseCache, plain_columns

SHA = "ab" * 32


def reader_ledger(tmp_path) -> Ledger:
    data = {"case_id": ["DC-001", "DC-002"], "petitioner": ["张三", None],
            "assigned_date": [date(2010, 7, 1), None], "nine_group": [True, False]}
    return Ledger(tmp_path / "东村.xlsx", village="东村", cases=cases_frame(data, [5, 7]))


def test_plain_columns_on_disk_and_the_readers_table_back(tmp_path):
    lg = reader_ledger(tmp_path)
    with ParseCache(tmp_path / "parsed") as cache:
        cache.put(SHA, lg)
    raw = (cache.folder / f"{SHA}.pickle").read_bytes()           # on disk once closed
    assert b"pandas" not in raw and b"numpy" not in raw
    kept = pickle.loads(raw)
    assert isinstance(kept.plain_cases, CaseColumns) and kept.plain_cases.index == [5, 7]
    assert set(kept.plain_cases.data) == {"case_id", "petitioner", "assigned_date", "nine_group"}
    back = ParseCache(tmp_path / "parsed").get(SHA)
    assert is_reader_frame(back.cases)                            # validation's fast path
    pd.testing.assert_frame_equal(back.cases, lg.cases)


def test_tables_built_elsewhere(tmp_path):
    odd = pd.DataFrame({"case_id": ["A", float("nan")], "status": [pd.NaT, "化解中"]}, index=[3, 4])
    plain = plain_columns(odd)
    assert plain.data == {"case_id": ["A", None], "status": [None, "化解中"]} and plain.index == [3, 4]
    assert plain_columns(pd.DataFrame({"不是字段": [1]})) is None       # not kept
    cache = ParseCache(tmp_path / "parsed")
    cache.put(SHA, Ledger(tmp_path / "x.xlsx", cases=pd.DataFrame({"不是字段": [1]})))
    cache.close()
    assert cache.get(SHA) is None


def test_a_put_is_seen_before_it_is_written(tmp_path):
    cache = ParseCache(tmp_path / "parsed")
    cache.put(SHA, reader_ledger(tmp_path))
    assert cache.get(SHA).village == "东村"
    cache.close()
    assert cache.get(SHA).cases.index.tolist() == [5, 7]
