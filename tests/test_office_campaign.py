"""The office's own campaign: `taizhang settings --year`, the default of an office without a
settings workbook, doctor's warnings (outside every phase, most cases out of scope, next
year's holidays unknown), and dates written without a year."""
from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import toolkit
from toolkit import api
from toolkit.compute.calendar import package_years
from toolkit.core.dates import parse_date_value
from toolkit.core.settings import DEFAULT_SETTINGS, TOWNSHIP_PLACEHOLDER, campaign_for_year
from toolkit.core.settings_workbook import SettingsError, load_settings
from toolkit.pipeline.doctor import check_setup
from toolkit.shells.cli import main

DEMO_INBOX = Path(toolkit.__file__).parent / "demo" / "inbox"


def office(folder: Path, toml: str = "") -> Path:
    (folder / "收件箱").mkdir(parents=True)
    (folder / "taizhang.toml").write_text(toml, encoding="utf-8")
    os.chdir(folder)
    return folder


def campaign_sheet(path: Path) -> dict[str, list]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("活动设置").to_python()
    return {str(r[0]): r[1:3] for r in rows[1:] if r and r[0]}


def test_settings_year_writes_the_office_campaign(tmp_path, capsys):
    office(tmp_path / "乡")
    assert main(["settings", "--year", "2026", "--township", "南郊乡"]) == 0
    out = capsys.readouterr().out
    assert "南郊乡2026年信访积案化解活动" in out and "积案截止日期 2024-12-31" in out
    sheet = campaign_sheet(tmp_path / "乡" / "设置.xlsx")
    assert sheet["积案截止日期"][0] == date(2024, 12, 31) and sheet["乡镇"][0] == "南郊乡"
    assert sheet["阶段：集中化解"] == [date(2026, 7, 1), date(2026, 9, 30)]
    assert sheet["六有报送截止日"][0] == date(2026, 10, 15)
    help_rows = CalamineWorkbook.from_path(str(tmp_path / "乡" / "设置.xlsx")).get_sheet_by_name("说明").to_python()
    assert any("2026-07-01" in str(r) for r in help_rows) and not any("2010" in str(r) for r in help_rows)
    settings = api.load_settings()
    assert settings.campaign.township == "南郊乡" and settings.campaign.cutoff == date(2024, 12, 31)


def test_the_default_year_is_the_offices(tmp_path, capsys):
    office(tmp_path / "乡", '[daily]\nas_of = "2015-05-01"\n')
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "2015年" in out and TOWNSHIP_PLACEHOLDER in out and "填写乡镇名称" in out
    assert campaign_sheet(tmp_path / "乡" / "设置.xlsx")["积案截止日期"][0] == date(2013, 12, 31)


def test_the_worked_example_stays_the_demos(tmp_path, capsys):
    os.chdir(tmp_path)
    assert main(["settings", "--demo", "--out", "示例.xlsx"]) == 0
    assert load_settings(tmp_path / "示例.xlsx").campaign == DEFAULT_SETTINGS.campaign
    assert len(load_settings(tmp_path / "示例.xlsx").roster) == 8
    # the example is the office rule applied to 2010: same dates, only the name differs
    assert campaign_for_year(2010, "南郊乡").phases == DEFAULT_SETTINGS.campaign.phases
    assert campaign_for_year(2010, "南郊乡").cutoff == DEFAULT_SETTINGS.campaign.cutoff


def test_an_office_without_a_settings_workbook_runs_its_own_year(tmp_path):
    office(tmp_path / "乡")
    camp = api.load_settings().campaign
    assert camp.cutoff == date(date.today().year - 2, 12, 31) and camp.township == TOWNSHIP_PLACEHOLDER
    os.chdir(tmp_path)                           # no toml: the demo, on its worked example
    assert api.load_settings().campaign == DEFAULT_SETTINGS.campaign


def doctor_lines(cfg, **kw) -> dict[str, tuple[str, str]]:
    report = check_setup(cfg, load_settings=api.load_settings, connect_mail=False, **kw)
    return {c.item: (c.status, c.detail) for c in report.checks}


def test_doctor_says_today_is_outside_every_phase(tmp_path):
    office(tmp_path / "乡", '[daily]\nas_of = "2026-12-07"\n')
    api.write_settings(year=2010, township="南郊乡")             # the 2010 settings, in 2026
    lines = doctor_lines(api.load_config())
    status, detail = lines["活动阶段"]
    assert status == "注意" and "不在" in detail and "taizhang settings --year 2026" in detail
    api.write_settings(year=2026, township="南郊乡", force=True)
    assert lines.get("乡镇名称") is None and doctor_lines(api.load_config())["活动阶段"][0] == "正常"


def test_doctor_says_most_cases_are_out_of_scope(tmp_path, capsys):
    folder = office(tmp_path / "乡", '[daily]\nas_of = "2010-10-20"\n')
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx"):
        shutil.copyfile(DEMO_INBOX / name, folder / "收件箱" / name)
    api.write_settings(year=2010, township="南郊乡")
    assert main(["consolidate"]) == 0
    assert doctor_lines(api.load_config())["积案范围"][0] == "正常"
    # a cut-off years too early (a 2006 campaign's settings kept): most cases fall out
    api.write_settings(year=2006, township="南郊乡", force=True)
    status, detail = doctor_lines(api.load_config())["积案范围"]
    assert status == "注意" and "积案截止日期 2004-12-31" in detail and "21 件中有" in detail


def test_doctor_warns_before_next_years_holidays_are_known(tmp_path):
    last = max(package_years())
    office(tmp_path / "乡", f'[daily]\nas_of = "{last}-06-01"\n')
    assert doctor_lines(api.load_config())["法定节假日"][0] == "正常"
    office(tmp_path / "乙", f'[daily]\nas_of = "{last}-10-01"\n')
    status, detail = doctor_lines(api.load_config())["法定节假日"]
    assert status == "注意" and f"{last + 1} 年的安排还不知道" in detail and "第 60 个工作日" in detail


@pytest.mark.parametrize("text, reason", [("9月15日", "缺少年份"), ("9.15", "缺少年份"), ("9/15", "缺少年份"),
                                          ("9月", "缺少年份和日"), ("2010年9月", "缺少日")])
def test_a_date_without_a_year_says_so(text, reason):
    day, why = parse_date_value(text)
    assert day is None and reason in why


def test_settings_date_hints_use_the_campaigns_year(tmp_path):
    office(tmp_path / "乡", '[daily]\nas_of = "2026-03-01"\n')
    path = api.write_settings(year=2026)[0]
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("活动设置")
    for r, row in enumerate((("项目", "值"), ("积案截止日期", "9月15日"))):
        for c, v in enumerate(row):
            ws.write_string(r, c, v)
    wb.close()
    with pytest.raises(SettingsError) as e:
        api.load_settings()
    assert "缺少年份" in str(e.value) and "2026-07-01" in str(e.value) and "2010" not in str(e.value)


def test_the_demo_doctor_runs_on_the_demo_date(tmp_path):
    os.chdir(tmp_path)
    lines = doctor_lines(api.load_config(), now=datetime(2026, 12, 7, 9, 0))
    assert lines["活动阶段"][0] == "正常" and "2010-10-20" in lines["活动阶段"][1]
