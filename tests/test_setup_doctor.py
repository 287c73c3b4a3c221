"""`taizhang doctor` (and the 检查安装 button, through the same api.doctor) as a new office runs it."""
# (Named to sort after test_intake_sandbox.py: the session Dovecot started here is a child of
# pytest, and that file counts pytest's children to prove no reader worker is left behind.)
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

import mailserver
from mailserver import PASSWORD_ENV
from toolkit import api
from toolkit.core.settings_workbook import create_settings_workbook
from toolkit.demo import DEMO_ROSTER
from toolkit.pipeline.doctor import DAILY_STAMP, next_run
from toolkit.shells.cli import main


# the real IMAP (Dovecot) and SMTP (aiosmtpd) servers on 127.0.0.1, as fixtures of this module
dovecot_server, smtp_server = mailserver.dovecot_server, mailserver.smtp_server
mailbox, outbox = mailserver.mailbox, mailserver.outbox


def office(folder: Path, toml: str = "") -> Path:
    (folder / "收件箱").mkdir(parents=True)
    (folder / "taizhang.toml").write_text(toml, encoding="utf-8")
    os.chdir(folder)
    return folder


def doctor(capsys, *args) -> tuple[int, str]:
    code = main(["doctor", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_new_office_sees_every_path_and_an_empty_roster(tmp_path, capsys):
    home = office(tmp_path / "南郊乡")
    code, text = doctor(capsys)
    assert code == 0, text
    assert f"[正常] 配置文件：{home / 'taizhang.toml'}" in text
    for path in ("收件箱", "输出/总台账.xlsx", "存档", "日志", "状态"):
        assert str(home / path) in text
    assert "[注意] 村名册：空" in text and "[注意] 设置工作簿" in text
    assert "法定节假日：已知 2004–" in text and "每日汇总：每天 07:30；上次成功：从未" in text
    assert "没有发现会让每日汇总失败的问题" in text


def test_what_would_break_tomorrow_exits_1(tmp_path, capsys):
    home = office(tmp_path / "乡", '[paths]\ninbox = "没有的收件箱"\narchive = "说明.txt/存档"\n'
                                  '[daily]\nas_of = "2031-05-01"\n')
    (home / "说明.txt").write_text("不是文件夹", encoding="utf-8")
    code, text = doctor(capsys)
    assert code == 1
    assert f"[问题] 收件箱：{home / '没有的收件箱'}（不存在" in text
    assert "[问题] 来件存档" in text and "不可写入" in text
    assert "[问题] 法定节假日" in text and "不知道 2031 年" in text
    assert "有 3 处问题" in text


def test_the_demo_roster_in_a_real_office_is_loud(tmp_path, capsys):
    home = office(tmp_path / "乡")
    create_settings_workbook(home / "设置.xlsx", roster=DEMO_ROSTER)
    code, text = doctor(capsys, "--json")
    report = json.loads(text)
    assert code == 1 and report["exit_code"] == 1 and report["config"] == str(home / "taizhang.toml")
    (roster,) = [c for c in report["checks"] if c["item"] == "村名册"]
    assert roster["status"] == "问题" and "仍是演示名册" in roster["detail"]
    assert set(report) == {"config", "demo", "checks", "exit_code"}


def test_a_missing_settings_file_or_config_is_exit_2(tmp_path, capsys):
    office(tmp_path / "乡")
    code, text = doctor(capsys, "--settings", "没有.xlsx")
    assert code == 1 and "[问题] 设置工作簿：找不到--settings 指定的设置工作簿" in text
    code, text = doctor(capsys, "--config", str(tmp_path / "没有.toml"))
    assert code == 2 and "找不到配置文件" in text


def test_next_run_follows_the_stamp(tmp_path):
    now = datetime(2010, 10, 20, 9, 0)
    assert next_run("07:30", None, now) == now                            # missed today: now
    assert next_run("07:30", now.date(), now) == datetime(2010, 10, 21, 7, 30)
    assert next_run("10:00", None, now) == datetime(2010, 10, 20, 10, 0)
    home = office(tmp_path / "乡", '[daily]\ntime = "10:00"\n')
    (home / "状态").mkdir()
    (home / "状态" / DAILY_STAMP).write_text("2010-10-19", encoding="utf-8")
    assert "上次成功：2010-10-19" in api.doctor().text()


@pytest.mark.mail
def test_mail_servers_are_logged_into(tmp_path, capsys, mailbox, outbox, monkeypatch):
    mail = (f'[mail]\nhost = "127.0.0.1"\nport = {mailbox.port}\nsecurity = "plain"\nuser = "{mailbox.user}"\n'
            f'password_env = "{PASSWORD_ENV}"\nsmtp_host = "127.0.0.1"\nsmtp_port = {outbox.port}\n'
            'smtp_security = "plain"\ntimeout = 10\n')
    office(tmp_path / "乡", mail)
    code, text = doctor(capsys)
    assert code == 0, text
    assert "[正常] 收件服务器：能连接并登录" in text and "[正常] 发件服务器：能连接并登录" in text
    monkeypatch.setenv(PASSWORD_ENV, "错误的密码")
    code, text = doctor(capsys)
    assert code == 1 and "[问题] 收件服务器" in text and "拒绝登录" in text
    monkeypatch.delenv(PASSWORD_ENV)
    code, text = doctor(capsys, "--no-connect")
    assert code == 0 and "收件服务器" not in text and f"127.0.0.1:{mailbox.port}" in text
