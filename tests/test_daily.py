"""The daily job: once a day, catch-up, never dies, no overlap; run in-process with a fake clock."""
from __future__ import annotations

import logging
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from conftest import needs_soffice
from toolkit import api
from toolkit.core.config import PROJECT_ROOT, Config
from toolkit.core.files import run_lock
from toolkit.core.logs import setup_logging
from toolkit.core.settings import Settings
from toolkit.shells.daily import DailyJob, fetch_mail_if_configured


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Done:
    written = True

    def summary_text(self) -> str:
        return "总台账已写入"


@pytest.fixture
def cfg(tmp_path) -> Config:
    return Config(inbox=tmp_path / "inbox", master=tmp_path / "output" / "总台账.xlsx",
                  archive=tmp_path / "archive", logs=tmp_path / "logs", state=tmp_path / "state",
                  settings_workbook=tmp_path / "设置.xlsx", daily_time="07:30")


def job_with(cfg, clock, runner):
    calls = []

    def run():
        calls.append(clock())
        return runner()
    return DailyJob(cfg, clock=clock, runner=run), calls


def test_at_most_once_a_day(cfg):
    clock = Clock(datetime(2010, 10, 20, 7, 0))
    job, calls = job_with(cfg, clock, Done)
    assert not job.due() and job.run_if_due() is None
    clock.now = datetime(2010, 10, 20, 7, 30)
    assert job.due()
    assert job.run_if_due() is not None and job.last_success() == date(2010, 10, 20)
    clock.now = datetime(2010, 10, 20, 23, 59)
    assert job.run_if_due() is None
    clock.now = datetime(2010, 10, 21, 7, 29)
    assert not job.due()
    clock.now = datetime(2010, 10, 21, 7, 30)
    assert job.run_if_due() is not None
    assert len(calls) == 2
    # the stamp outlives the process: a new job on the same day does not run again
    again, _ = job_with(cfg, clock, Done)
    assert not again.due()


def test_catch_up_at_start_up(cfg):
    clock = Clock(datetime(2010, 10, 20, 10, 15))     # the PC was off at 07:30
    job, calls = job_with(cfg, clock, Done)
    job.serve(sleep=lambda s: None, stop=lambda: True)
    assert calls == [datetime(2010, 10, 20, 10, 15)]
    restarted, calls2 = job_with(cfg, clock, Done)
    restarted.serve(sleep=lambda s: None, stop=lambda: True)
    assert calls2 == []


def test_an_exception_inside_the_job_does_not_escape(cfg, caplog):
    clock = Clock(datetime(2010, 10, 20, 7, 30))

    def boom():
        raise RuntimeError("磁盘已满")
    job, calls = job_with(cfg, clock, boom)
    with caplog.at_level(logging.ERROR, logger="taizhang.daily"):
        assert job.run_if_due() is None
    assert "汇总失败" in caplog.text and "磁盘已满" in job.last_error
    assert job.last_success() is None
    clock.now += timedelta(minutes=10)
    assert not job.due()                                 # waits before retrying
    clock.now += timedelta(minutes=25)
    assert job.due()
    job.runner = Done
    assert job.run_if_due() is not None and job.last_success() == date(2010, 10, 20)


def test_a_run_from_the_cli_or_a_button_blocks_the_job(cfg):
    clock = Clock(datetime(2010, 10, 20, 7, 30))
    job, calls = job_with(cfg, clock, lambda: api.consolidate(config=cfg, settings=Settings(), lock_timeout=0.1))
    with run_lock(cfg.state):                           # someone else is consolidating
        assert job.run() is None
    assert "另一汇总正在进行" in job.last_error and job.last_success() is None
    assert job.not_before == clock.now + timedelta(minutes=5)


def test_mail_failure_is_not_fatal_and_problems_are_logged(cfg, monkeypatch, caplog):
    cfg.mail.host = "imap.example.com"
    def fetch_mail(**kw):
        raise OSError("连接被拒绝")
    monkeypatch.setattr(api, "fetch_mail", fetch_mail)
    with caplog.at_level(logging.ERROR, logger="taizhang.daily"):
        fetch_mail_if_configured(cfg, Settings())
    assert "收取邮件失败" in caplog.text

    class Result:                                   # fetch_mail's answer when IMAP refuses
        exit_code = 2
        def summary_text(self):
            return "无法连接邮箱 imap.example.com"
    monkeypatch.setattr(api, "fetch_mail", lambda **kw: Result())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="taizhang.daily"):
        fetch_mail_if_configured(cfg, Settings())
    assert "无法连接邮箱 imap.example.com" in caplog.text


def test_log_is_utf8_and_rotating(cfg):
    path = setup_logging(cfg.logs, "daily.log")
    root = logging.getLogger("taizhang")
    try:
        logging.getLogger("taizhang.daily").info("东村台账已汇总")
        for h in root.handlers:
            h.flush()
        assert "东村台账已汇总" in path.read_text(encoding="utf-8")
    finally:
        for h in list(root.handlers):
            if getattr(h, "baseFilename", None) == str(path.resolve()):
                root.removeHandler(h)
                h.close()


@pytest.mark.slow
def test_run_daily_once_writes_the_master(tmp_path):
    from factories.layouts import sample_cases, write_ledger
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    write_ledger(inbox / "东村.xlsx", sample_cases(2, "东村"), reporter="东村")
    toml = tmp_path / "taizhang.toml"
    toml.write_text('[paths]\ninbox = "收件箱"\nmaster = "输出/总台账.xlsx"\narchive = "存档"\n'
                    'logs = "日志"\nstate = "状态"\nsettings_workbook = "设置.xlsx"\n'
                    '[daily]\ntime = "00:00"\nas_of = "2010-10-20"\n', encoding="utf-8")
    cmd = [sys.executable, str(PROJECT_ROOT / "run_daily.py"), "--once", "--config", str(toml)]
    first = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", timeout=300,
                           cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    master = tmp_path / "输出" / "总台账.xlsx"
    assert str(master) in first.stdout and "逾期 2 件" in first.stdout
    assert master.exists() and (tmp_path / "状态" / "daily_last_success.txt").exists()
    assert "汇总完成" in (tmp_path / "日志" / "daily.log").read_text(encoding="utf-8")
    again = subprocess.run(cmd + ["--if-due"], capture_output=True, text=True, encoding="utf-8",
                           timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and "已汇总过" in again.stdout


@needs_soffice
def test_the_real_job_writes_the_master_and_the_brief_pdf(tmp_path):
    import shutil
    from pathlib import Path

    import toolkit
    demo = Path(toolkit.__file__).parent / "demo" / "inbox"
    cfg = Config(inbox=tmp_path / "inbox", master=tmp_path / "out" / "总台账.xlsx", archive=tmp_path / "archive",
                 logs=tmp_path / "logs", state=tmp_path / "state", settings_workbook=tmp_path / "设置.xlsx",
                 as_of=date(2010, 10, 20))
    cfg.inbox.mkdir()
    shutil.copyfile(demo / "东村信访积案台账.xlsx", cfg.inbox / "东村信访积案台账.xlsx")
    result = DailyJob(cfg).run()
    assert result.written and result.cases == 12
    assert (tmp_path / "out" / "总台账_简报.pdf").stat().st_size > 5000
