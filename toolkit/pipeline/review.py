"""The clerk's submission tools: what counts per village and the history, release, withdraw.

- ``submission_overview``: per village the submission that counts now and every
  submission it ever made (when, from where, file, cases, errors, outcome,
  held/withdrawn/released), then the submissions no village is known for;
- ``release_submission``: count a held submission, for the village the clerk names
  (required when the sender was unknown or the file named another village);
- ``withdraw_submission``: stop counting a submission sent by mistake; the village's
  previous good submission counts again. Nothing is deleted.

Release and withdraw take the one run lock (a consolidation or a mail fetch never
sees half a change) and record who and when in the archive; the master shows them
at its next consolidation (报送情况, 变更记录).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.core.errors import TaizhangError
from toolkit.core.files import run_lock
from toolkit.core.issues import Code
from toolkit.core.settings import Settings
from toolkit.intake.archive import SOURCE_LABELS, Submission, SubmissionArchive, status_label

LOCK_WAIT = 30.0
# a hold the sender's address cannot settle: the clerk must say which village
_NEEDS_VILLAGE = (Code.UNKNOWN_SENDER, Code.VILLAGE_MISMATCH, Code.UNREADABLE)


class SubmissionError(TaizhangError):
    """A release or withdrawal that cannot be done as asked; Chinese, says what to do."""


def submission_dict(sub: Submission) -> dict:
    """One submission as in `taizhang submissions --json`."""
    return {"id": sub.id, "village": sub.village, "received": sub.received,
            "source": sub.source, "sender": sub.sender, "subject": sub.subject,
            "file": sub.filename, "cases": sub.cases, "errors": sub.errors,
            "warnings": sub.warnings, "outcome": sub.outcome, "status": status_label(sub),
            "counted": sub.counted, "held": sub.held, "message": sub.message,
            "released": sub.released, "released_by": sub.released_by,
            "withdrawn": sub.withdrawn, "withdrawn_by": sub.withdrawn_by,
            "withdraw_reason": sub.withdraw_reason}


@dataclass
class SubmissionOverview:
    villages: list[dict] = field(default_factory=list)     # {village, on_roster, counted, history}
    unassigned: list[dict] = field(default_factory=list)   # submissions with no village

    def to_dict(self) -> dict:
        held = sum(1 for v in self.villages for s in v["history"] if s["held"])
        held += sum(1 for s in self.unassigned if s["held"])
        return {"villages": self.villages, "unassigned": self.unassigned, "held": held}

    def summary_text(self) -> str:
        lines = []
        for v in self.villages:
            now = v["counted"]
            lines.append(f"{v['village']}{'' if v['on_roster'] else '（不在名册中）'}：" + (
                f"现采用 #{now['id']}“{now['file']}”（{_when(now['received'])}，{now['cases']} 件）"
                if now else "没有计入总台账的报送"))
            lines += [_line(s) for s in v["history"]]
        if self.unassigned:
            lines.append("村未定：")
            lines += [_line(s) for s in self.unassigned]
        held = self.to_dict()["held"]
        if held:
            lines.append(f"暂存待核 {held} 个：核实后用 taizhang release 编号 --village 村名 计入，"
                         "或用 taizhang withdraw 编号 --reason 原因 撤回。")
        return "\n".join(lines) or "存档中还没有任何报送。"


def _when(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:16]


def _line(s: dict) -> str:
    source = SOURCE_LABELS.get(s["source"], s["source"])
    sender = f" {s['sender']}" if s["sender"] else ""
    extra = ""
    if s["withdrawn"]:
        extra = f"；{_when(s['withdrawn'])} 由 {s['withdrawn_by']} 撤回：{s['withdraw_reason']}"
    elif s["released"]:
        extra = f"；{_when(s['released'])} 由 {s['released_by']} 放行"
    elif s["message"] and not s["counted"]:
        extra = f"；{s['message']}"
    return (f"  #{s['id']} {_when(s['received'])} {source}{sender}“{s['file']}”"
            f" {s['cases']} 件，错误 {s['errors']} 处——{s['status']}{extra}")


def submission_overview(archive: SubmissionArchive, settings: Settings,
                        village: str | None = None) -> SubmissionOverview:
    history = archive.history()
    counted = archive.latest_counted()
    roster = [r.village for r in settings.roster]
    seen = {s.village for s in history if s.village}
    names = [v for v in roster] + sorted(seen - set(roster))
    if village is not None:
        names = [v for v in names if v == village] or [village]
    view = SubmissionOverview()
    for v in names:
        now = counted.get(v)
        view.villages.append({"village": v, "on_roster": v in roster,
                              "counted": submission_dict(now) if now else None,
                              "history": [submission_dict(s) for s in history if s.village == v]})
    if village is None:
        view.unassigned = [submission_dict(s) for s in history if not s.village]
    return view


def clerk_name(by: str | None) -> str:
    """Who acts: ``--by``, else the name the computer's user logged in with."""
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except Exception:       # no user name in the environment (a service account)
        return os.environ.get("USERNAME") or "未知用户"


def release_submission(archive_root: Path, state_dir: Path, settings: Settings, sub_id: int, *,
                       village: str | None = None, by: str | None = None) -> Submission:
    with run_lock(Path(state_dir), LOCK_WAIT), SubmissionArchive(archive_root) as archive:
        sub = _existing(archive, sub_id)
        if sub.outcome == "rejected":
            raise SubmissionError(f"报送 #{sub_id}“{sub.filename}”无法读取，已被拒收，不能计入；"
                                  "请让该村改正后重新报送。")
        if not (sub.held or sub.withdrawn):
            raise SubmissionError(f"报送 #{sub_id}“{sub.filename}”现为“{status_label(sub)}”，"
                                  "不是暂存待核或已撤回的报送，无需放行。")
        target = _release_village(sub, village, settings)
        return archive.release(sub_id, village=target, by=clerk_name(by))


def _release_village(sub: Submission, village: str | None, settings: Settings) -> str:
    roster = [r.village for r in settings.roster]
    if village:
        village = village.strip()
        if roster and village not in roster:
            raise SubmissionError(f"“{village}”不在设置工作簿的村名册中（名册：{'、'.join(roster)}）。"
                                  "请写名册中的村名，或先在名册中登记该村。")
        return village
    if sub.held and (sub.code in _NEEDS_VILLAGE or not sub.village):
        guess = f"（文件自称“{sub.village}”）" if sub.village else ""
        raise SubmissionError(f"报送 #{sub.id}“{sub.filename}”的发件人 {sub.sender or '未知'} 不能确定"
                              f"是哪个村{guess}。请核实后用 --village 村名 指明计入哪个村。")
    if not sub.village:
        raise SubmissionError(f"报送 #{sub.id} 没有村名，请用 --village 村名 指明。")
    return sub.village


def withdraw_submission(archive_root: Path, state_dir: Path, sub_id: int, *, reason: str,
                        by: str | None = None) -> tuple[Submission, Submission | None]:
    """(the withdrawn submission, the village's submission that counts now, if any)."""
    if not (reason or "").strip():
        raise SubmissionError("请用 --reason 写明撤回原因（如“误发了上月的旧表”），原因会记入总台账。")
    with run_lock(Path(state_dir), LOCK_WAIT), SubmissionArchive(archive_root) as archive:
        sub = _existing(archive, sub_id)
        if sub.withdrawn:
            raise SubmissionError(f"报送 #{sub_id} 已于 {_when(sub.withdrawn)} 由 {sub.withdrawn_by} 撤回，"
                                  "无需再撤回。")
        done = archive.withdraw(sub_id, reason=reason.strip(), by=clerk_name(by))
        now = archive.latest_counted().get(done.village) if done.village else None
        return done, now


def _existing(archive: SubmissionArchive, sub_id: int) -> Submission:
    sub = archive.get(sub_id)
    if sub is None:
        raise SubmissionError(f"存档中没有编号为 {sub_id} 的报送。请先运行 taizhang submissions "
                              "查看各报送的编号。")
    return sub
