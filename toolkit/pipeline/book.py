"""The master's content from the judge's standing: row flags, duplicates across villages,
the township's own columns carried over, and the 报送情况 rows."""
from __future__ import annotations

from datetime import date
from typing import Sequence

from toolkit.core.issues import CATALOGUE, ERROR
from toolkit.core.ledger import Ledger
from toolkit.core.dates import when_text
from toolkit.intake.archive import SOURCE_LABELS, Submission, status_label
from toolkit.outputs.master import match_township_values
from toolkit.pipeline.judge import Standing, VillageStanding


def row_flags(lg: Ledger) -> tuple[list[int], list[str | None]]:
    """Per case row: number of errors and a short note (error titles, then warnings)."""
    errs: dict[int, list[str]] = {}
    warns: dict[int, list[str]] = {}
    for i in lg.issues:
        if i.row is None:
            continue
        title = CATALOGUE[i.code].title if i.code in CATALOGUE else i.code
        bucket = errs if i.severity == ERROR else warns
        items = bucket.setdefault(int(i.row), [])
        if title not in items:
            items.append(title)
    counts = {r: sum(1 for i in lg.issues if i.row == r and i.severity == ERROR) for r in errs}
    n, notes = [], []
    for row in lg.cases.index:
        parts = []
        if row in errs:
            parts.append(f"错误{counts[row]}处：{'、'.join(errs[row])}")
        if row in warns:
            parts.append(f"提醒：{'、'.join(warns[row])}")
        n.append(counts.get(row, 0))
        notes.append("；".join(parts) or None)
    return n, notes


def mark_duplicates(table) -> list[dict]:
    """The same case number in two villages: both rows kept, flagged and reported."""
    villages: dict[str, list[str]] = {}
    for v, c in zip(table["village"], table["case_id"]):
        if c is not None:
            lst = villages.setdefault(str(c), [])
            if v not in lst:
                lst.append(v)
    dup = {c: vs for c, vs in villages.items() if len(vs) > 1}
    if dup:
        flags = list(table["flags"])
        for i, (v, c) in enumerate(zip(table["village"], table["case_id"])):
            if c is not None and str(c) in dup:
                others = "、".join(x for x in dup[str(c)] if x != v)
                note = f"案件编号与{others}重复"
                flags[i] = f"{note}；{flags[i]}" if flags[i] else note
        table["flags"] = flags
    return [{"case_id": c, "villages": vs} for c, vs in dup.items()]


def carry_township(cases, columns: Sequence[str], values: dict) -> dict:
    """Fill the township's columns from the previous master; return what found no case."""
    used = set()
    filled: dict[str, list] = {c: [None] * len(cases) for c in columns}
    for i, (v, cid) in enumerate(zip(cases["village"], cases["case_id"])):
        if cid is None:
            continue
        got = match_township_values(values, v, str(cid))
        if got:
            used.add(id(got))
            for c, val in got.items():
                filled[c][i] = val
    for c in columns:
        cases[c] = filled[c]
    return {k: v for k, v in values.items() if id(v) not in used}


def report_date(lg: Ledger | None):
    d = getattr(lg, "report_date", None)
    return d if isinstance(d, date) else None


def saved_text(saved: str | None) -> str:
    """When a file says it was saved, for a person: "保存于 2010-10-18 17:00", or that it says nothing."""
    return f"保存于 {when_text(saved)}" if saved else "文件中无保存时间"


# --- 报送情况 ----------------------------------------------------------------------------------
def village_row(vs: VillageStanding, entry, ledgers: dict[int, Ledger], *, present: set[int] | None,
                roster_empty: bool, header_change: str | None = None) -> dict:
    """One village's line of 报送情况: what counts, the latest arrival, and why they differ;
    ``header_change``: how the counted file's header differs from the last counted one's."""
    good, last = vs.counted, vs.last
    row = {"村（社区）": vs.village, "联系人": entry.contact if entry else "",
           "报送情况": "已报" if good else "未报"}
    # the file that counts, unless the latest arrival could not be used (then that, and why)
    shown = last if good is None or (last is not None and not last.usable) else good
    if shown is not None:
        lg = ledgers.get(shown.id)
        row.update({"最近报送时间": when_text(shown.received),
                    "来源": SOURCE_LABELS.get(shown.source, shown.source),
                    "文件": shown.filename, "文件保存时间": when_text(shown.saved), "结果": status_label(shown),
                    "填报日期": report_date(lg),
                    "案件数": lg.n_cases if lg is not None and lg.readable else shown.cases,
                    "错误": lg.errors if lg is not None else shown.errors,
                    "提醒": lg.warnings if lg is not None else shown.warnings})
    if good is not None:    # what the master uses (汇总 shows it)
        row.update({"_counted_file": good.filename, "_counted_received": when_text(good.received),
                    "_counted_report_date": report_date(ledgers.get(good.id))})
    notes = []
    if entry is None and not roster_empty:
        notes.append("不在名册中：请在设置工作簿“村名册”表中核对村名")
    notes += version_notes(vs, present)
    if good is not None and present is not None and good.source == "inbox" and good.id not in present:
        notes.append(f"“{good.filename}”已不在收件箱中，总台账仍采用存档中的这份文件")
    if last is not None and good is not None and last.id != good.id and not last.usable:
        why = (_withdrawal(last) if last.withdrawn else last.message or "").rstrip("。")
        notes.append(f"最近一次报送{status_label(last)}{'：' + why if why else ''}；总台账"
                     f"{'改用' if last.withdrawn else '仍采用'}“{good.filename}”（{when_text(good.received)}）")
    elif last is not None and good is None:
        why = (_withdrawal(last) if last.withdrawn else last.message or "").rstrip("。")
        notes.append(f"报送的文件未被采用{'：' + why if why else ''}")
    if good is not None and good.released:
        sender = f"（发件人 {good.sender}）" if good.sender else ""
        notes.append(f"采用的“{good.filename}”{sender}由 {good.released_by} 于 {when_text(good.released)} 核实放行")
    elif good is not None and good.assigned:
        notes.append(f"采用的“{good.filename}”由 {good.assigned_by} 于 {when_text(good.assigned_at)} 归入本村")
    if header_change and good is not None:
        notes.append(header_change)
    row["说明"] = "；".join(notes)
    return row


def version_notes(vs: VillageStanding, present: set[int] | None) -> list[str]:
    """When a village has more than one usable file: which counts and why, and which do not."""
    good = vs.counted
    if good is None:
        return []
    others = [s for s in vs.versions[1:] if present is not None and s.id in present]
    others += [s for s in vs.older_resent if s not in others]
    if not others:
        return []
    here = (present is not None and good.id in present
            and all(s.id in present for s in others))
    head = f"收件箱中有 {len(others) + 1} 份本村台账" if here else f"本村有 {len(others) + 1} 份报送"
    notes = [f"{head}：采用保存时间最晚的“{good.filename}”（{saved_text(good.saved)}"
             + ("，已放行" if good.released else "") + "）"]
    for s in others:
        again = "后收到，" if s.order > good.order else ""
        notes.append(f"“{s.filename}”（{again}{saved_text(s.saved)}）是较早的版本，未采用"
                     f"（如确要采用，运行 taizhang release {s.id}）")
    return notes


def waiting_rows(standing: Standing) -> list[dict]:
    """报送情况's last section: files with no village (held for a clerk, rejected, not yet read)."""
    rows = []
    rejected = [s for s in standing.unfiled if not s.withdrawn]    # a withdrawn stray is done with
    for label, subs in (("暂存待核", standing.held), ("被拒收", rejected), ("待处理", standing.pending)):
        for sub in subs:
            sender = f"发件人 {sub.sender}；" if sub.sender else ""
            how = {"暂存待核": f"编号 #{sub.id}：核实后用 taizhang assign {sub.id} --village 村名 归入，"
                               f"或 taizhang withdraw {sub.id} --reason 原因 撤回",
                   "被拒收": "", "待处理": "下次汇总时读取"}[label]
            rows.append({"村（社区）": "", "报送情况": label, "文件": sub.filename,
                         "文件保存时间": when_text(sub.saved), "结果": label,
                         "来源": SOURCE_LABELS.get(sub.source, sub.source),
                         "最近报送时间": when_text(sub.received), "案件数": sub.cases or None,
                         "说明": "；".join(x for x in (sender + (sub.message or ""), how) if x)})
    return rows


def _withdrawal(sub: Submission) -> str:
    return (f"“{sub.filename}”（{when_text(sub.received)}）已于 {when_text(sub.withdrawn)} 由 {sub.withdrawn_by}"
            f" 撤回，原因：{sub.withdraw_reason}")
