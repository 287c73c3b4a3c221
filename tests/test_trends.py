"""Each run leaves its totals per village and day; a day is never counted twice."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import toolkit
from toolkit import api
from toolkit.core.config import Config
from toolkit.pipeline.trends import township_days

DEMO = Path(toolkit.__file__).parent / "demo" / "inbox"


def office(tmp_path: Path) -> Config:
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx"):
        shutil.copyfile(DEMO / name, inbox / name)
    return Config(inbox=inbox, master=tmp_path / "总台账.xlsx", archive=tmp_path / "存档",
                  logs=tmp_path / "日志", state=tmp_path / "状态", settings_workbook=tmp_path / "设置.xlsx")


def test_runs_record_one_row_per_village_and_day(tmp_path):
    cfg = office(tmp_path)
    first = api.consolidate(config=cfg, as_of="2010-10-20")
    api.consolidate(config=cfg, as_of="2010-10-20")            # rebuilt the same morning
    api.consolidate(config=cfg, as_of="2010-10-27")            # a week later
    rows = api.trends(config=cfg)
    assert [(r.day, r.village) for r in rows] == [
        (date(2010, 10, 20), "东村"), (date(2010, 10, 20), "南村"),
        (date(2010, 10, 27), "东村"), (date(2010, 10, 27), "南村")]
    day1 = township_days(rows)[0]
    assert day1.cases == first.cases == 21 and day1.overdue == first.overdue
    assert day1.due_soon == first.due_soon and day1.errors == 2
    later = township_days(rows)[1]
    assert later.overdue >= day1.overdue                       # time passed, nothing was closed
    assert api.trends(config=cfg, since="2010-10-21")[0].day == date(2010, 10, 27)


def test_no_state_yet_means_no_history(tmp_path):
    assert api.trends(config=office(tmp_path)) == []


def test_the_master_shows_the_trend_by_day_and_village(tmp_path):
    from python_calamine import CalamineWorkbook
    cfg = office(tmp_path)
    for day in ("2010-10-06", "2010-10-13", "2010-10-20", "2010-10-20"):
        result = api.consolidate(config=cfg, as_of=day)
    rows = CalamineWorkbook.from_path(str(result.master)).get_sheet_by_name("趋势").to_python()
    assert rows[0][0].endswith("·趋势") and rows[2][:6] == ["日期", "案件数", "逾期", "临期", "已化解", "已销号"]
    days = [r[0] for r in rows[3:6]]
    assert [d.date() if hasattr(d, "date") else d for d in days] == [
        date(2010, 10, 6), date(2010, 10, 13), date(2010, 10, 20)]     # the day run twice: once
    assert rows[5][1] == result.cases and rows[5][2] == result.overdue
    at = next(i for i, r in enumerate(rows) if str(r[0]).startswith("二、"))
    assert rows[at + 1][0] == "村（社区）" and "变化" in rows[at + 1]
    assert {rows[at + 2][0], rows[at + 3][0]} == {"东村", "南村"}
