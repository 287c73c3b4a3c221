"""The master's content from the counted submissions: row flags, duplicates across
villages, the township's own columns carried over, and the 报送情况 rows."""
from __future__ import annotations

from datetime import date
from typing import Sequence

import difflib

from toolkit.core.issues import CATALOGUE, ERROR, Code, make_issue
from toolkit.core.ledger import Ledger
from toolkit.intake.archive import SOURCE_LABELS, Submission, status_label


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
    from toolkit.outputs.master import match_township_values
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


def when(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:16]


def report_date(lg: Ledger | None):
    d = getattr(lg, "report_date", None)
    return d if isinstance(d, date) else None


def report_row(village: str, entry, good: Submission | None, last: Submission | None,
                ledgers: dict[int, Ledger], *, nearest: str | None = None, gone: bool = False,
                roster_empty: bool = False) -> dict:
    row = {"村（社区）": village, "联系人": entry.contact if entry else "",
           "报送情况": "已报" if good else "未报"}
    shown = last or good
    if shown is not None:
        lg = ledgers.get(shown.id)
        row.update({"最近报送时间": when(shown.received),
                    "来源": SOURCE_LABELS.get(shown.source, shown.source),
                    "文件": shown.filename, "结果": status_label(shown),
                    "填报日期": report_date(lg),
                    "案件数": lg.n_cases if lg is not None and lg.readable else shown.cases,
                    "错误": lg.errors if lg is not None else shown.errors,
                    "提醒": lg.warnings if lg is not None else shown.warnings})
    if good is not None:    # what the master uses (汇总 shows it)
        row.update({"_counted_file": good.filename, "_counted_received": when(good.received),
                    "_counted_report_date": report_date(ledgers.get(good.id))})
    notes = []
    if entry is None and not roster_empty:      # an empty roster names nobody: no village is "not on it"
        notes.append("不在名册中" + (f"（名册中最接近的是“{nearest}”）" if nearest else "")
                     + "：请在设置工作簿“名册”中核对村名")
    if gone and good is not None:
        notes.append(f"“{good.filename}”已不在收件箱中，总台账仍采用存档中的这份文件")
    why = last and (_withdrawal(last) if last.withdrawn else last.message)
    if last is not None and good is not None and last.id != good.id:
        notes.append(f"最近一次报送{status_label(last)}"
                     f"{'：' + why if why else ''}；总台账{'改用' if last.withdrawn else '仍采用'}"
                     f"“{good.filename}”（{when(good.received)}）")
    elif last is not None and good is None:
        notes.append(f"报送的文件未被采用{'：' + why if why else ''}")
    if good is not None and good.released:
        notes.append(f"采用的“{good.filename}”曾暂存待核（发件人 {good.sender or '未知'}），"
                     f"{when(good.released)} 由 {good.released_by} 核实放行")
    row["说明"] = "；".join(notes)
    return row


def _withdrawal(sub: Submission) -> str:
    return (f"“{sub.filename}”（{when(sub.received)}）已于 {when(sub.withdrawn)} 由 {sub.withdrawn_by}"
            f" 撤回，原因：{sub.withdraw_reason}")


def nearest_name(name: str, names: Sequence[str]) -> str | None:
    """The roster name a misspelt village name most likely means (None: nothing close)."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.4)
    return close[0] if close else None


def roster_discipline(counted: dict[str, Submission], roster: Sequence[str], present: set[int] | None,
                      ledgers: dict[int, Ledger]) -> tuple[list[dict], list[dict]]:
    """Counted villages not on the roster, and counted inbox files no longer in the inbox.

    Each finding also becomes an issue of its ledger (so 校验问题 lists it). ``present``: the
    ids of the files in the inbox this run (None: the run read no inbox, so nothing is gone).
    """
    strangers, gone = [], []
    for village, sub in counted.items():
        lg = ledgers.get(sub.id)
        if roster and village not in roster:
            near = nearest_name(village, roster)
            strangers.append({"village": village, "file": sub.filename, "nearest": near})
            if lg is not None:
                lg.issues.append(make_issue(Code.NOT_ON_ROSTER, file=sub.filename, village=village,
                                            nearest=f"（名册中最接近的是“{near}”）" if near else ""))
        if present is not None and sub.source == "inbox" and sub.id not in present:
            gone.append({"village": village, "file": sub.filename, "received": when(sub.received)})
            if lg is not None:
                lg.issues.append(make_issue(Code.GONE_FROM_INBOX, file=sub.filename, village=village,
                                            received=when(sub.received)))
    return strangers, gone
