"""The public API: config -> settings -> as-of resolved once, the same way for every caller."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import toolkit
from toolkit import api
from toolkit.core.config import WORKBOOKS, Config, ConfigError
from toolkit.shells.cli import main

DEMO_FILES = Path(toolkit.__file__).parent / "demo" / "inbox"


@pytest.fixture
def office(tmp_path, monkeypatch):
    """A township office folder with its own taizhang.toml, and no TAIZHANG_CONFIG."""
    monkeypatch.delenv("TAIZHANG_CONFIG", raising=False)
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    for name in ("东村信访积案台账.xlsx", "南村台账10.15.xlsx"):
        shutil.copyfile(DEMO_FILES / name, inbox / name)
    (tmp_path / "taizhang.toml").write_text(
        '[paths]\ninbox = "收件箱"\nmaster = "输出/总台账.xlsx"\narchive = "存档"\nlogs = "日志"\n'
        'state = "状态"\nsettings_workbook = "设置.xlsx"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_config_found_by_one_rule(office, tmp_path_factory, monkeypatch):
    cfg = api.load_config()
    assert cfg.source == office / "taizhang.toml" and not cfg.demo
    assert cfg.inbox == office / "收件箱"
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    assert api.load_config().demo                           # no file anywhere: the demo
    assert api.load_config(near=[office]).source == office / "taizhang.toml"   # the buttons' folders
    monkeypatch.setenv("TAIZHANG_CONFIG", str(office / "taizhang.toml"))
    assert api.load_config().source == office / "taizhang.toml"
    with pytest.raises(ConfigError, match="找不到配置文件"):
        api.load_config(elsewhere / "没有这个.toml")


def test_as_of_rule(office):
    cfg = api.load_config()
    assert api.resolve(config=cfg).as_of == date.today()
    assert api.resolve(config=cfg, as_of="2010-10-20").as_of == date(2010, 10, 20)
    fixed = Config(**{**cfg.__dict__, "as_of": date(2010, 9, 1)})
    assert api.resolve(config=fixed).as_of == date(2010, 9, 1)
    assert api.resolve(config=fixed, as_of=date(2010, 10, 1)).as_of == date(2010, 10, 1)
    from toolkit.demo import DEMO_AS_OF
    demo = Config(inbox=api.DEMO_INBOX, demo=True)
    assert api.resolve(config=demo, inbox=api.DEMO_INBOX).as_of == DEMO_AS_OF
    assert api.resolve(config=demo).as_of == date.today()   # validating a clerk's own file


def test_consolidate_writes_only_where_the_config_says(office):
    before = {p for p in WORKBOOKS.rglob("*")}
    result = toolkit.consolidate(as_of="2010-10-20")
    assert result.written and result.master == office / "输出" / "总台账.xlsx"
    assert (office / "存档").is_dir() and (office / "状态").is_dir()
    assert {p for p in WORKBOOKS.rglob("*")} == before
    sheets = CalamineWorkbook.from_path(str(result.master)).sheet_names
    assert "总台账" in sheets and result.cases == 21


def test_validate_fill_and_deadline_as_functions(office):
    ledgers = toolkit.validate([office / "收件箱"], as_of="2010-10-20")
    assert [lg.village for lg in ledgers] == ["东村", "南村"]
    assert sum(lg.errors for lg in ledgers) == 2
    assert toolkit.deadline("2010-07-01", workdays=60).date == date(2010, 9, 25)
    results = toolkit.fill([office / "收件箱" / "东村信访积案台账.xlsx"], as_of="2010-10-20")
    assert results[0].ok and results[0].backup is not None


@pytest.mark.parametrize("argv", [
    ["validate", "收件箱"], ["fill", "收件箱/东村信访积案台账.xlsx"], ["consolidate"],
    ["deadline", "2010-07-01", "--workdays", "60"], ["template", "--out", "模板.xlsx"]])
def test_a_broken_settings_workbook_exits_2_in_every_command(office, argv, capsys):
    (office / "设置.xlsx").write_bytes(b"not a workbook")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "设置" in err and "Traceback" not in err


def test_a_missing_config_file_exits_2_in_every_command(office, capsys):
    for argv in (["validate", "收件箱"], ["consolidate"], ["fetch-mail"], ["fill", "x.xlsx"]):
        assert main([*argv, "--config", "没有.toml"]) == 2
        assert "找不到配置文件" in capsys.readouterr().err
