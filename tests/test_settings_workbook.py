"""The settings workbook: round trip, clerk-typed values, errors that name the cell."""
from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import date, datetime

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from toolkit.compute.calendar import calendar_for
from toolkit.core.settings import NamedHolidayYear
from toolkit.shells.cli import cli
from toolkit.core.config import WORKBOOKS
from toolkit.core.settings import DEFAULT_SETTINGS, Campaign, Phase, RosterEntry, Settings
from toolkit.demo import DEMO_ROSTER
from toolkit.core.settings_workbook import (SettingsError, create_settings_workbook, default_workbook_settings,
                                       load_settings, write_settings_workbook)

CUSTOM = Settings(
    campaign=Campaign(name="测试乡2027年活动", township="测试乡", cutoff=date(2025, 12, 31), workdays=45,
                      due_soon_workdays=5, archive_due=date(2027, 10, 15),
                      phases=(Phase("排查", date(2027, 1, 4), date(2027, 3, 31)),
                              Phase("化解", date(2027, 4, 1), date(2027, 12, 31)))),
    roster=(RosterEntry("东村", "陈建国", ("a@example.com", "b@example.com")),
            RosterEntry("江滨社区", "", ())),
    extra_years=(NamedHolidayYear(2027, frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}),
                                  frozenset({date(2027, 1, 9)}),
                                  ((date(2027, 1, 1), "元旦"), (date(2027, 1, 9), "元旦"))),),
    township_columns=("督办意见", "乡领导批示"),
)


def test_round_trip(tmp_path):
    path = write_settings_workbook(tmp_path / "设置.xlsx", CUSTOM)
    got = load_settings(path)
    assert got == replace(CUSTOM, source=path)
    assert calendar_for(got).add_workdays(date(2026, 12, 30), 2) == date(2027, 1, 4)


def test_written_workbook_seen_by_calamine(tmp_path):
    path = write_settings_workbook(tmp_path / "设置.xlsx", CUSTOM)
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["说明", "活动设置", "村名册", "节假日", "乡级列", "表头别名"]
    camp = wb.get_sheet_by_name("活动设置").to_python()
    assert camp[0][:3] == ["项目", "值", "结束日期（仅阶段）"]
    rows = {r[0]: r for r in camp[1:]}
    assert rows["积案截止日期"][1] == date(2025, 12, 31)
    assert rows["办结工作日数"][1] == 45
    assert rows["阶段：化解"][1:3] == [date(2027, 4, 1), date(2027, 12, 31)]
    hol = wb.get_sheet_by_name("节假日").to_python()
    assert hol[0] == ["日期", "类型", "说明"]
    assert hol[1] == [date(2027, 1, 1), "放假", "元旦"]
    assert [date(2027, 1, 9), "调休上班", "元旦"] in hol
    roster = wb.get_sheet_by_name("村名册").to_python()
    assert roster[1] == ["东村", "陈建国", "a@example.com；b@example.com"]
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        sheet = next(z.read(n).decode() for n in names if n.startswith("xl/worksheets/sheet")
                     and "放假,调休上班" in z.read(n).decode())
    assert "dataValidation" in sheet


def test_committed_default_workbook_is_defaults_plus_demo_roster():
    path = WORKBOOKS / "设置.xlsx"
    assert path.exists()
    got = load_settings(path)
    assert got == replace(DEFAULT_SETTINGS, roster=DEMO_ROSTER, source=path)
    # with no taizhang.toml (the demo), the public API's default location is that file
    from toolkit import api
    assert api.load_settings().roster == DEMO_ROSTER


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(tmp_path / "无.xlsx") is DEFAULT_SETTINGS


def _clerk_workbook(path, *, campaign=None, roster=None, holidays=None, columns=None, drop=()):
    """A settings workbook as a clerk might type it, written by openpyxl (not the writer under test)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    sheets = {
        "活动设置": [["项目", "值", "结束日期（仅阶段）", "说明"]] + (campaign or [
            ["活动名称", "某乡活动"], ["积案截止日期", "2008年12月31日"], ["办结工作日数", "60个工作日"],
            ["临期预警工作日", 8.0], ["阶段：集中化解", "2010.7.1", datetime(2010, 9, 30)]]),
        "村名册": [["村（社区）", "联系人", "电子邮箱"]] + (roster or [
            ["东村", "陈建国", "a@example.com、b@example.com\nc@example.com"], [None, None, None],
            [" 西村 ", None, "ｘｉ@example.com"]]),
        "节假日": [["日期", "类型", "说明"]] + (holidays or [
            ["2027-01-01", "放假", "元旦"], [datetime(2027, 1, 2), "休", None], [46390, "放假", None],
            ["2027/1/9", "上班", "元旦调休"]]),
        "乡级列": [["列名"]] + (columns or [["督办意见"], [None], ["督办意见"], ["乡领导批示"]]),
    }
    wb.create_sheet("说明").append(["随便写的说明"])
    for name, rows in sheets.items():
        if name in drop:
            continue
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_clerk_typed_values(tmp_path):
    s = load_settings(_clerk_workbook(tmp_path / "s.xlsx"))
    c = s.campaign
    assert c.name == "某乡活动" and c.township == DEFAULT_SETTINGS.campaign.township
    assert c.cutoff == date(2008, 12, 31) and c.workdays == 60 and c.due_soon_workdays == 8
    assert c.phases == (Phase("集中化解", date(2010, 7, 1), date(2010, 9, 30)),)
    assert s.roster == (RosterEntry("东村", "陈建国", ("a@example.com", "b@example.com", "c@example.com")),
                        RosterEntry("西村", "", ("xi@example.com",)))
    assert s.village_for_email("C@example.com") == "东村"
    (y,) = s.extra_years
    assert y.year == 2027
    assert y.holidays == {date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}   # 46390 = 2027-01-03
    assert y.workdays == {date(2027, 1, 9)}
    assert s.township_columns == ("督办意见", "乡领导批示")


def test_missing_sheets_mean_defaults(tmp_path):
    s = load_settings(_clerk_workbook(tmp_path / "s.xlsx", drop=("活动设置", "村名册", "节假日", "乡级列")))
    assert replace(s, source=None) == DEFAULT_SETTINGS


@pytest.mark.parametrize("kwargs, sheet, cell, words", [
    (dict(holidays=[["2027-01-01", "放假", None], ["2027年13月5日", "放假", None]]),
     "节假日", "A3", "2027年13月5日"),
    (dict(holidays=[["2027-01-04", "调休上班", None]]), "节假日", "B2", "星期一"),
    (dict(holidays=[["2027-01-01", "加班", None]]), "节假日", "B2", "放假"),
    (dict(holidays=[["2027-01-01", "放假", None], ["2027-1-1", "放假", None]]), "节假日", "A3", "重复"),
    (dict(campaign=[["活动名称", "x"], ["办结工作日", 60]]), "活动设置", "A3", "不认识的项目"),
    (dict(campaign=[["办结工作日数", "六十"]]), "活动设置", "B2", "整数"),
    (dict(campaign=[["积案截止日期", None]]), "活动设置", "B2", "没有填写"),
    (dict(campaign=[["阶段：甲", "2010-07-01", "2010-06-01"]]), "活动设置", "C2", "早于"),
    (dict(campaign=[["阶段：甲", "2010-07-01", "2010-08-01"], ["阶段：乙", "2010-07-15", "2010-09-01"]]),
     "活动设置", "B3", "重叠"),
    (dict(roster=[["东村", "", "not-an-address"]]), "村名册", "C2", "not-an-address"),
    (dict(roster=[["东村", "", "a@example.com"], ["西村", "", "A@example.com"]]), "村名册", "C3", "同时登记"),
    (dict(roster=[["东村", "", ""], ["东村", "", ""]]), "村名册", "A3", "重复"),
    (dict(columns=[["备注"]]), "乡级列", "A2", "台账本身的列"),
])
def test_errors_name_sheet_and_cell(tmp_path, kwargs, sheet, cell, words):
    path = _clerk_workbook(tmp_path / "s.xlsx", **kwargs)
    with pytest.raises(SettingsError) as e:
        load_settings(path)
    msg = str(e.value)
    assert f"“{sheet}”表 {cell} 单元格" in msg and words in msg and "s.xlsx" in msg


def test_unreadable_workbook(tmp_path):
    path = tmp_path / "设置.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(SettingsError, match="无法读取"):
        load_settings(path)


def test_create_refuses_then_backs_up(tmp_path):
    path = tmp_path / "设置.xlsx"
    assert create_settings_workbook(path) == (path, None)
    path.write_bytes(b"clerk's edits")
    with pytest.raises(SettingsError, match="--force"):
        create_settings_workbook(path)
    assert path.read_bytes() == b"clerk's edits"
    _, backup = create_settings_workbook(path, force=True, roster=DEMO_ROSTER)
    assert backup.read_bytes() == b"clerk's edits" and backup.parent == tmp_path / "备份"
    assert backup.name.startswith("设置_") and backup.suffix == ".xlsx"
    assert load_settings(path).roster == DEMO_ROSTER
    assert load_settings(create_settings_workbook(tmp_path / "空.xlsx")[0]).roster == ()
    assert default_workbook_settings().roster == ()


def test_settings_command(tmp_path):
    out = tmp_path / "设置.xlsx"
    runner = CliRunner()
    r = runner.invoke(cli, ["settings", "--out", str(out)])
    assert r.exit_code == 0 and "已生成" in r.output
    r = runner.invoke(cli, ["settings", "--out", str(out)])
    assert r.exit_code == 2 and "已存在" in r.stderr
    r = runner.invoke(cli, ["settings", "--out", str(out), "--force"])
    assert r.exit_code == 0 and "备份" in r.output
    assert len(list((tmp_path / "备份").glob("设置_*.xlsx"))) == 1
