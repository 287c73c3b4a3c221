"""A new township office's setup, as it would meet it: the demo sealed off, a strict
taizhang.toml, `taizhang doctor`, roster discipline and the daily runner's options."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import toolkit
from toolkit import api
from toolkit.core.config import PROJECT_ROOT, ConfigError, read_config
from toolkit.core.settings import RosterEntry
from toolkit.core.settings_workbook import create_settings_workbook
from toolkit.shells.cli import main

DEMO_FILES = Path(toolkit.__file__).parent / "demo" / "inbox"
TWO = ("东村信访积案台账.xlsx", "南村台账10.15.xlsx")     # 12 + 9 cases


@pytest.fixture
def demo_home():
    """The demo's home: a throw-away folder for every test (tests/conftest.py)."""
    return api.DEMO_HOME


def new_office(folder: Path, toml: str = "", files=TWO) -> Path:
    """An office folder: taizhang.toml (only what is given) and an inbox with some ledgers."""
    (folder / "收件箱").mkdir(parents=True)
    for name in files:
        shutil.copyfile(DEMO_FILES / name, folder / "收件箱" / name)
    (folder / "taizhang.toml").write_text(toml, encoding="utf-8")
    return folder


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


# --- the demo is sealed off ----------------------------------------------------------
def test_demo_and_office_never_share_archive_state_or_roster(demo_home, tmp_path, capsys):
    demo = toolkit.consolidate()                                  # no taizhang.toml: the demo
    assert demo.written and demo.cases == 91 and demo.master.is_relative_to(demo_home)
    assert (demo_home / "存档").is_dir() and (demo_home / "设置.xlsx").is_file()
    office = new_office(tmp_path / "南郊乡", '[daily]\ntime = "07:30"\n')
    os.chdir(office)
    real = toolkit.consolidate(as_of="2010-10-20")
    assert real.cases == 21 and real.master == office / "输出" / "总台账.xlsx"
    assert real.missing_villages == [] and not real.not_on_roster    # starts empty: no demo roster
    assert (office / "存档").is_dir() and (office / "状态").is_dir()
    assert set(reports(real.master)) == {"东村", "南村"}
    os.chdir(tmp_path)
    again = toolkit.consolidate()                                 # the demo still shows the demo
    assert again.cases == 91 and again.missing_villages == ["新桥村"]


def test_a_fresh_demo_home_is_made_when_installed(tmp_path, monkeypatch):
    from toolkit.core import config
    monkeypatch.delenv("TAIZHANG_DEMO_HOME", raising=False)
    monkeypatch.setattr(config, "WORKBOOKS", tmp_path / "site-packages" / "workbooks")   # no checkout
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert config.demo_home() == tmp_path / "share" / "taizhang" / "demo"
    monkeypatch.undo()
    monkeypatch.delenv("TAIZHANG_DEMO_HOME", raising=False)
    assert config.demo_home() == PROJECT_ROOT / "workbooks" / "demo"


def test_office_defaults_sit_beside_the_toml(tmp_path):
    office = new_office(tmp_path / "乡", '[paths]\nmaster = "汇总/总台账.xlsx"\n')
    cfg = read_config(office / "taizhang.toml")
    assert cfg.inbox == office / "收件箱" and cfg.master == office / "汇总" / "总台账.xlsx"
    assert cfg.archive == office / "存档" and cfg.settings_workbook == office / "设置.xlsx"
    assert not any("site-packages" in str(getattr(cfg, k)) or str(getattr(cfg, k)).startswith(
        str(PROJECT_ROOT / "workbooks")) for k in ("inbox", "archive", "state", "logs", "settings_workbook"))


# --- strict taizhang.toml -------------------------------------------------------------
@pytest.mark.parametrize("toml, words", [
    ('inbox = "收件箱"\n', ["第 1 行", "“inbox”", "[paths]"]),
    ('[paths]\nmaster = "a.xlsx"\n\n[path]\ninbox = "x"\n', ["第 4 行", "[path]", "[paths]"]),
    ('[Daily]\ntime = "07:00"\n', ["第 1 行", "[Daily]", "[daily]"]),
    ('[paths]\ninbx = "收件箱"\n', ["第 2 行", "“inbx”", "“inbox”"]),
    ('[mail]\nhost = "imap.163.com"\nsmtp_hots = "smtp.163.com"\n', ["第 3 行", "smtp_hots", "smtp_host"]),
    ('[mail]\nport = "九九三"\n', ["[mail] port", "整数"]),
    ('[paths\ninbox = "x"\n', ["第 1 行", "格式不对"]),
])
def test_a_mistake_in_the_toml_names_line_key_and_nearest(tmp_path, capsys, toml, words):
    office = new_office(tmp_path / "乡", toml)
    with pytest.raises(ConfigError) as e:
        read_config(office / "taizhang.toml")
    for w in words:
        assert w in str(e.value)
    os.chdir(office)
    code, out, err = run(["consolidate"], capsys)                  # never the demo instead
    assert code == 2 and words[0] in err and "总台账已写入" not in out


def test_windows_backslashes_get_the_two_working_spellings(tmp_path):
    office = new_office(tmp_path / "乡", '[paths]\ninbox = "D:\\信访台账\\收件箱"\nlogs = "D:\\new"\n')
    with pytest.raises(ConfigError) as e:
        read_config(office / "taizhang.toml")
    text = str(e.value)
    assert "第 2 行" in text and "inbox = 'D:\\信访台账\\收件箱'" in text and 'inbox = "D:/信访台账/收件箱"' in text
    (office / "taizhang.toml").write_text("[paths]\ninbox = 'D:\\信访台账\\收件箱'\n", encoding="utf-8")
    assert str(read_config(office / "taizhang.toml").inbox).endswith("D:\\信访台账\\收件箱")


def test_a_named_file_that_is_missing_is_an_error(tmp_path, capsys, demo_home):
    office = new_office(tmp_path / "乡")
    os.chdir(office)
    code, _, err = run(["consolidate", "--settings", "没有.xlsx"], capsys)
    assert code == 2 and "找不到--settings 指定的设置工作簿" in err
    code, _, err = run(["fetch-mail", "--config", str(tmp_path / "没有.toml")], capsys)
    assert code == 2 and "找不到配置文件" in err
    daily = subprocess.run([sys.executable, str(PROJECT_ROOT / "run_daily.py"), "--once", "--config",
                            str(tmp_path / "没有.toml")], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert daily.returncode == 2 and "找不到配置文件" in daily.stderr and not any(demo_home.iterdir())


def test_consolidate_takes_the_inbox_from_the_toml(tmp_path, capsys):
    office = new_office(tmp_path / "乡", '[daily]\nas_of = "2010-10-20"\n')
    os.chdir(tmp_path)
    code, out, _ = run(["consolidate", "--config", str(office / "taizhang.toml")], capsys)
    assert code == 0 and "共 21 件" in out and str(office / "输出" / "总台账.xlsx") in out


# --- roster discipline ------------------------------------------------------------------
def office_with_roster(tmp_path: Path, villages) -> Path:
    office = new_office(tmp_path / "乡", '[daily]\nas_of = "2010-10-20"\n')
    create_settings_workbook(office / "设置.xlsx", roster=tuple(RosterEntry(v, "", ()) for v in villages))
    os.chdir(office)
    return office


def sheet_rows(path: Path, name: str) -> list[list]:
    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(name).to_python()


def reports(master: Path) -> dict[str, str]:
    """报送情况 as village -> the row's text (rows below the header row)."""
    rows = sheet_rows(master, "报送情况")
    head = next(i for i, r in enumerate(rows) if "村（社区）" in r)
    col = rows[head].index("村（社区）")
    return {r[col]: " ".join(map(str, r)) for r in rows[head + 1:] if r[col]}


def test_a_village_not_on_the_roster_is_held_with_the_nearest_until_assigned(tmp_path, capsys):
    office_with_roster(tmp_path, ["东村", "南湾村", "新桥村"])
    code, out, _ = run(["consolidate"], capsys)
    assert code == 0 and "暂存待核：南村台账10.15.xlsx" in out and "最接近的是“南湾村”" in out
    assert "已报 1 个村（社区），未报 2 个：南湾村、新桥村" in out      # 已报 + 未报 = the roster
    result = json.loads(run(["consolidate", "--json"], capsys)[1])
    assert result["villages_not_on_roster"] == [{"village": "南村", "file": "南村台账10.15.xlsx", "nearest": "南湾村"}]
    assert [v["village"] for v in result["villages"]] == ["东村"] and result["cases"] == 12
    (held,) = result["held"]
    master = Path(result["master"])
    waiting = [r for r in sheet_rows(master, "报送情况") if r[2] == "暂存待核"]
    assert len(waiting) == 1 and "南村台账10.15.xlsx" in waiting[0] and "南村" not in reports(master)
    assert f"taizhang assign {held['id']} --village" in " ".join(map(str, waiting[0]))
    # the clerk says it is 南湾村's: it counts from the next consolidation
    code, out, _ = run(["assign", str(held["id"]), "--village", "南湾村", "--by", "王芳"], capsys)
    assert code == 0 and "归入南湾村" in out
    result = json.loads(run(["consolidate", "--json"], capsys)[1])
    assert [v["village"] for v in result["villages"]] == ["东村", "南湾村"] and result["cases"] == 21
    assert result["held"] == [] and result["missing_villages"] == ["新桥村"]
    rows = sheet_rows(Path(result["master"]), "总台账")
    assert sum(1 for r in rows if "南湾村" in r) == 9
    assert "王芳" in reports(Path(result["master"]))["南湾村"]


def test_a_file_gone_from_the_inbox_is_shown_with_what_counts_instead(tmp_path, capsys):
    office = office_with_roster(tmp_path, ["东村", "南村"])
    assert run(["consolidate"], capsys)[0] == 0
    (office / "收件箱" / "南村台账10.15.xlsx").unlink()
    result = json.loads(run(["consolidate", "--json"], capsys)[1])
    assert result["cases"] == 21                                   # the archived copy still counts ...
    (gone,) = result["files_gone_from_inbox"]                            # ... and the run says so
    assert gone["village"] == "南村" and gone["file"] == "南村台账10.15.xlsx"
    code, out, _ = run(["consolidate"], capsys)
    assert "文件已不在收件箱：南村的“南村台账10.15.xlsx”，总台账仍采用存档中的这份文件" in out
    assert "已不在收件箱" in reports(Path(result["master"]))["南村"]
    issues = " ".join(" ".join(map(str, r)) for r in sheet_rows(Path(result["master"]), "校验问题"))
    assert "gone_from_inbox" in issues and "已不在收件箱中，总台账仍采用存档中的这份文件" in issues


# --- run_daily.py ------------------------------------------------------------------------
def daily(args, cwd: Path, **env):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "run_daily.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env})


def test_if_due_without_once_is_refused(tmp_path):
    got = daily(["--if-due"], tmp_path)
    assert got.returncode == 2 and "--if-due 只能与 --once 一起用" in got.stderr


def test_the_daily_log_tells_each_run_skip_and_next_time(tmp_path):
    office = new_office(tmp_path / "乡", '[daily]\ntime = "00:00"\nas_of = "2010-10-20"\n')
    first = daily(["--once", "--if-due"], office)
    assert first.returncode == 0, first.stderr
    second = daily(["--once", "--if-due"], office)
    assert second.returncode == 0 and "本次不汇总" in second.stdout and "下次汇总" in second.stdout
    log = (office / "日志" / "daily.log").read_text(encoding="utf-8")
    for words in ("开始汇总", "汇总完成", "下次汇总", "本次不汇总"):
        assert words in log


def test_the_resident_runner_logs_start_skip_next_run_and_stop(tmp_path):
    import signal
    import time
    from datetime import date
    office = new_office(tmp_path / "乡", '[daily]\ntime = "00:00"\n')
    (office / "状态").mkdir()
    (office / "状态" / "daily_last_success.txt").write_text(date.today().isoformat(), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "run_daily.py")], cwd=office, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    log = office / "日志" / "daily.log"
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and "今天已汇总" not in (log.read_text(encoding="utf-8") if log.exists() else ""):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text(encoding="utf-8")
    assert "每日汇总已启动" in text and "今天已汇总，下次汇总" in text and "每日汇总已停止" in text
    assert "已结束" in out and proc.returncode == 0


def test_an_office_taking_only_mail_or_uploads_needs_no_inbox_folder(tmp_path, monkeypatch, capsys):
    """The 收件箱 beside taizhang.toml is the office's own folder: made when missing, as the others
    are (the daily run of an office whose villages only e-mail or upload must not fail). An inbox
    the toml names is never made: a missing one is a wrong path, and the clerk is told."""
    office = tmp_path / "乡"
    office.mkdir()
    (office / "taizhang.toml").write_text('[daily]\nas_of = "2010-10-20"\n', encoding="utf-8")
    monkeypatch.chdir(office)
    report = api.doctor(config=str(office / "taizhang.toml"), connect_mail=False).to_dict()
    inbox_line = next(c for c in report["checks"] if c["item"] == "收件箱")
    assert inbox_line["status"] == "正常" and "首次运行时建立" in inbox_line["detail"]
    assert main(["consolidate"]) == 0
    assert (office / "收件箱").is_dir() and (office / "输出" / "总台账.xlsx").is_file()
    capsys.readouterr()
    (office / "taizhang.toml").write_text('[paths]\ninbox = "收件厢"\n[daily]\nas_of = "2010-10-20"\n',
                                          encoding="utf-8")
    assert main(["consolidate"]) == 1
    assert "收件厢" in capsys.readouterr().err and not (office / "收件厢").exists()
