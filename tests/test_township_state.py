"""The township values of the master we wrote come from the state, the same as re-reading it;
a master that changed (or another file) is re-read."""
from __future__ import annotations

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

import toolkit.outputs.master as master
import toolkit.pipeline.township_state as township_state
from toolkit.outputs.master import CASE_COLUMNS, MasterBook, read_township_values, write_master
from toolkit.pipeline.township_state import STATE_NAME, recall, remember

COLS = ("督办意见", "乡级备注")


def case(i: int, village: str = "东村", **over) -> dict:
    r = {k: None for k, _, _ in CASE_COLUMNS}
    r.update(village=village, source_file=f"{village}.xlsx", row=5 + i, case_id=f"NJ-{i:03d}",
             status="化解中", alert="逾期", 督办意见=None, 乡级备注=None)
    r.update(over)
    return r


def book() -> MasterBook:
    rows = [case(1, 督办意见="请加快", 乡级备注=date(2010, 10, 1)),
            case(2, 督办意见=" 前后空格 ", 乡级备注=3),
            case(3, 乡级备注=2.5),
            case(4, 督办意见="x" * 40000),                   # cut to 32,767 as the master shows it
            case(5, case_id=12, 督办意见=True),                 # a number as case number: "12"
            case(6, "西村", case_id="NJ-001", 督办意见=datetime(2010, 10, 2, 9, 30)),
            case(7, 督办意见="", 乡级备注=float("nan")),
            case(8, case_id="NJ-001", 督办意见="同号第二行")]     # the first row of a number wins
    changes = [{"变更类型": "乡级填写暂存", "村（社区）": "东村", "案件编号": "NJ-099", "督办意见": "已消失的案"},
               {"变更类型": "新增案件", "村（社区）": "东村", "案件编号": "NJ-001"}]
    return MasterBook(as_of=date(2010, 10, 20), township="南郊乡", cases=pd.DataFrame(rows),
                      township_columns=COLS, changes=changes, generated=datetime(2010, 10, 20, 7))


@pytest.fixture
def written(tmp_path):
    b = book()
    out = write_master(tmp_path / "总台账.xlsx", b).path
    remember(tmp_path / "state", out, b)
    return tmp_path, out


def _no_reading(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the master was re-read")
    monkeypatch.setattr(township_state, "read_township_values", refuse)


@pytest.mark.parametrize("columns", [COLS, ("督办意见",), ("乡级备注",), ("乡级备注", "督办意见")])
def test_state_gives_what_rereading_gives(written, monkeypatch, columns):
    tmp_path, out = written
    expected = read_township_values(out, columns)
    _no_reading(monkeypatch)
    assert recall(tmp_path / "state", out, columns) == expected
    values, extra = expected
    if "督办意见" in columns:
        assert values[("东村", "NJ-099")] == {"督办意见": "已消失的案"}
        assert values[("东村", "NJ-001")]["督办意见"] == "请加快"
        assert values[("东村", "12")]["督办意见"] == "True"
        assert len(values[("东村", "NJ-004")]["督办意见"]) == 32767
    assert extra == [c for c in COLS if c not in columns]


def test_a_changed_master_is_read_again(written, monkeypatch):
    import openpyxl
    tmp_path, out = written
    wb = openpyxl.load_workbook(out)                 # a clerk types into the master
    ws = wb["总台账"]
    head = [c.value for c in ws[2]]
    ws.cell(3, head.index("督办意见") + 1).value = "乡里新写的"
    wb.save(out)
    values, _ = recall(tmp_path / "state", out, COLS)
    assert values[("东村", "NJ-001")]["督办意见"] == "乡里新写的"


def test_another_file_or_no_state_is_read(written, monkeypatch):
    tmp_path, out = written
    other = tmp_path / "副本.xlsx"
    shutil.copy(out, other)
    calls = []
    real = master.read_township_values
    monkeypatch.setattr(township_state, "read_township_values", lambda p, c: calls.append(p) or real(p, c))
    assert recall(tmp_path / "state", other, COLS) == real(out, COLS)
    (tmp_path / "state" / STATE_NAME).write_text("{broken", encoding="utf-8")
    assert recall(tmp_path / "state", out, COLS) == real(out, COLS)
    assert calls == [other, out]


def test_consolidate_does_not_reread_its_own_master(tmp_path, monkeypatch):
    from factories.bench import make_bench_inbox
    from toolkit.core.settings import Settings
    from toolkit.pipeline.consolidate import consolidate
    inbox = tmp_path / "inbox"
    make_bench_inbox(inbox, villages=3, cases=4)
    kw = dict(as_of=date(2010, 10, 20), settings=Settings(), archive_root=tmp_path / "archive",
              state_dir=tmp_path / "state")
    out = tmp_path / "总台账.xlsx"
    consolidate(inbox, out, **kw)
    _no_reading(monkeypatch)
    consolidate(inbox, out, **kw)                  # the master is ours: nothing re-read
    assert (tmp_path / "state" / STATE_NAME).is_file()
