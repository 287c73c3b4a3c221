"""The clerk's submission tools: what counts per village and the history, release, assign, withdraw.

- ``submission_overview``: per village the submission that counts now (the judge's
  standing) and every submission filed under it (when, from where, file, saved time,
  cases, errors, verdict), then the files waiting for a clerk (held) and those with no
  village (rejected, not yet read);
- ``release_submission``: "count this one": a held file (for the village the clerk names
  when its own cannot be trusted), a withdrawn one, or an older version the village
  resent on purpose (it counts as if saved at that moment);
- ``assign_submission``: file a submission under a roster village (a misspelt village
  name, a stranger's file the clerk has checked); it counts from the next consolidation;
- ``withdraw_submission``: stop counting a submission sent by mistake, or dismiss a
  held one; the village's previous version counts again. Nothing is deleted.

Each takes the one run lock (a consolidation or a mail fetch never sees half a change),
asks the judge, and records who and when in the archive; the master shows them at its
next consolidation (报送情况, 变更记录).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from toolkit.core.errors import TaizhangError
from toolkit.core.files import run_lock
from toolkit.core.issues import Code
from toolkit.core.settings import Settings
from toolkit.core.dates import when_text
from toolkit.intake.archive import SOURCE_LABELS, Submission, SubmissionArchive, status_label
from toolkit.pipeline.judge import Standing, decide, judge
from toolkit.pipeline.parse_cache import ParseCache

LOCK_WAIT = 30.0
# a hold the sender's address cannot settle: the clerk must say which village
_NEEDS_VILLAGE = (Code.UNKNOWN_SENDER, Code.VILLAGE_MISMATCH, Code.NOT_ON_ROSTER, Code.LINK_INVALID)


class SubmissionError(TaizhangError):
    """A release or withdrawal that cannot be done as asked; Chinese, says what to do."""


def submission_dict(sub: Submission) -> dict:
    """One submission as in `taizhang submissions --json`."""
    return {"id": sub.id, "village": sub.village, "received": sub.received,
            "source": sub.source, "sender": sub.sender, "subject": sub.subject,
            "file": sub.filename, "saved": sub.saved, "claimed": sub.claimed, "cases": sub.cases,
            "errors": sub.errors, "warnings": sub.warnings, "outcome": sub.outcome,
            "status": status_label(sub), "counted": sub.counted, "held": sub.held,
            "code": sub.code, "message": sub.message,
            "released": sub.released, "released_by": sub.released_by,
            "assigned": sub.assigned, "assigned_by": sub.assigned_by,
            "withdrawn": sub.withdrawn, "withdrawn_by": sub.withdrawn_by,
            "withdraw_reason": sub.withdraw_reason}


@dataclass
class SubmissionOverview:
    villages: list[dict] = field(default_factory=list)     # {village, on_roster, counted, history}
    held: list[dict] = field(default_factory=list)         # waiting for a clerk, newest first
    unassigned: list[dict] = field(default_factory=list)   # no village: rejected or not yet read

    def to_dict(self) -> dict:
        return {"villages": self.villages, "held": self.held, "unassigned": self.unassigned,
                "held_count": len(self.held)}

    def summary_text(self) -> str:
        lines = []
        for v in self.villages:
            now = v["counted"]
            lines.append(f"{v['village']}{'' if v['on_roster'] else '（不在名册中）'}：" + (
                f"现采用 #{now['id']}“{now['file']}”（保存于 {when_text(now['saved']) or '未知'}，"
                f"收到 {when_text(now['received'])}，{now['cases']} 件）" if now else "没有计入总台账的报送"))
            lines += [_line(s) for s in v["history"]]
        if self.held:
            lines.append(f"暂存待核 {len(self.held)} 个（不属于任何村，不计入总台账）：")
            lines += [_line(s) for s in self.held]
            lines.append("核实后用 taizhang assign 编号 --village 村名 归入该村（或 taizhang release 编号 "
                         "放行），不要的用 taizhang withdraw 编号 --reason 原因 撤回。")
        if self.unassigned:
            lines.append("不属于任何村（无法读取、尚未读取或已撤回）：")
            lines += [_line(s) for s in self.unassigned]
        return "\n".join(lines) or "存档中还没有任何报送。"


def _line(s: dict) -> str:
    source = SOURCE_LABELS.get(s["source"], s["source"])
    sender = f" {s['sender']}" if s["sender"] else ""
    saved = f"，保存于 {when_text(s['saved'])}" if s["saved"] else ""
    extra = ""
    if s["withdrawn"]:
        extra = f"；{when_text(s['withdrawn'])} 由 {s['withdrawn_by']} 撤回：{s['withdraw_reason']}"
    elif s["released"]:
        extra = f"；{when_text(s['released'])} 由 {s['released_by']} 放行"
    elif s["assigned"]:
        extra = f"；{when_text(s['assigned'])} 由 {s['assigned_by']} 归入{s['village'] or s['assigned']}"
    elif s["message"] and not s["counted"]:
        extra = f"；{s['message']}"
    return (f"  #{s['id']} {when_text(s['received'])} {source}{sender}“{s['file']}”{saved}"
            f" {s['cases']} 件，错误 {s['errors']} 处——{s['status']}{extra}")


def submission_overview(standing: Standing, village: str | None = None) -> SubmissionOverview:
    """The listing of a standing (``village``: only that village)."""
    view = SubmissionOverview()
    for name, vs in standing.villages.items():
        if village is not None and name != village:
            continue
        view.villages.append({"village": name, "on_roster": vs.on_roster,
                              "counted": submission_dict(vs.counted) if vs.counted else None,
                              "history": [submission_dict(s) for s in vs.history]})
    if village is not None and not view.villages:
        view.villages.append({"village": village, "on_roster": False, "counted": None, "history": []})
    if village is None:
        view.held = [submission_dict(s) for s in standing.held]
        view.unassigned = [submission_dict(s) for s in standing.unfiled + standing.pending]
    return view


def review(archive_root: Path, state_dir: Path, settings: Settings, *, as_of: date,
           village: str | None = None) -> SubmissionOverview:
    """``taizhang submissions``: ask the judge (files not yet read are read now) and list."""
    with run_lock(Path(state_dir), LOCK_WAIT), SubmissionArchive(archive_root) as archive, \
            ParseCache(Path(state_dir) / "parsed") as cache:
        j = judge(archive, settings, as_of=as_of, cache=cache, counted=False)
    return submission_overview(j.standing, village)


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
    """"Count this one" (see the module doc); returns it with its new verdict."""
    with run_lock(Path(state_dir), LOCK_WAIT), SubmissionArchive(archive_root) as archive:
        sub = _existing(archive, sub_id)
        if sub.outcome == "rejected":
            raise SubmissionError(f"报送 #{sub_id}“{sub.filename}”无法读取，已被拒收，不能计入；"
                                  "请让该村改正后重新报送。")
        if sub.counts:
            raise SubmissionError(f"报送 #{sub_id}“{sub.filename}”现在就是{sub.village}采用的报送，无需放行。")
        target = _release_village(sub, village, settings)
        archive.release(sub_id, village=target, by=clerk_name(by))
        return _after(archive, settings, sub_id)


def assign_submission(archive_root: Path, state_dir: Path, settings: Settings, sub_id: int, *,
                      village: str, by: str | None = None) -> Submission:
    """File a submission under ``village`` (a roster village when there is a roster)."""
    with run_lock(Path(state_dir), LOCK_WAIT), SubmissionArchive(archive_root) as archive:
        sub = _existing(archive, sub_id)
        target = _roster_village(village, settings)
        archive.assign(sub_id, village=target, by=clerk_name(by))
        if sub.withdrawn:
            archive.release(sub_id, village=target, by=clerk_name(by))
        return _after(archive, settings, sub_id)


def _after(archive: SubmissionArchive, settings: Settings, sub_id: int) -> Submission:
    """The submission with the verdict the clerk's act gives it (recorded by the judge)."""
    return decide(archive, settings).subs[sub_id]


def _roster_village(village: str, settings: Settings) -> str:
    roster = [r.village for r in settings.roster]
    village = (village or "").strip()
    if not village:
        raise SubmissionError("请用 --village 写明归入哪个村（社区）。")
    if roster and village not in roster:
        raise SubmissionError(f"“{village}”不在设置工作簿的村名册中（名册：{'、'.join(roster)}）。"
                              "请写名册中的村名，或先在名册中登记该村。")
    return village


def _release_village(sub: Submission, village: str | None, settings: Settings) -> str | None:
    """The village a release files ``sub`` under: the one named, else its own (which a held
    file of an unknown or mismatched sender, or an unknown village name, does not have)."""
    if village:
        return _roster_village(village, settings)
    if sub.held and sub.code in _NEEDS_VILLAGE:
        guess = f"（文件自称“{sub.claimed}”）" if sub.claimed else ""
        raise SubmissionError(f"报送 #{sub.id}“{sub.filename}”的发件人 {sub.sender or '未知'} 或村名不能确定"
                              f"是哪个村{guess}。请核实后用 --village 村名 指明计入哪个村。")
    if not (sub.village or sub.assigned or sub.held):
        raise SubmissionError(f"报送 #{sub.id} 没有村名，请用 --village 村名 指明。")
    return None


def withdraw_submission(archive_root: Path, state_dir: Path, settings: Settings, sub_id: int, *,
                        reason: str, by: str | None = None) -> tuple[Submission, Submission | None]:
    """(the withdrawn submission, the village's submission that counts now, if any)."""
    if not (reason or "").strip():
        raise SubmissionError("请用 --reason 写明撤回原因（如“误发了上月的旧表”），原因会记入总台账。")
    with run_lock(Path(state_dir), LOCK_WAIT), SubmissionArchive(archive_root) as archive:
        sub = _existing(archive, sub_id)
        if sub.withdrawn:
            raise SubmissionError(f"报送 #{sub_id} 已于 {when_text(sub.withdrawn)} 由 {sub.withdrawn_by} 撤回，"
                                  "无需再撤回。")
        archive.withdraw(sub_id, reason=reason.strip(), by=clerk_name(by))
        st = decide(archive, settings)
        done = st.subs[sub_id]
        now = st.villages[sub.village].counted if sub.village in st.villages else None
        return done, now


def _existing(archive: SubmissionArchive, sub_id: int) -> Submission:
    sub = archive.get(sub_id)
    if sub is None:
        raise SubmissionError(f"存档中没有编号为 {sub_id} 的报送。请先运行 taizhang submissions "
                              "查看各报送的编号。")
    return sub
