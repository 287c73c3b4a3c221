"""Computed case columns on hand-built cases: every alert, checklist and closing path."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from toolkit.compute.calendar import WorkCalendar
from toolkit.compute.cases import can_close, compute_cases
from toolkit.core.fields import ALL_INPUT_KEYS, CHECKLISTS, COMPUTED
from toolkit.core.settings import DEFAULT_SETTINGS, Campaign, HolidayYear, Settings

ALL_ITEMS = [it.key for g in CHECKLISTS for it in g.items]


def case(case_id, **values):
    row = {k: None for k in ALL_INPUT_KEYS}
    row.update(case_id=case_id, first_petition_date=date(2007, 3, 1), status="化解中",
               leader="张三", plan="方案", stability_measures="稳控")
    row.update({k: True for k in ALL_ITEMS})
    row.update(values)
    return row


def frame(*rows, start=5):
    return pd.DataFrame(list(rows), index=range(start, start + len(rows)))


def compute(df, as_of, settings=DEFAULT_SETTINGS):
    out, issues = compute_cases(df, as_of=as_of, settings=settings)
    assert list(out.columns) == [c.key for c in COMPUTED]
    assert list(out.index) == list(df.index)
    return out, issues


AS_OF = date(2010, 10, 13)


def test_alerts_and_deadlines():
    df = frame(
        case("A", assigned_date=date(2010, 7, 1)),                         # deadline 09-25
        case("B", assigned_date=date(2010, 7, 15)),                        # deadline today
        case("C", assigned_date=date(2010, 7, 26)),                        # 7 left
        case("D", assigned_date=date(2010, 8, 2)),                         # 12 left
        case("E", assigned_date=date(2010, 7, 1), extension_days=10),      # extended to today
        case("F", assigned_date=date(2010, 7, 1), status="已化解", closed_date=date(2010, 9, 1)),
        case("G", assigned_date=date(2010, 7, 1), status="中止"),
        case("H", assigned_date=None),
        case("I", assigned_date=date(2010, 7, 1), status="已销号", closed_date=date(2010, 9, 1)),
        case("J", assigned_date=date(2010, 7, 26), extension_days=float("nan")),
    )
    out, issues = compute(df, AS_OF)
    assert issues == []
    r = out.loc
    assert r[5, "deadline"] == date(2010, 9, 25) and r[5, "workdays_left"] == -10 and r[5, "alert"] == "逾期"
    assert r[6, "deadline"] == AS_OF and r[6, "workdays_left"] == 0 and r[6, "alert"] == "临期"
    assert r[7, "deadline"] == date(2010, 10, 22) and r[7, "workdays_left"] == 7 and r[7, "alert"] == "临期"
    assert r[8, "deadline"] == date(2010, 10, 29) and r[8, "workdays_left"] == 12 and r[8, "alert"] == "正常"
    assert r[9, "deadline"] == AS_OF and r[9, "alert"] == "临期"
    assert r[10, "alert"] == "已办结" and r[10, "deadline"] == date(2010, 9, 25) and r[10, "workdays_left"] is None
    assert r[11, "alert"] == "中止" and r[11, "workdays_left"] is None
    assert r[12, "deadline"] is None and r[12, "alert"] == "" and r[12, "workdays_left"] is None
    assert r[13, "alert"] == "已办结"
    assert r[14, "deadline"] == date(2010, 10, 22)
    assert set(out["phase"]) == {"督导检查"}


def test_threshold_is_a_setting():
    df = frame(case("D", assigned_date=date(2010, 8, 2)))
    s = replace(DEFAULT_SETTINGS, campaign=replace(DEFAULT_SETTINGS.campaign, due_soon_workdays=12))
    assert compute(df, AS_OF, s)[0].loc[5, "alert"] == "临期"
    s = replace(DEFAULT_SETTINGS, campaign=replace(DEFAULT_SETTINGS.campaign, workdays=30))
    out = compute(df, AS_OF, s)[0]
    assert out.loc[5, "deadline"] == WorkCalendar().add_workdays(date(2010, 8, 2), 30)
    assert out.loc[5, "alert"] == "逾期"


def test_checklists_missing_items_and_text_fields():
    df = frame(
        case("full"),
        case("ticks-off", nine_meeting=False, nine_minutes=None, archive_letter=False,
             five_persuade=False),
        # text fields stand in for their tick: leader filled, plan blank text, stability given
        case("text", nine_leader=False, nine_plan=None, nine_stability=None,
             leader="李四", plan="   ", stability_measures="专人稳控"),
        case("none-text", nine_leader=None, leader=None),
    )
    out, _ = compute(df, AS_OF)
    assert out.loc[5, ["nine_done", "five_done", "clear_done", "archive_done"]].tolist() == \
        ["8/8", "5/5", "6/6", "6/6"]
    assert out.loc[5, "missing_items"] == ""
    assert out.loc[6, "nine_done"] == "6/8" and out.loc[6, "five_done"] == "4/5"
    assert out.loc[6, "archive_done"] == "5/6"
    assert out.loc[6, "missing_items"] == "九个一：协调会、会议纪要；五包：包劝返；六有：交办函"
    assert out.loc[7, "nine_done"] == "7/8"
    assert out.loc[7, "missing_items"] == "九个一：化解方案"
    assert out.loc[8, "missing_items"] == "九个一：包案领导"


def test_can_close_reasons():
    df = frame(
        case("ok", status="已化解", closed_date=date(2010, 9, 1)),
        case("no-date", status="已销号"),
        case("archive", status="已销号", closed_date=date(2010, 9, 1),
             archive_letter=False, archive_report=None),
        case("both", status="已化解", archive_letter=False),
        case("open", status="化解中", archive_letter=False),
        case("todo", status="待化解"),
        case("paused", status="中止"),
        case("unknown", status=None),
    )
    out, _ = compute(df, AS_OF)
    assert out["can_close"].tolist() == [
        "是", "否：缺办结日期", "否：六有缺交办函、查办报告", "否：缺办结日期；六有缺交办函",
        "否：尚未化解", "否：尚未化解", "否：案件已中止", "否：办理状态未填或无法识别"]
    assert can_close("已化解", True, []) == "是"


def test_in_scope_and_phase():
    df = frame(case("in", first_petition_date=date(2008, 12, 31)),
               case("out", first_petition_date=date(2009, 5, 1)),
               case("unknown", first_petition_date=None))
    out, _ = compute(df, date(2010, 3, 1))
    assert out["in_scope"].tolist() == ["是", "否（首次信访晚于2008-12-31）", ""]
    assert set(out["phase"]) == {"活动未开始"}
    assert set(compute(df, date(2010, 7, 1))[0]["phase"]) == {"集中化解"}
    assert set(compute(df, date(2011, 1, 1))[0]["phase"]) == {"活动已结束"}


# --- years the calendar does not know ---------------------------------------------
def test_first_of_january_of_an_unknown_year_keeps_alerts():
    df = frame(
        case("old", assigned_date=date(2010, 7, 1)),        # deadline 2010: overdue by date
        case("late", assigned_date=date(2026, 11, 20)),     # needs 2027: deadline unknown
        case("close", assigned_date=date(2026, 10, 13)),    # 57 workdays in 2026: 3 left in 2027
        case("done", assigned_date=date(2026, 11, 20), status="已化解", closed_date=date(2026, 12, 1)),
    )
    out, issues = compute(df, date(2027, 1, 1))
    assert out.loc[5, "deadline"] == date(2010, 9, 25)
    assert out.loc[5, "alert"] == "逾期" and out.loc[5, "workdays_left"] is None
    assert out.loc[6, "deadline"] is None and out.loc[6, "workdays_left"] is None
    assert out.loc[6, "alert"] == "正常"      # ≥ 30 working days surely left
    assert out.loc[7, "deadline"] is None and out.loc[7, "alert"] == "临期"   # ≤ 3 left, not yet due
    assert out.loc[8, "alert"] == "已办结"
    codes = [(i.code, i.row, i.case_id) for i in issues]
    assert codes == [("deadline_unavailable", 6, "late"), ("deadline_unavailable", 7, "close"),
                     ("deadline_unavailable", 8, "done")]
    assert "2027" in issues[0].message and "节假日" in issues[0].action
    assert issues[0].sheet is None and issues[0].cell is None


def test_deadline_in_an_unknown_year_still_counts_workdays_left():
    df = frame(case("late", assigned_date=date(2026, 11, 20)))
    out, issues = compute(df, date(2026, 12, 1))
    assert out.loc[5, "deadline"] is None
    assert out.loc[5, "workdays_left"] == 60 - 7
    assert out.loc[5, "alert"] == "正常"
    assert len(issues) == 1 and issues[0].severity == "warning"


def test_user_year_removes_the_warning():
    y2027 = HolidayYear(2027, frozenset({date(2027, 1, 1)}))
    s = replace(DEFAULT_SETTINGS, extra_years=(y2027,))
    df = frame(case("late", assigned_date=date(2026, 11, 20)))
    out, issues = compute(df, date(2027, 1, 1), s)
    assert issues == []
    assert out.loc[5, "deadline"] == WorkCalendar([y2027]).add_workdays(date(2026, 11, 20), 60)
    assert isinstance(out.loc[5, "workdays_left"], int)


def test_due_soon_proven_from_calendar_days():
    # as_of in 2003 (unknown), deadline in 2004 (known): 20 calendar days ≥ working days
    s = Settings(campaign=Campaign(workdays=5, due_soon_workdays=25))
    df = frame(case("x", assigned_date=date(2004, 1, 2)))
    out, issues = compute(df, date(2003, 12, 20), s)
    assert out.loc[5, "deadline"] == date(2004, 1, 9)
    assert out.loc[5, "workdays_left"] is None
    assert out.loc[5, "alert"] == "临期"
    assert issues == []
    s = Settings(campaign=Campaign(workdays=5, due_soon_workdays=10))
    assert compute(df, date(2003, 12, 20), s)[0].loc[5, "alert"] == ""   # cannot be proven


def test_empty_and_partial_frames():
    out, issues = compute_cases(pd.DataFrame(columns=list(ALL_INPUT_KEYS)), as_of=AS_OF,
                                settings=DEFAULT_SETTINGS)
    assert out.empty and list(out.columns) == [c.key for c in COMPUTED] and issues == []
    df = pd.DataFrame({"case_id": ["X"], "assigned_date": [date(2010, 7, 1)]}, index=[9])
    out, _ = compute_cases(df, as_of=AS_OF, settings=DEFAULT_SETTINGS)
    assert out.loc[9, "deadline"] == date(2010, 9, 25)
    assert out.loc[9, "nine_done"] == "0/8"
    assert out.loc[9, "can_close"] == "否：办理状态未填或无法识别"


@pytest.mark.parametrize("value", [pd.NaT, pd.Timestamp("2010-07-01")])
def test_pandas_date_values(value):
    df = frame(case("p", assigned_date=value))
    out, _ = compute(df, AS_OF)
    expected = None if value is pd.NaT else date(2010, 9, 25)
    assert out.loc[5, "deadline"] == expected


@pytest.mark.slow
def test_validate_computes_only_its_warnings_and_gives_the_same_issues(tmp_path):
    """`taizhang validate` writes no column, so its checker computes the deadline warnings only
    (check_ledgers(columns=False)): every ledger gets exactly the issues a full check gives."""
    import copy
    import random

    from factories.layouts import sample_cases, write_ledger
    from factories.ledgers import FAULTS, LedgerStyle, make_ledger
    from toolkit.core.issues import Code
    from toolkit.pipeline.check import check_ledgers
    from toolkit.read.workbook import read_ledger

    rng = random.Random(7)
    paths = [make_ledger(tmp_path / f"村{n}.xlsx", village=f"村{n}", n_cases=rng.randint(1, 40), seed=n,
                         layout=LedgerStyle(faults=tuple(rng.sample(FAULTS, 3)))).path for n in range(6)]
    # deadlines that need a year whose holidays nobody knows yet: computing's own warning
    paths.append(write_ledger(tmp_path / "新村.xlsx", sample_cases(3, "新村", assigned_date=date(2098, 11, 2))))
    ledgers = [read_ledger(p) for p in paths]
    assert all(lg.plain_cases is not None for lg in ledgers)       # as read: plain lists, no DataFrame yet
    said = []
    for columns, frames in ((True, True), (False, False), (False, True)):
        copies = copy.deepcopy(ledgers)
        if frames:                      # asked for: the DataFrame, as the judge and fill use it
            assert all(isinstance(lg.cases, pd.DataFrame) and lg.plain_cases is None for lg in copies)
        tables = check_ledgers(copies, as_of=date(2098, 12, 7), settings=DEFAULT_SETTINGS, columns=columns)
        assert len(tables) == (len(copies) if columns else 0)
        said.append([(str(lg.path), i.code, i.row, i.column, i.cell, i.message) for lg in copies
                     for i in lg.issues])
    full, issues_only, issues_only_of_frames = said
    assert issues_only == full == issues_only_of_frames
    assert {code for _, code, *_ in full} >= {Code.DEADLINE_UNAVAILABLE, Code.DUPLICATE_CASE_ID}


def test_taizhang_validate_never_imports_pandas(tmp_path):
    """Checking what the sandboxed readers send needs no pandas (about 0.5 s of a fresh
    ``taizhang validate``): a fresh interpreter checks a folder without importing it, finds the
    faults, and a ledger's DataFrame is still there for whoever asks for it afterwards."""
    from factories.fresh import fresh_python
    from factories.ledgers import LedgerStyle, make_ledger
    for n in range(3):
        make_ledger(tmp_path / f"村{n}.xlsx", village=f"村{n}", n_cases=20, seed=n,
                    layout=LedgerStyle(faults=("duplicate_case_id", "impossible_date")))
    code = ("import sys, json; from datetime import date; from pathlib import Path\n"
            "from toolkit import api\n"
            "lgs = api.validate([Path(sys.argv[1])], as_of=date(2010, 10, 20))\n"
            "before = 'pandas' in sys.modules\n"
            "rows = [lg.cases.index.tolist() for lg in lgs]\n"
            "print(json.dumps([before, sorted({i.code for lg in lgs for i in lg.issues}),\n"
            "                  [len(r) for r in rows], type(lgs[0].cases).__name__]))\n")
    pandas_before, codes, sizes, kind = fresh_python(code, str(tmp_path), cwd=tmp_path)
    assert pandas_before is False
    assert {"duplicate_case_id", "invalid_date"} <= set(codes)
    assert sizes == [20, 20, 20] and kind == "DataFrame"
