"""催报: which roster villages to chase, the printable 催报单, and one e-mail per village.

A village is chased when nothing of it counts since ``since`` (default: the as-of
date minus the campaign's 报送周期), when its latest file could not be used, when
the file that counts has errors, or when it has overdue cases. What counts, and the
counted file checked for the date, come from the judge (``toolkit.pipeline.judge``),
as for a consolidation.

With ``send`` each chased village with an address on the roster gets one message;
what was sent is kept in the mail state (state/mail.sqlite, table ``reminders``)
by village and calendar day, so a second run the same day sends nothing twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from toolkit.core.config import Config, ConfigError
from toolkit.core.errors import EXIT_ATTENTION, EXIT_OK
from toolkit.core.fields import ALERT_OVERDUE
from toolkit.core.files import RunBusy, run_lock
from toolkit.core.issues import ERROR
from toolkit.core.settings import Settings
from toolkit.intake.archive import SubmissionArchive
from toolkit.intake.mail.state import MailState
from toolkit.intake.mail.transport import SmtpError, SmtpSession, is_permanent, refusal_text
from toolkit.outputs.receipt import quote_issue, receipt_bytes
from toolkit.outputs.reminder import Chase, build_reminder, overdue_line, write_reminder_sheet
from toolkit.pipeline.judge import judge
from toolkit.pipeline.parse_cache import ParseCache
from toolkit.pipeline.sending import from_address

log = logging.getLogger("taizhang.remind")
SHEET_NAME = "催报单.xlsx"
LOCK_WAIT = 60.0


@dataclass
class RemindResult:
    """What one run found and did; ``to_dict()`` is the JSON of ``taizhang remind --json``."""
    as_of: date
    since: date
    sheet: Path | None = None
    send: bool = False
    chases: list[Chase] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)            # villages mailed in this run
    already_sent: list[str] = field(default_factory=list)    # mailed earlier today: not again
    failed: dict[str, str] = field(default_factory=dict)     # village -> why not sent
    problems: list[str] = field(default_factory=list)
    roster_empty: bool = False                               # nobody to chase: said, not "all on time"

    @property
    def exit_code(self) -> int:
        return EXIT_ATTENTION if (self.failed or self.problems) else EXIT_OK

    def to_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "since": self.since.isoformat(),
                "sheet": None if self.sheet is None else str(self.sheet), "send": self.send,
                "villages": [_chase_dict(c, self) for c in self.chases],
                "sent": len(self.sent), "already_sent": len(self.already_sent),
                "failed": len(self.failed), "problems": self.problems, "exit_code": self.exit_code}

    def summary_text(self) -> str:
        if self.roster_empty:
            lines = []                                        # the problem says it: nobody to chase
        elif not self.chases:
            lines = [f"截至 {self.as_of:%Y-%m-%d}，名册中的村（社区）都已按时报送，台账无错误、无逾期案件，无需催报。"]
        else:
            lines = [f"截至 {self.as_of:%Y-%m-%d}（报送起算 {self.since:%Y-%m-%d}），需催报 {len(self.chases)} 个村（社区）："]
            lines += [f"  {c.village}：{'；'.join(c.reasons(self.since))}" + (f"（{c.status}）" if c.status else "")
                      for c in self.chases]
        if self.sheet is not None:
            lines.append(f"催报单已写入：{self.sheet}")
        if self.send:
            lines.append(f"催报邮件：已发送 {len(self.sent)} 封"
                         + (f"，今天已发过 {len(self.already_sent)} 个村（不重发）" if self.already_sent else "")
                         + (f"，未能发送 {len(self.failed)} 个村" if self.failed else "") + "。")
        lines += self.problems
        return "\n".join(lines)


def _chase_dict(c: Chase, r: RemindResult) -> dict:
    return {"village": c.village, "contact": c.contact, "emails": list(c.emails),
            "last_report": c.last_report, "reasons": c.reasons(r.since), "late": c.late,
            "unusable": c.unusable, "file": c.file,
            "errors": [{"sheet": i.sheet, "cell": i.cell, "code": i.code, "text": quote_issue(i)}
                       for i in c.errors],
            "overdue": [{"case_id": o["case_id"], "deadline": o["deadline"], "text": overdue_line(o)}
                        for o in c.overdue],
            "sent": c.village in r.sent, "already_sent": c.village in r.already_sent,
            "send_error": r.failed.get(c.village)}


def remind(cfg: Config, settings: Settings, *, as_of: date, since: date | None = None,
           send: bool = False, sheet: Path | None = None) -> RemindResult:
    """Find the villages to chase, write the 催报单, and with ``send`` mail each one once a day."""
    since = since or as_of - timedelta(days=settings.campaign.report_every_days)
    result = RemindResult(as_of=as_of, since=since, send=send)
    if send and not cfg.mail.smtp_host:
        raise ConfigError(f"没有配置发件服务器：请在 {cfg.source or 'taizhang.toml'} 的 [mail] 中填写 "
                          "smtp_host、sender 等（见使用说明“邮件报送”一节，运行 taizhang guide 打开），或去掉 --send 只打印催报单。")
    if not settings.roster:
        result.roster_empty = True
        where = f"设置工作簿“{settings.source}”" if settings.source else "设置工作簿（还没有建立：运行 taizhang settings）"
        result.problems.append(f"截至 {as_of:%Y-%m-%d}：{where}的“村名册”是空的，不知道该催哪些村，没有写出催报单。"
                               "请先在“村名册”表中登记各村（社区）和邮箱。")
        return result
    result.chases = _chases(cfg, settings, as_of, since, result.problems)
    if send:
        _send(cfg, settings, result)
    target = sheet or Path(cfg.master).parent / SHEET_NAME
    try:
        result.sheet = write_reminder_sheet(target, result.chases, township=settings.campaign.township,
                                            as_of=as_of, since=since)
    except OSError as e:
        result.problems.append(f"催报单“{target}”无法写入：{e}。请关闭已打开的催报单后重试。")
    return result


def _chases(cfg: Config, settings: Settings, as_of: date, since: date, problems: list[str]) -> list[Chase]:
    """Ask the judge (under the run lock: it records what it finds) what counts for each
    roster village, then what to chase it for."""
    with run_lock(Path(cfg.state), LOCK_WAIT), SubmissionArchive(cfg.archive) as archive, \
            ParseCache(Path(cfg.state) / "parsed") as cache:
        j = judge(archive, settings, as_of=as_of, cache=cache)
    problems += j.problems          # a counted file that could not be checked is said, not "late"
    chases = []
    for entry in settings.roster:
        vs = j.standing.villages[entry.village]
        sub, last = vs.counted, vs.last
        c = Chase(entry.village, entry.contact, entry.emails,
                  last_report=sub.received if sub else None,
                  late=sub is None or sub.received[:10] < since.isoformat())
        if last is not None and last.outcome == "rejected" and not last.withdrawn \
                and (sub is None or last.order > sub.order):
            c.unusable = f"“{last.filename}”（{last.received[:10]}）{last.message or '无法读取'}"
        checked = j.checked.get(sub.id) if sub else None
        if checked is not None and checked.ledger.readable:
            c.file = sub.filename
            c.errors = [i for i in checked.ledger.issues if i.severity == ERROR]
            c.overdue = _overdue(checked)
        if c.reasons(since):
            chases.append(c)
    return chases


def _overdue(checked) -> list[dict]:
    """The counted file's overdue cases, from the judge's computed columns."""
    cases, table = checked.ledger.cases, checked.computed
    out = []
    for row in cases.index:
        if table.at[row, "alert"] != ALERT_OVERDUE:
            continue
        deadline = table.at[row, "deadline"]
        out.append({"case_id": _text(cases.at[row, "case_id"]) if "case_id" in cases else "",
                    "petitioner": _text(cases.at[row, "petitioner"]) if "petitioner" in cases else "",
                    "leader": _text(cases.at[row, "leader"]) if "leader" in cases else "",
                    "deadline": deadline.isoformat() if isinstance(deadline, date) else None})
    return out


def _text(value) -> str:
    return "" if value is None or value != value else str(value)


def _send(cfg: Config, settings: Settings, result: RemindResult) -> None:
    """One message per chased village, at most once a calendar day, under the run lock."""
    state, today = MailState(cfg.state), date.today().isoformat()
    for c in result.chases:
        if not c.emails:
            result.failed[c.village] = "名册中没有该村的电子邮箱"
            c.status = "未发送：名册中没有邮箱"
    todo = [c for c in result.chases if c.emails]
    if not todo:
        return
    try:
        with run_lock(Path(cfg.state), LOCK_WAIT), SmtpSession(cfg) as session:
            for c in todo:
                if state.reminder_sent(c.village, today):
                    result.already_sent.append(c.village)
                    c.status = "今天已发送"
                else:
                    _send_one(session, cfg, settings, result, state, today, c)
    except SmtpError as e:
        result.problems.append(f"{e} 催报邮件未发送，可稍后重新运行 taizhang remind --send。")
        for c in todo:
            if not c.status:
                result.failed[c.village], c.status = str(e), "未发送：发件服务器连不上"
    except RunBusy as e:
        result.problems.append(f"{e} 催报邮件未发送。")


def _send_one(session, cfg: Config, settings: Settings, result: RemindResult, state: MailState,
              today: str, c: Chase) -> None:
    """Mail one village (SmtpError when no session can be had); what was sent is kept."""
    sender = from_address(cfg.mail)
    msg = build_reminder(c, from_addr=sender, township=settings.campaign.township,
                         as_of=result.as_of, since=result.since)
    body = receipt_bytes(msg)
    try:
        refused = session.send(sender, list(c.emails), body)
    except SmtpError:
        raise
    except Exception as e:          # one refused address does not stop the others
        log.warning("reminder to %s: %s", c.village, e)
        if is_permanent(e):
            result.failed[c.village] = f"发件服务器拒绝：{refusal_text(e)}"
            c.status = "未发送：发件服务器拒绝"
        else:
            result.failed[c.village] = f"发送失败：{refusal_text(e)}（可稍后重新运行 taizhang remind --send）"
            c.status = "未发送：发送失败"
        return
    took = [a for a in c.emails if a not in refused]
    state.reminder_recorded(c.village, today, recipients=took, message_id=str(msg["Message-ID"]),
                            body=body)
    result.sent.append(c.village)
    c.status = "已发送" + (f"（{'、'.join(refused)} 被拒收）" if refused else "")
