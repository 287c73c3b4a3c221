"""The daily run: rebuild the township master every morning, unattended.

``taizhang daily`` (or ``python run_daily.py`` in a checkout) stays running and
consolidates once a day at ``daily_time`` (taizhang.toml ``[daily] time``) with
``schedule``; ``taizhang daily --once`` runs now and exits (exit 0 when the master was
written); ``--once --if-due`` is what Windows Task Scheduler runs. What ``schedule`` alone does not give, this module adds:

- the job is wrapped: an exception is logged and retried later, never fatal;
- at most one successful run a day: a stamp file in the state folder;
- catch-up: at start-up (and every few minutes) a run missed today after the
  daily time is made up;
- no overlap with a run from the command line or an Excel button: the run
  lock of :mod:`toolkit.pipeline.consolidate` (a second caller is told, and retried);
- a rotating UTF-8 log under the logs folder.

With mail configured, incoming mail is fetched first (``toolkit.pipeline.mail``); a
failure there is logged and the consolidation still runs. On the weekdays of
``[daily] remind`` the villages to chase are mailed after the consolidation
(``toolkit.pipeline.remind``; at most once a day per village).
"""
from __future__ import annotations

import logging
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

from toolkit import api
from toolkit.core.config import Config, ConfigError
from toolkit.core.daily_state import DAILY_STAMP, last_success, mark_success, next_run, parse_time
from toolkit.core.files import RunBusy
from toolkit.core.logs import clerk_message, setup_logging

log = logging.getLogger("taizhang.daily")
STAMP_NAME = DAILY_STAMP
RETRY_AFTER_ERROR = timedelta(minutes=30)
RETRY_WHEN_BUSY = timedelta(minutes=5)
CHECK_EVERY_MINUTES = 5


class DailyJob:
    """One consolidation a day; ``clock`` and ``runner`` can be replaced in tests."""

    def __init__(self, cfg: Config, *, clock: Callable[[], datetime] = datetime.now,
                 runner: Callable[[], object] | None = None) -> None:
        self.cfg = cfg
        self.clock = clock
        self.runner = runner or self.consolidate
        self.hour, self.minute = parse_time(cfg.daily_time)
        self.not_before: datetime | None = None   # after a failure: when to try again
        self.last_error = ""                      # Chinese, for --once
        self.stamp = Path(cfg.state) / STAMP_NAME
        self._said_done: date | None = None

    # --- the once-a-day stamp ----------------------------------------------------
    def last_success(self) -> date | None:
        return last_success(self.cfg.state)

    def next_run(self) -> datetime:
        if self.not_before is not None and self.last_success() != self.clock().date():
            return self.not_before
        return next_run(self.cfg.daily_time, self.last_success(), self.clock())

    def _mark_success(self, day: date) -> None:
        mark_success(self.cfg.state, day)

    def due(self, now: datetime | None = None) -> bool:
        """Past today's time, not yet done today, and not waiting to retry."""
        now = now or self.clock()
        start = now.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if now < start or self.last_success() == now.date():
            return False
        return self.not_before is None or now >= self.not_before

    # --- running -------------------------------------------------------------------
    def run_if_due(self) -> object | None:
        if self.due():
            return self.run()
        now = self.clock()
        if self.last_success() == now.date() and self._said_done != now.date():
            self._said_done = now.date()          # once a day, not every five minutes
            log.info("今天已汇总，下次汇总：%s", self.next_run().strftime("%Y-%m-%d %H:%M"))
        return None

    def run(self) -> object | None:
        """Run once, whatever happens inside; the result, or None after a failure."""
        started = self.clock()
        log.info("开始汇总")
        try:
            result = self.runner()
        except RunBusy as e:
            self.not_before = started + RETRY_WHEN_BUSY
            self.last_error = str(e)
            log.warning("%s 将于 %s 重试。", e, self.not_before.strftime("%H:%M"))
            return None
        except Exception as e:   # never let the scheduler die
            self.not_before = started + RETRY_AFTER_ERROR
            text, _ = clerk_message(e, self.cfg.logs, "daily.log")
            self.last_error = f"汇总失败：{text}"
            log.error("%s 将于 %s 重试。", self.last_error, self.not_before.strftime("%H:%M"))
            return None
        if getattr(result, "written", False):
            self._mark_success(started.date())
            self.not_before = None
            log.info("汇总完成：%s", getattr(result, "summary_text", lambda: result)())
            log.info("下次汇总：%s", self.next_run().strftime("%Y-%m-%d %H:%M"))
        else:
            self.not_before = started + RETRY_AFTER_ERROR
            log.error("汇总未写出总台账；将于 %s 重试。", self.not_before.strftime("%H:%M"))
        return result

    def consolidate(self):
        """The real job: fetch mail when configured, then rebuild the master."""
        settings = api.load_settings(config=self.cfg)
        fetch_mail_if_configured(self.cfg, settings)
        result = api.consolidate(config=self.cfg, settings=settings)
        if result.written:
            write_brief_if_possible(result, self.cfg)
        remind_if_due(self.cfg, settings, self.clock().date())
        return result

    def serve(self, *, sleep: Callable[[float], None] = time.sleep,
              stop: Callable[[], bool] = lambda: False) -> None:
        """Run forever: at the daily time, plus catch-up and retries every few minutes."""
        import schedule
        sched = schedule.Scheduler()
        sched.every().day.at(f"{self.hour:02d}:{self.minute:02d}").do(self.run_if_due)
        sched.every(CHECK_EVERY_MINUTES).minutes.do(self.run_if_due)
        self.run_if_due()                      # catch up a run missed before start-up
        while not stop():
            try:
                sched.run_pending()
            except Exception:                  # pragma: no cover - run_if_due catches all
                log.exception("定时任务出错")
            sleep(30)


def fetch_mail_if_configured(cfg: Config, settings) -> None:
    """Fetch villages' mail first; a missing module or a mail failure never stops the run."""
    if not cfg.mail.enabled:
        return
    try:
        result = api.fetch_mail(config=cfg, settings=settings)
    except Exception as e:
        log.exception("收取邮件失败（%s），本次只汇总收件夹和已存档的报送。", e)
        return
    text = result.summary_text()
    if result.exit_code:
        log.warning("收取邮件有问题，本次照常汇总：\n%s", text)
    else:
        log.info("%s", text)


def write_brief_if_possible(result, cfg: Config) -> None:
    """The leader's 简报 PDF beside the master; without LibreOffice only the 简报 sheet."""
    if not api.can_write_pdf():
        log.info("未安装 LibreOffice：简报只在总台账的“简报”表中，未另存 PDF。")
        return
    try:
        log.info("简报已写入：%s", api.write_brief(result, config=cfg))
    except Exception as e:       # the master is written; a PDF problem must not fail the run
        log.warning("简报 PDF 未能写出（%s），总台账中的“简报”表不受影响。", e)
def remind_if_due(cfg: Config, settings, today: date) -> object | None:
    """On the weekdays of [daily] remind, send 催报 mail (once a day); never stops the run."""
    if today.weekday() not in cfg.daily_remind:
        return None
    if not cfg.mail.smtp_host:
        log.warning("[daily] remind 设置了催报日，但 [mail] 没有配置发件服务器 smtp_host，本次不发催报邮件。")
        return None
    try:
        result = api.remind(config=cfg, settings=settings, send=True)
    except Exception as e:
        log.exception("催报失败（%s），汇总不受影响。", e)
        return None
    (log.warning if result.exit_code else log.info)("催报：\n%s", result.summary_text())
    return result


def run_daily(*, once: bool = False, if_due: bool = False, config_path: str | None = None) -> int:
    """`taizhang daily [--once [--if-due]]` (and `python run_daily.py`): resident, or one run now.

    Exit codes: 0 written (or, with --if-due, nothing due today); 1 no master written or another
    run busy; 2 could not start (a bad option, config or settings)."""
    if if_due and not once:
        print("--if-due 只能与 --once 一起用（任务计划：taizhang daily --once --if-due）；"
              "单独用会启动常驻的每日汇总，不会退出。", file=sys.stderr)
        return 2
    try:
        cfg = api.load_config(config_path)
        job = DailyJob(cfg)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return e.exit_code
    notice = api.demo_notice(cfg, consolidating=True)
    if notice:
        print(notice)
    logfile = setup_logging(cfg.logs, "daily.log")
    if not once:
        return _serve(job, cfg, logfile)
    if if_due and not job.due():
        text = (f"今天（{job.clock().date().isoformat()}）已汇总过或未到 {cfg.daily_time}，本次不汇总；"
                f"下次汇总：{job.next_run():%Y-%m-%d %H:%M}。")
        log.info("%s", text)
        print(text)
        return 0
    result = job.run()
    if result is None:
        print(f"{job.last_error}\n汇总未完成，详情见日志 {logfile}。", file=sys.stderr)
        return 1
    print(result.summary_text())
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    """``python run_daily.py ARGS`` is ``taizhang daily ARGS`` (kept for checkouts and for
    task-scheduler entries made before the daily command existed)."""
    from toolkit.shells.cli import main as taizhang
    return taizhang(["daily", *(sys.argv[1:] if argv is None else argv)])


def _serve(job: DailyJob, cfg: Config, logfile: Path) -> int:
    text = (f"每日汇总已启动：每天 {job.hour:02d}:{job.minute:02d} 汇总到 {cfg.master}；"
            f"配置 {cfg.source or '演示'}；下次汇总：{job.next_run():%Y-%m-%d %H:%M}。")
    log.info("%s", text)
    print(f"{text}日志在 {logfile}。按 Ctrl+C 结束。")
    try:
        job.serve()
    except KeyboardInterrupt:
        print("已结束。")
    finally:
        log.info("每日汇总已停止。")
    return 0
